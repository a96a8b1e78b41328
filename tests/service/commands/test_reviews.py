"""`clout reviews connect` wires a review app as a merchant would: the URL it prints is the URL
that works, the secret it stores is the one deliveries are checked against, and what arrives
(or is refused) shows up when the merchant asks again."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient

from service.cli import main
from tests.support.clout import RunningDevStore
from tests.support.helpers import SHOP, fixture_bytes, signed_review

PUBLIC = "https://clout.example.org"


@pytest.fixture
def environment(settings: dict[str, Any], devstore: RunningDevStore) -> dict[str, str]:
    env = {k: str(v) for k, v in settings.items() if k != "TESTING"}
    env.update(CLOUT_SHOPIFY_ADMIN_URL=devstore.url, CLOUT_PUBLIC_URL=PUBLIC)
    added = CliRunner(env=env).invoke(main, ["shops", "add", SHOP, "--token", devstore.token])
    assert added.exit_code == 0, added.output
    return env


@pytest.fixture
def intake(make_app: Callable[..., Flask], environment: dict[str, str]) -> FlaskClient:
    return make_app().test_client()


def clout(environment: dict[str, str], *args: str, stdin: str | None = None) -> Result:
    return CliRunner(env=environment).invoke(main, list(args), input=stdin)


def printed_url(output: str) -> str:
    return next(
        line.removeprefix("URL: ") for line in output.splitlines() if line.startswith("URL")
    )


def post_to(intake: FlaskClient, url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST as the platform would, to the URL exactly as printed (path and query)."""
    parts = urlsplit(url)
    assert parts.scheme + "://" + parts.netloc == PUBLIC
    return intake.post(parts.path, query_string=parts.query, data=body, headers=headers).status_code


def test_an_unsigned_platform_gets_a_keyed_url_that_works_and_stays_the_same(
    environment: dict[str, str], intake: FlaskClient
) -> None:
    # when the merchant connects Yotpo
    first = clout(environment, "reviews", "connect", SHOP, "yotpo")

    # then the URL to paste carries Clout's key, and a review posted there is taken
    assert first.exit_code == 0, first.output
    url = printed_url(first.output)
    assert url.startswith(f"{PUBLIC}/webhooks/reviews/yotpo/{SHOP}?key=")
    assert "Yotpo representative" in first.output
    assert "Last delivery: none yet" in first.output
    review = fixture_bytes("reviews/yotpo_review_create.json")
    assert post_to(intake, url, review, {"Content-Type": "application/json"}) == 200

    # and asking again shows the same URL and the delivery that arrived
    again = clout(environment, "reviews", "connect", SHOP, "yotpo")
    assert printed_url(again.output) == url
    assert "1 in all" in again.output
    assert "Yotpo" in clout(environment, "reviews", "list", SHOP).output


def test_a_signing_platform_waits_for_its_secret_then_checks_deliveries_with_it(
    environment: dict[str, str], intake: FlaskClient
) -> None:
    # given Judge.me, which signs with the merchant's private API token
    review = fixture_bytes("reviews/judgeme_review_created.json")

    # when the merchant connects it before having the token
    early = clout(environment, "reviews", "connect", SHOP, "judgeme")

    # then Clout shows the URL and the exact API call, and says the secret is still missing
    assert early.exit_code == 1
    url = printed_url(early.output)
    assert url == f"{PUBLIC}/webhooks/reviews/judgeme/{SHOP}"
    assert f'"url": "{url}"' in early.output  # the curl command carries the URL, ready to run
    assert "Private API token" in early.output
    headers, _ = signed_review("judgeme", review, secret="jm-private-token")
    assert post_to(intake, url, review, headers) == 401  # refused until the secret is known

    # when the secret is given on standard input (not left in shell history)
    given = clout(
        environment,
        "reviews",
        "connect",
        SHOP,
        "judgeme",
        "--secret-stdin",
        stdin="jm-private-token\n",
    )

    # then a delivery signed with it is taken, and one signed otherwise is refused and shown
    assert given.exit_code == 0, given.output
    assert post_to(intake, url, review, headers) == 200
    forged, _ = signed_review("judgeme", review, secret="not-the-token")
    assert post_to(intake, url, review, forged) == 401
    status = clout(environment, "reviews", "connect", SHOP, "judgeme").output
    assert "1 in all" in status
    assert "Last refused:" in status


def test_a_new_secret_retires_the_old_url(environment: dict[str, str], intake: FlaskClient) -> None:
    review = fixture_bytes("reviews/trustpilot_service-review-created.json")
    old = printed_url(clout(environment, "reviews", "connect", SHOP, "trustpilot").output)

    renewed = clout(environment, "reviews", "connect", SHOP, "trustpilot", "--new-secret")

    new = printed_url(renewed.output)
    assert new != old
    assert post_to(intake, old, review, {"Content-Type": "application/json"}) == 401
    assert post_to(intake, new, review, {"Content-Type": "application/json"}) == 200


def test_a_secret_is_refused_for_a_platform_clout_makes_one_for(
    environment: dict[str, str],
) -> None:
    refused = clout(environment, "reviews", "connect", SHOP, "stamped", "--secret", "mine")

    assert refused.exit_code == 2
    assert "Clout makes one" in refused.output


def test_stamped_is_told_the_secret_to_type_into_its_form(
    environment: dict[str, str], intake: FlaskClient
) -> None:
    connected = clout(environment, "reviews", "connect", SHOP, "stamped")

    secret = next(
        line.split("Secret: ", 1)[1]
        for line in connected.output.splitlines()
        if line.strip().startswith("Secret: ") and "stored" not in line
    )
    review = fixture_bytes("reviews/stamped_review_created.json")
    url = printed_url(connected.output)
    assert "?key=" not in url
    signed = {"Content-Type": "application/json", "X-Stamped-Webhook-Secret": secret}
    assert post_to(intake, url, review, signed) == 200


def test_wait_reports_the_first_delivery_when_it_arrives(
    environment: dict[str, str], intake: FlaskClient
) -> None:
    url = printed_url(clout(environment, "reviews", "connect", SHOP, "reviewsio").output)
    review = fixture_bytes("reviews/reviewsio_review_submitted.json")
    statuses: list[int] = []

    def merchant_sends_a_test_review() -> None:
        time.sleep(1.0)
        statuses.append(post_to(intake, url, review, {"Content-Type": "application/json"}))

    sender = threading.Thread(target=merchant_sends_a_test_review)
    sender.start()
    waited = clout(environment, "reviews", "connect", SHOP, "reviewsio", "--wait", "20")
    sender.join()

    assert statuses == [200]
    assert waited.exit_code == 0, waited.output
    assert "Arrived: " in waited.output


def test_disconnecting_refuses_the_platform_from_then_on(
    environment: dict[str, str], intake: FlaskClient
) -> None:
    url = printed_url(clout(environment, "reviews", "connect", SHOP, "loox").output)

    gone = clout(environment, "reviews", "disconnect", SHOP, "loox")

    assert gone.exit_code == 0, gone.output
    review = fixture_bytes("reviews/loox_review.json")
    assert post_to(intake, url, review, {"Content-Type": "application/json"}) == 401
    assert "no review app is connected" in clout(environment, "reviews", "list", SHOP).output
