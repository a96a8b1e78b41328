"""POST /webhooks/reviews/<provider>/<shop>: each platform's signature, and what is recorded."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from service.core.models import Delivery, Shop
from tests.support.clout import connect_test_shop, state
from tests.support.helpers import REVIEW_SECRETS, SHOP, fixture_bytes, signed_review
from webhooks.reviews import REVIEWS_PER_DELIVERY

FIXTURES = {
    "judgeme": "reviews/judgeme_review_created.json",
    "okendo": "reviews/okendo_review_created.json",
    "fera": "reviews/fera_review_create.json",
    "stamped": "reviews/stamped_review_created.json",
    "yotpo": "reviews/yotpo_review_create.json",
    "reviewsio": "reviews/reviewsio_review_submitted.json",
    "trustpilot": "reviews/trustpilot_service-review-created.json",
    "loox": "reviews/loox_review.json",
    "generic": "reviews/generic_review.json",
}


def post(client: FlaskClient, provider: str, body: bytes, **signing: Any) -> Any:
    headers, query = signed_review(provider, body, **signing)
    return client.post(
        f"/webhooks/reviews/{provider}/{SHOP}", data=body, headers=headers, query_string=query
    )


def recorded(app: Flask) -> list[Delivery]:
    with state(app).sessions() as session:
        return list(session.scalars(select(Delivery)))


@pytest.mark.parametrize("provider", sorted(FIXTURES))
def test_a_correctly_signed_review_is_recorded(
    client: FlaskClient, app: Flask, review_shop: Shop, provider: str
) -> None:
    body = fixture_bytes(FIXTURES[provider])

    response = post(client, provider, body)

    assert response.status_code == 200, response.json
    assert response.json["outcome"] == "accepted"
    [delivery] = recorded(app)
    assert (delivery.source, delivery.shop_domain, delivery.body) == (provider, SHOP, body)


@pytest.mark.parametrize("provider", sorted(FIXTURES))
def test_a_review_signed_with_another_secret_is_refused(
    client: FlaskClient, app: Flask, review_shop: Shop, provider: str
) -> None:
    forged = (
        "whsec_" + "Zm9yZ2VkLWtleS0wMTIzNDU2Nzg5YWJjZGVm"
        if provider == "okendo"
        else "forged-secret-0123456789abcdef0123"
    )

    response = post(client, provider, fixture_bytes(FIXTURES[provider]), secret=forged)

    assert response.status_code == 401
    assert recorded(app) == []


@pytest.mark.parametrize("provider", sorted(FIXTURES))
def test_a_review_with_no_signature_at_all_is_refused(
    client: FlaskClient, app: Flask, review_shop: Shop, provider: str
) -> None:
    response = client.post(
        f"/webhooks/reviews/{provider}/{SHOP}", data=fixture_bytes(FIXTURES[provider])
    )

    assert response.status_code == 401
    assert recorded(app) == []


def test_a_signature_header_that_is_not_ascii_is_refused_not_a_crash(
    client: FlaskClient, app: Flask, review_shop: Shop
) -> None:
    # found by the fuzzing in test_hostile_input: this used to be a 500
    response = client.post(
        f"/webhooks/reviews/judgeme/{SHOP}",
        data=fixture_bytes(FIXTURES["judgeme"]),
        headers={"JUDGEME-HMAC-SHA256": "é" * 64},
    )

    assert response.status_code == 401
    assert recorded(app) == []


def test_a_platform_without_a_configured_secret_fails_closed(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    # the shop is connected, but no Judge.me secret was given with --review-secret
    response = post(client, "judgeme", fixture_bytes(FIXTURES["judgeme"]))

    assert response.status_code == 401


@pytest.mark.parametrize("provider", ["okendo", "fera"])
def test_an_expired_signature_is_refused(
    client: FlaskClient, app: Flask, review_shop: Shop, provider: str
) -> None:
    two_hours_ago = time.time() - 7200

    response = post(client, provider, fixture_bytes(FIXTURES[provider]), at=two_hours_ago)

    assert response.status_code == 401


@pytest.mark.parametrize("provider", ["judgeme", "okendo", "fera", "generic"])
def test_a_captured_proof_vouches_for_one_delivery_only(
    client: FlaskClient, app: Flask, review_shop: Shop, provider: str
) -> None:
    # given a genuine delivery whose proof (headers, or Fera's token in the URL) an attacker saw
    genuine = fixture_bytes(FIXTURES[provider])
    headers, query = signed_review(provider, genuine)
    first = client.post(
        f"/webhooks/reviews/{provider}/{SHOP}", data=genuine, headers=headers, query_string=query
    )
    assert first.json["outcome"] == "accepted"

    # when they send made-up reviews with that proof
    answers = [
        client.post(
            f"/webhooks/reviews/{provider}/{SHOP}",
            data=genuine.replace(b"}", b', "made_up": %d}' % n, 1),
            headers=headers,
            query_string=query,
        )
        for n in range(3)
    ]

    # then none is taken as a new delivery: the proof vouched for the genuine one only
    assert [a.json["outcome"] for a in answers if a.status_code == 200] in (
        [],
        ["duplicate"] * 3,
    )
    assert len(recorded(app)) == 1


def test_yotpos_published_samples_with_trailing_commas_are_accepted(
    client: FlaskClient, app: Flask, review_shop: Shop
) -> None:
    body = fixture_bytes("reviews/yotpo_review_create_with_order.AS_PUBLISHED_INVALID_JSON.json")

    assert post(client, "yotpo", body).status_code == 200


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"{" * 5000])
def test_a_signed_body_that_is_not_a_json_object_gets_400(
    client: FlaskClient, app: Flask, review_shop: Shop, body: bytes
) -> None:
    assert post(client, "judgeme", body).status_code == 400
    assert recorded(app) == []


def test_a_redelivered_review_is_a_duplicate(
    client: FlaskClient, app: Flask, review_shop: Shop
) -> None:
    body = fixture_bytes(FIXTURES["judgeme"])

    first, second = post(client, "judgeme", body), post(client, "judgeme", body)

    assert (first.json["outcome"], second.json["outcome"]) == ("accepted", "duplicate")
    assert len(recorded(app)) == 1


def test_the_same_review_body_sent_to_two_shops_is_a_delivery_for_each(
    client: FlaskClient, app: Flask, review_shop: Shop
) -> None:
    # given a second shop on the same review platform, with the same secret
    other = "second-shop.myshopify.com"
    connect_test_shop(app, REVIEW_SECRETS, domain=other)
    body = fixture_bytes(FIXTURES["yotpo"])
    headers, query = signed_review("yotpo", body)

    # when the identical signed body reaches both shops
    first = post(client, "yotpo", body)
    second = client.post(
        f"/webhooks/reviews/yotpo/{other}", data=body, headers=headers, query_string=query
    )

    # then each shop has its review, and neither answer names the other shop's delivery
    assert (first.json["outcome"], second.json["outcome"]) == ("accepted", "accepted")
    assert first.json["delivery_id"] != second.json["delivery_id"]
    assert sorted(d.shop_domain for d in recorded(app)) == sorted([SHOP, other])


def test_an_unknown_platform_or_shop_domain_is_404(
    client: FlaskClient, app: Flask, review_shop: Shop
) -> None:
    body = fixture_bytes(FIXTURES["judgeme"])
    assert client.post(f"/webhooks/reviews/acme/{SHOP}", data=body).status_code == 404
    assert client.post("/webhooks/reviews/judgeme/evil.example.com", data=body).status_code == 404
    assert recorded(app) == []


def test_a_shop_not_connected_cannot_be_told_from_a_wrong_signature(
    client: FlaskClient, app: Flask, review_shop: Shop
) -> None:
    """Anyone may post to any shop's review URL: the answer must not tell which stores use
    Clout. Without a connected shop there is no secret to check against, so it is refused like
    a forged delivery (fail closed)."""
    # given a delivery signed with a secret that is not the connected shop's, and the same body
    # signed properly for a shop that is not connected
    body = fixture_bytes(FIXTURES["judgeme"])
    forged = client.post(
        f"/webhooks/reviews/judgeme/{SHOP}",
        data=body,
        headers={"JUDGEME-HMAC-SHA256": "00" * 32},
    )
    headers, _ = signed_review("judgeme", body)

    # when the second is posted to the unconnected shop's URL
    other = client.post("/webhooks/reviews/judgeme/other.myshopify.com", data=body, headers=headers)

    # then both get the same 401, word for word, and nothing is recorded
    assert forged.status_code == other.status_code == 401
    assert forged.json == other.json
    assert recorded(app) == []


def test_an_oversize_review_gets_413(make_app: Callable[..., Flask], review_shop: Shop) -> None:
    small = make_app(CLOUT_MAX_BODY_BYTES="2048").test_client()
    body = b'{"review": {"body": "' + b"x" * 4000 + b'"}}'

    assert post(small, "judgeme", body).status_code == 413


def test_a_batch_of_more_reviews_than_one_delivery_may_carry_gets_413(
    client: FlaskClient, app: Flask, review_shop: Shop
) -> None:
    # given Trustpilot's batch envelope, filled far past what its webhooks send (one event
    # each): read in one transaction it held SQLite's write lock, and every store's intake
    # waited, for as long as the worker's time limit
    event = json.loads(fixture_bytes(FIXTURES["trustpilot"]))["events"][0]
    batch = {"events": [event] * (REVIEWS_PER_DELIVERY + 1)}
    full = {"events": [event] * REVIEWS_PER_DELIVERY}

    # when the batch, and one at the bound, are sent with the shop's key
    refused = post(client, "trustpilot", json.dumps(batch).encode())
    taken = post(client, "trustpilot", json.dumps(full).encode())

    # then the oversize batch gets a 413 saying the bound, and only the other is recorded
    assert refused.status_code == 413
    assert refused.json == {
        "outcome": "too_large",
        "detail": f"at most {REVIEWS_PER_DELIVERY} reviews in one delivery: send fewer at a time",
    }
    assert taken.json["outcome"] == "accepted"
    assert len(recorded(app)) == 1


def test_a_shop_domain_with_a_trailing_newline_is_no_shop_domain(
    client: FlaskClient, app: Flask, review_shop: Shop
) -> None:
    # given a review signed for the connected shop, posted to its URL with "\n" appended
    body = fixture_bytes(FIXTURES["judgeme"])
    headers, _ = signed_review("judgeme", body)

    response = client.post(f"/webhooks/reviews/judgeme/{SHOP}%0A", data=body, headers=headers)

    # then the address names no shop at all, and nothing is recorded
    assert (response.status_code, response.json["outcome"]) == (404, "not_found")
    assert recorded(app) == []


def test_a_review_whose_event_holds_half_an_emoji_is_recorded_not_a_500(
    client: FlaskClient, app: Flask, review_shop: Shop
) -> None:
    # given a signed review whose JSON "event" escapes a lone surrogate (no database takes one)
    body = fixture_bytes(FIXTURES["judgeme"]).replace(
        b'"event": "review/created"', b'"event": "review/created\\ud83d"'
    )
    assert b"\\ud83d" in body

    # when it is delivered
    response = post(client, "judgeme", body)

    # then it is recorded as sent (not a 500 the platform would retry for days)
    assert response.status_code == 200, response.json
    assert response.json["outcome"] == "accepted"
    [delivery] = recorded(app)
    assert delivery.body == body
    assert delivery.topic == "review/created\ufffd"


def test_a_rating_too_large_to_rescale_is_no_crash_at_intake(
    client: FlaskClient, app: Flask, review_shop: Shop
) -> None:
    # given the documented generic shape, its rating and scale past what a decimal can scale
    # (counting the reviews for the batch bound normalises the body at intake)
    body = json.dumps(
        {"id": "r-1", "rating": "5e999999", "scale_max": "9e999999", "body": "meh"}
    ).encode()

    # when it is sent with the shop's key
    response = post(client, "generic", body)

    # then it is taken like any review whose rating Clout cannot read (unknown, not a 500 the
    # platform would retry for ever)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert len(recorded(app)) == 1


def test_an_envelope_that_names_no_event_is_recorded_as_what_its_review_is(
    client: FlaskClient, app: Flask, review_shop: Shop
) -> None:
    # given Trustpilot's envelope (no event of its own) carrying a review's deletion
    event = json.loads(fixture_bytes(FIXTURES["trustpilot"]))["events"][0]
    deleted = {"events": [{**event, "eventName": "service-review-deleted"}]}

    # when it is delivered
    response = post(client, "trustpilot", json.dumps(deleted).encode())

    # then the delivery is a deletion to the operator (`deliveries list`, /metrics), not a review
    assert response.json["outcome"] == "accepted"
    [delivery] = recorded(app)
    assert delivery.topic == "review/deleted"
    metrics = client.get("/metrics").get_data(as_text=True)
    assert (
        'clout_deliveries{source="trustpilot",status="received",topic="review/deleted"}' in metrics
    )
