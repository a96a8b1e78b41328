"""The store's settings inside the Shopify admin: read and changed with the admin's session
token, validated, recorded with who did it, scoped to the token's shop, and out of reach of a
cookie login or a cross-site form."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.core.db import session_scope
from service.core.shop_settings import shop_config
from service.shopify.shops import find_shop
from tests.support.agents_page import BUSY_DAY, add_agent, connect_shop, log_in, open_case
from tests.support.clout import state
from tests.support.helpers import CLIENT_ID, SHOP, session_token

OTHER_SHOP = "other-shop.myshopify.com"
API = "/app/api/settings"


@pytest.fixture
def embedded(make_app: Callable[..., Flask]) -> Flask:
    app = make_app(SHOPIFY_API_KEY=CLIENT_ID, CLOUT_PUBLIC_URL="https://clout.example.org")
    connect_shop(app, SHOP)
    connect_shop(app, OTHER_SHOP)
    return app


def staff(shop: str = SHOP, **claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {session_token(shop=shop, **claims)}"}


def config_of(app: Flask, domain: str) -> Any:
    clout = state(app)
    with session_scope(clout.sessions) as session:
        shop = find_shop(session=session, domain=domain)
        assert shop is not None
        return shop_config(
            session=session, shop_id=shop.id, defaults=clout.settings, vault=clout.vault
        )


def setting(answer: Any, key: str) -> dict[str, Any]:
    return next(row for row in answer.json["settings"] if row["key"] == key)


def test_staff_change_a_deadline_for_their_store_only_and_it_is_recorded(
    embedded: Flask,
) -> None:
    client = embedded.test_client()
    before = client.get(API, headers=staff())
    assert before.status_code == 200
    assert setting(before, "deadline.high")["own"] is False

    # when a staff member shortens the high-severity deadline in the admin
    saved = client.post(API, json={"changes": {"deadline.high": "12"}}, headers=staff())

    # then it applies to this store at once, not the other, and the history says who
    assert saved.status_code == 200, saved.json
    assert saved.json["changed"] == [
        {"key": "deadline.high", "old": before.json["settings"][1]["value"], "new": "12"}
    ]
    assert config_of(embedded, SHOP).deadline_hours["high"] == 12.0
    assert config_of(embedded, OTHER_SHOP).deadline_hours["high"] != 12.0
    [change] = client.get(API, headers=staff()).json["history"]
    assert change["by"] == "admin:staff-42"
    assert change["key"] == "deadline.high"
    assert client.get(API, headers=staff(OTHER_SHOP)).json["history"] == []


def test_a_refused_value_changes_nothing_and_says_why(embedded: Flask) -> None:
    client = embedded.test_client()

    refused = client.post(
        API,
        json={"changes": {"deadline.high": "12", "notify.webhook_url": "not a url"}},
        headers=staff(),
    )

    assert refused.status_code == 400
    assert "notify.webhook_url" in refused.json["detail"]
    assert config_of(embedded, SHOP).deadline_hours["high"] != 12.0  # all or none


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("attention_tag", "needs-care\ud83d"),  # JSON's "\\ud83d": half an emoji
        ("notify.email", "ops\x00@example.org"),
        ("notify.webhook_secret", "a-long-enough-secret-\udfff"),
    ],
)
def test_a_value_no_database_can_store_is_refused_not_a_500(
    embedded: Flask, key: str, value: str
) -> None:
    # given a value holding NUL or an unpaired surrogate (PostgreSQL refuses NUL; no driver,
    # and no encryption of a secret, encodes a lone surrogate as UTF-8)
    client = embedded.test_client()

    # when staff save it
    refused = client.post(API, json={"changes": {key: value}}, headers=staff())

    # then it is refused with the setting named, and nothing changed
    assert refused.status_code == 400, refused.json
    assert key in refused.json["detail"]
    assert setting(client.get(API, headers=staff()), key)["own"] is False


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("attention_tag", "care\x1b]0;owned\x07"),  # retitles the operator's terminal
        ("resolved_tag", "done\n2026-01-01 00:00Z\tcli:root"),  # forges a history row
        ("opt_out_tag", "quiet\u202e"),  # turns the rest of the line around
        ("notify.email", "ops\x1b[2J@example.org"),  # clears the screen
        ("notify.webhook_url", "https://hooks.example.org/\x1b[2J"),
        ("notify.slack_url", "https://hooks.slack.com/\x9b2J"),  # the same, as one C1 byte
    ],
)
def test_a_value_a_terminal_would_obey_is_refused(embedded: Flask, key: str, value: str) -> None:
    # given a value with control characters (`clout settings show` and `history` print
    # settings on the operator's terminal, which obeys an escape sequence and starts a row
    # at a line break)
    client = embedded.test_client()

    # when staff save it in the admin
    refused = client.post(API, json={"changes": {key: value}}, headers=staff())

    # then it is refused with the setting named, and nothing changed
    assert refused.status_code == 400, refused.json
    assert key in refused.json["detail"]
    assert setting(client.get(API, headers=staff()), key)["own"] is False


def test_a_review_app_secret_no_database_can_store_is_refused_not_a_500(embedded: Flask) -> None:
    refused = embedded.test_client().post(
        "/app/api/review-apps/judgeme", json={"secret": "jm-private\ud800"}, headers=staff()
    )

    assert refused.status_code == 400, refused.json
    assert refused.json["outcome"] == "refused"


def test_renaming_the_attention_tag_retags_the_open_cases(embedded: Flask) -> None:
    open_case(embedded, SHOP, BUSY_DAY[0], number=1)
    open_case(embedded, SHOP, BUSY_DAY[1], number=2)

    renamed = embedded.test_client().post(
        API, json={"changes": {"attention_tag": "needs-care"}}, headers=staff()
    )

    assert renamed.status_code == 200, renamed.json
    assert renamed.json["retagging"] == 2
    assert config_of(embedded, SHOP).attention_tag == "needs-care"


def test_only_the_admins_session_token_reaches_the_settings(embedded: Flask) -> None:
    # given an agent logged in on the standalone page, and another site's form
    add_agent(embedded, "agent@example.org", SHOP)
    agent = embedded.test_client()
    log_in(agent, "agent@example.org")
    client = embedded.test_client()

    by_cookie = agent.post(API, json={"changes": {"deadline.high": "1"}})
    by_form = client.post(API, data={"changes": "deadline.high=1"}, headers=staff())
    forged = client.get(API, headers=staff(secret="shpss_" + "x" * 32))
    stale = client.get(API, headers=staff(lifetime=-60))

    assert by_cookie.status_code == 401
    assert by_form.status_code == 415
    assert forged.status_code == 401
    assert stale.status_code == 401
    assert config_of(embedded, SHOP).deadline_hours["high"] != 1.0


def test_review_apps_are_connected_from_the_settings_page(embedded: Flask) -> None:
    client = embedded.test_client()

    yotpo = client.post("/app/api/review-apps/yotpo", json={}, headers=staff())
    judgeme = client.post(
        "/app/api/review-apps/judgeme", json={"secret": "jm-private"}, headers=staff()
    )
    wrong = client.post("/app/api/review-apps/yotpo", json={"secret": "x"}, headers=staff())
    unknown = client.post("/app/api/review-apps/nope", json={}, headers=staff())

    assert yotpo.status_code == 200
    apps = {a["provider"]: a for a in judgeme.json["review_apps"]}
    assert apps["yotpo"]["connected"] is True
    assert apps["yotpo"]["url"].startswith(
        f"https://clout.example.org/webhooks/reviews/yotpo/{SHOP}?key="
    )
    assert apps["judgeme"]["connected"] is True
    assert "?key=" not in apps["judgeme"]["url"]
    assert any(apps["judgeme"]["url"] in step for step in apps["judgeme"]["steps"])
    assert apps["okendo"]["connected"] is False
    assert wrong.status_code == 400
    assert unknown.status_code == 404


def test_the_settings_page_loads_with_the_admins_id_token(embedded: Flask) -> None:
    client: FlaskClient = embedded.test_client()

    page = client.get(
        f"/app/settings?shop={SHOP}&host=aG9zdA&embedded=1&id_token={session_token()}"
    )
    refused = client.get(f"/app/settings?shop={SHOP}&embedded=1&id_token=forged")

    assert page.status_code == 200
    assert "frame-ancestors" in page.headers["Content-Security-Policy"]
    assert b"settings.js" in page.data
    # a bad token is bounced, as Shopify's helper does, to fetch a fresh one: no page
    assert refused.status_code == 302
    assert "/app/patch-id-token" in refused.headers["Location"]
    assert b"settings.js" not in refused.data
