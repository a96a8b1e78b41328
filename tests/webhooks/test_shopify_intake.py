"""POST /webhooks/shopify: what Shopify (or anyone else) gets back, and what is recorded."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from service.core.crypto import generate_key
from service.core.models import Delivery, Shop
from tests.support.clout import connect_test_shop, state
from tests.support.helpers import (
    OLD_SECRET,
    SHOP,
    as_body,
    fixture_bytes,
    shopify_headers,
    shopify_signature,
)


def deliveries(app: Flask) -> list[Delivery]:
    with state(app).sessions() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def post(client: FlaskClient, topic: str, body: bytes, **kwargs: Any) -> Any:
    return client.post(
        "/webhooks/shopify", data=body, headers=shopify_headers(topic, body, **kwargs)
    )


def test_a_signed_delivery_is_recorded_as_sent_and_answered_200(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    # given Shopify's own orders/create sample, signed with the app's secret
    body = fixture_bytes("shopify/orders_create.json")
    headers = shopify_headers(
        "orders/create", body, webhook_id="b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    )

    # when it is delivered
    response = client.post("/webhooks/shopify", data=body, headers=headers)

    # then it is accepted, and the raw bytes and Shopify's headers are kept
    assert response.status_code == 200
    assert response.json["outcome"] == "accepted"
    [delivery] = deliveries(app)
    assert delivery.id == response.json["delivery_id"]
    assert delivery.body == body
    assert delivery.topic == "orders/create"
    assert delivery.shop_domain == SHOP
    assert delivery.webhook_id == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    assert delivery.event_id == headers["X-Shopify-Event-Id"]
    assert delivery.api_version == "2026-07"
    assert delivery.triggered_at is not None
    assert delivery.triggered_at.isoformat() == "2026-11-25T10:00:00+00:00"
    assert delivery.status == "received"


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"])
def test_a_triggered_at_beyond_the_calendar_is_unknown_not_a_500(
    client: FlaskClient, app: Flask, shop: Shop, moment: str
) -> None:
    # given a signed delivery whose X-Shopify-Triggered-At falls off the calendar in UTC
    body = fixture_bytes("shopify/orders_create.json")
    headers = shopify_headers("orders/create", body, triggered_at=moment)

    # when it is delivered
    response = client.post("/webhooks/shopify", data=body, headers=headers)

    # then it is accepted, with no trigger time
    assert (response.status_code, response.json["outcome"]) == (200, "accepted")
    [delivery] = deliveries(app)
    assert delivery.triggered_at is None


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(shopify_signature(b"{}", "not-the-secret"), id="wrong-secret"),
        pytest.param(shopify_signature(b'{"id": 1}'), id="other-body"),
        pytest.param("", id="empty"),
        pytest.param("not base64 at all!", id="garbage"),
        pytest.param(shopify_signature(b"{}").encode().hex(), id="hex-not-base64"),
    ],
)
def test_a_forged_signature_is_refused_with_401_and_nothing_is_recorded(
    client: FlaskClient, app: Flask, shop: Shop, signature: str
) -> None:
    body = b"{}"
    headers = shopify_headers("orders/create", body)
    headers["X-Shopify-Hmac-Sha256"] = signature

    response = client.post("/webhooks/shopify", data=body, headers=headers)

    assert response.status_code == 401
    assert deliveries(app) == []


def test_a_missing_signature_is_refused_with_401(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    response = post(client, "orders/create", b"{}", secret=None)

    assert response.status_code == 401
    assert deliveries(app) == []


def test_a_body_changed_after_signing_is_refused(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    # given a correctly signed body that is then re-serialised (as a careless proxy would)
    body = fixture_bytes("shopify/orders_create.json")
    headers = shopify_headers("orders/create", body)
    reserialised = json.dumps(json.loads(body)).encode()

    response = client.post("/webhooks/shopify", data=reserialised, headers=headers)

    assert response.status_code == 401


def test_the_secret_being_rotated_out_is_still_accepted_when_configured(
    make_app: Callable[..., Flask], shop: Shop
) -> None:
    body = fixture_bytes("shopify/orders_create.json")
    rotating = make_app(SHOPIFY_API_SECRET_OLD=OLD_SECRET).test_client()
    not_rotating = make_app().test_client()

    assert post(rotating, "orders/create", body, secret=OLD_SECRET).status_code == 200
    assert post(rotating, "orders/create", body).status_code == 200
    assert post(not_rotating, "orders/create", body, secret=OLD_SECRET).status_code == 401


def test_an_oversize_body_gets_413_before_it_is_read(
    make_app: Callable[..., Flask], app: Flask, shop: Shop
) -> None:
    small = make_app(CLOUT_MAX_BODY_BYTES="4096").test_client()
    body = json.dumps({"id": 1, "note": "x" * 5000}).encode()

    response = post(small, "orders/create", body)

    assert response.status_code == 413
    assert response.is_json
    assert deliveries(app) == []


@pytest.mark.parametrize(("size", "status"), [(4097, 413), (4096, 200), (3000, 200)])
def test_a_chunked_body_is_read_whole_or_refused_as_too_large(
    make_app: Callable[..., Flask], app: Flask, shop: Shop, size: int, status: int
) -> None:
    # given a 4 KiB limit, and a signed delivery of `size` bytes sent chunked (no
    # Content-Length), as a proxy or a client may send it
    small = make_app(CLOUT_MAX_BODY_BYTES="4096").test_client()
    prefix = b'{"id": 1, "note": "'
    body = prefix + b"x" * (size - len(prefix) - 2) + b'"}'
    assert len(body) == size
    headers = shopify_headers("orders/create", body)

    # when it arrives
    response = small.post(
        "/webhooks/shopify",
        input_stream=io.BytesIO(body),
        headers=headers,
        environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""},
    )

    # then a body over the limit is too large (not a signature that failed on its first 4 KiB),
    # and one under it is read whole
    assert response.status_code == status, response.json
    assert len(deliveries(app)) == (status == 200)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"not json", id="text"),
        pytest.param(b"", id="empty"),
        pytest.param(b"[1, 2, 3]", id="array"),
        pytest.param(b'"a string"', id="string"),
        pytest.param(b'{"id": 1', id="truncated"),
        pytest.param(b'{"note": "\xff\xfe"}', id="not-utf8"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="deeply-nested"),
    ],
)
def test_a_signed_body_that_is_not_a_json_object_gets_400(
    client: FlaskClient, app: Flask, shop: Shop, body: bytes
) -> None:
    response = post(client, "orders/create", body)

    assert response.status_code == 400
    assert response.json["outcome"] == "bad_request"
    assert deliveries(app) == []


@pytest.mark.parametrize(
    "missing", ["X-Shopify-Topic", "X-Shopify-Shop-Domain", "X-Shopify-Webhook-Id"]
)
def test_a_delivery_without_shopify_headers_gets_400(
    client: FlaskClient, app: Flask, shop: Shop, missing: str
) -> None:
    body = b"{}"
    headers = shopify_headers("orders/create", body)
    del headers[missing]

    response = client.post("/webhooks/shopify", data=body, headers=headers)

    assert response.status_code == 400
    assert missing in response.json["detail"]
    assert deliveries(app) == []


@pytest.mark.parametrize("domain", ["clout-demo", "shop.example.com", "a b.myshopify.com"])
def test_a_shop_domain_that_is_not_myshopify_gets_400_saying_so(
    client: FlaskClient, app: Flask, shop: Shop, domain: str
) -> None:
    # given a signed delivery whose shop header names a store the way a person would
    body = b"{}"
    headers = shopify_headers("orders/create", body)
    headers["X-Shopify-Shop-Domain"] = domain

    # when it arrives
    response = client.post("/webhooks/shopify", data=body, headers=headers)

    # then the answer says what is wrong with the header (it was sent), and nothing is kept
    assert response.status_code == 400
    assert "X-Shopify-Shop-Domain" in response.json["detail"]
    assert "myshopify.com" in response.json["detail"]
    assert "required" not in response.json["detail"]
    assert deliveries(app) == []


@pytest.mark.parametrize("control", ["\x00", "\x1b[31m", "\x7f", "\u2028"])
def test_a_webhook_id_with_control_characters_gets_400_and_nothing_is_recorded(
    client: FlaskClient, app: Flask, shop: Shop, control: str
) -> None:
    # given a signed delivery whose id carries a character no id has (PostgreSQL refuses NUL,
    # a terminal obeys an escape sequence when an operator lists deliveries)
    body = fixture_bytes("shopify/orders_create.json")
    headers = shopify_headers("orders/create", body, webhook_id=f"delivery-{control}-1")

    response = client.post("/webhooks/shopify", data=body, headers=headers)

    assert (response.status_code, response.json["outcome"]) == (400, "bad_request")
    assert deliveries(app) == []


def test_an_optional_header_with_control_characters_is_not_kept(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    body = fixture_bytes("shopify/orders_create.json")
    headers = {**shopify_headers("orders/create", body), "X-Shopify-Event-Id": "event\x001"}

    response = client.post("/webhooks/shopify", data=body, headers=headers)

    assert (response.status_code, response.json["outcome"]) == (200, "accepted")
    [kept] = deliveries(app)
    assert kept.event_id is None


def test_a_repeated_webhook_id_answers_200_and_is_recorded_once(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    body = fixture_bytes("shopify/orders_create.json")

    first = post(client, "orders/create", body, webhook_id="same-delivery")
    second = post(client, "orders/create", body, webhook_id="same-delivery")

    assert (first.status_code, first.json["outcome"]) == (200, "accepted")
    assert (second.status_code, second.json["outcome"]) == (200, "duplicate")
    assert second.json["delivery_id"] == first.json["delivery_id"]
    assert len(deliveries(app)) == 1


def test_a_delivery_replayed_under_another_shops_header_names_nothing_of_the_first(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    # given a delivery recorded for the test shop, and a second store connected to Clout
    connect_test_shop(app, domain="second-shop.myshopify.com")
    body = fixture_bytes("shopify/orders_create.json")
    first = post(client, "orders/create", body, webhook_id="captured-delivery")

    # when someone holding the signed body sends it again under the second store's header
    replayed = post(
        client,
        "orders/create",
        body,
        webhook_id="captured-delivery",
        shop="second-shop.myshopify.com",
    )

    # then it is a repeat, recorded for nobody, and the answer names no delivery of the first
    assert (replayed.status_code, replayed.json["outcome"]) == (200, "duplicate")
    assert "delivery_id" not in replayed.json
    assert [d.shop_domain for d in deliveries(app)] == [SHOP]
    assert first.json["delivery_id"] == deliveries(app)[0].id


def test_an_unhandled_topic_is_answered_200_and_not_recorded(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    response = post(client, "products/update", b'{"id": 1}')

    assert (response.status_code, response.json["outcome"]) == (200, "ignored")
    assert deliveries(app) == []


def test_a_shop_that_is_not_connected_is_answered_200_and_not_recorded(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    body = fixture_bytes("shopify/orders_create.json")

    response = post(client, "orders/create", body, shop="stranger.myshopify.com")

    assert (response.status_code, response.json["outcome"]) == (200, "ignored")
    assert deliveries(app) == []


def test_a_database_that_cannot_record_answers_503_so_shopify_retries(
    make_app: Callable[..., Flask], database_url: str, tmp_path: Any
) -> None:
    # given a database that does not answer (a server nobody listens on, or a missing directory)
    unreachable = (
        "postgresql+psycopg://clout@127.0.0.1:1/clout"
        if database_url.startswith("postgresql")
        else f"sqlite:///{tmp_path}/no/such/dir/clout.db"
    )
    client = make_app(
        CLOUT_DATABASE_URL=unreachable, CLOUT_ENCRYPTION_KEY=generate_key()
    ).test_client()

    response = post(client, "orders/create", fixture_bytes("shopify/orders_create.json"))

    assert response.status_code == 503
    assert response.headers["Retry-After"]


def test_every_intake_answer_is_json_never_a_500(client: FlaskClient, shop: Shop) -> None:
    assert client.get("/webhooks/shopify").status_code == 405
    assert client.get("/webhooks/shopify").is_json
    assert client.post("/webhooks/nowhere", data=b"{}").status_code == 404


def test_rejections_are_counted_for_the_operator(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    post(client, "orders/create", b"{}", secret="forged")
    post(client, "orders/create", b"{}", secret="forged")
    post(client, "orders/create", b"nope")

    metrics = client.get("/metrics").get_data(as_text=True)

    assert 'clout_intake_not_recorded_total{reason="unauthorized",source="shopify"} 2.0' in metrics
    assert 'clout_intake_not_recorded_total{reason="bad_request",source="shopify"} 1.0' in metrics


def test_the_count_of_recorded_deliveries_shows_in_metrics(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    post(client, "orders/create", as_body({"id": 5, "updated_at": "2026-01-01T00:00:00Z"}))

    metrics = client.get("/metrics").get_data(as_text=True)

    assert (
        'clout_deliveries{source="shopify",status="received",topic="orders/create"} 1.0' in metrics
    )
    with state(app).sessions() as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == 1
