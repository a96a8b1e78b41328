"""Deliveries processed into the store: once, in the right order, a bad one visible.

Processed in the test's thread as a worker would (tests/workers/ has the real worker's
retries and outages)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select

from service.core.db import session_scope
from service.core.models import Customer, Delivery, Incident, Order, Refund, Shop, Signal, utcnow
from service.deliveries import lifecycle
from service.deliveries.topics import TOPIC_HANDLERS
from service.dev.devstore.webhooks import order_payload
from service.shopify.shops import REVIEW_PROVIDERS
from service.signals import text
from tests.support.clout import (
    RunningDevStore,
    attend_now,
    connect_test_shop,
    process_delivery_now,
    record_delivery_now,
    state,
)
from tests.support.helpers import as_body, fixture_bytes, fixture_json, shopify_headers

ORDER_GID = "gid://shopify/Order/820982911946154508"


def post(client: FlaskClient, topic: str, body: bytes, **kwargs: Any) -> Any:
    response = client.post(
        "/webhooks/shopify", data=body, headers=shopify_headers(topic, body, **kwargs)
    )
    assert response.status_code == 200, response.json
    return response


def delivery(app: Flask, delivery_id: int) -> Delivery | None:
    with state(app).sessions() as session:
        return session.get(Delivery, delivery_id)


def processed(app: Flask, delivery_id: int) -> Delivery:
    """Process the delivery intake recorded, once, here; the row as it ends."""
    process_delivery_now(app, delivery_id)
    found = delivery(app, delivery_id)
    assert found is not None
    return found


def order(app: Flask, gid: str = ORDER_GID) -> Order | None:
    with state(app).sessions() as session:
        return session.scalar(select(Order).where(Order.shopify_id == gid))


def test_an_order_delivery_is_processed_into_the_store(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    response = post(client, "orders/create", fixture_bytes("shopify/orders_create.json"))

    done = processed(app, response.json["delivery_id"])

    assert done.status == "done"
    assert done.attempts == 1
    assert done.customer_ref == "gid://shopify/Customer/115310627314723954"
    stored = order(app)
    assert stored is not None
    assert stored.name == "#9999"
    assert str(stored.total_price) == "404.95"
    with state(app).sessions() as session:
        customer = session.scalar(select(Customer))
        assert customer is not None
        assert customer.shopify_id == "gid://shopify/Customer/115310627314723954"
        assert stored.customer_id == customer.id


def test_a_duplicate_delivery_is_processed_once(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    body = fixture_bytes("shopify/orders_create.json")
    first = post(client, "orders/create", body, webhook_id="dup-1")
    post(client, "orders/create", body, webhook_id="dup-1")
    post(client, "orders/create", body, webhook_id="dup-1")

    done = processed(app, first.json["delivery_id"])

    assert done.attempts == 1
    with state(app).sessions() as session:
        assert len(session.scalars(select(Delivery)).all()) == 1
        assert len(session.scalars(select(Order)).all()) == 1


def test_an_update_that_arrives_before_the_create_wins(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    # given the order's later state (refunded, a day later) delivered first
    created = fixture_json("shopify/orders_create.json")
    updated = {**created, "updated_at": "2022-01-01T19:00:00-05:00", "financial_status": "refunded"}
    first = post(client, "orders/updated", as_body(updated))
    processed(app, first.json["delivery_id"])

    # when the older orders/create arrives after it
    second = post(client, "orders/create", as_body(created))
    processed(app, second.json["delivery_id"])

    # then the newer state stands
    stored = order(app)
    assert stored is not None
    assert stored.financial_status == "refunded"
    assert stored.shopify_updated_at is not None
    assert stored.shopify_updated_at.isoformat() == "2022-01-02T00:00:00+00:00"


def test_a_day_late_customer_update_does_not_overwrite_a_newer_one(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    newer = {
        "id": 706405506930370084,
        "email": "new@example.com",
        "first_name": "Bob",
        "updated_at": "2026-11-25T09:00:00Z",
        "created_at": "2020-01-01T00:00:00Z",
    }
    older = {**newer, "email": "old@example.com", "updated_at": "2026-11-24T09:00:00Z"}
    for payload in (newer, older):
        response = post(client, "customers/update", as_body(payload))
        processed(app, response.json["delivery_id"])

    with state(app).sessions() as session:
        customer = session.scalar(select(Customer))
        assert customer is not None
        assert customer.email == "new@example.com"


def test_a_refund_is_kept_with_its_note_and_amount(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    response = post(client, "refunds/create", fixture_bytes("shopify/refunds_create.json"))

    done = processed(app, response.json["delivery_id"])

    assert done.status == "done"
    with state(app).sessions() as session:
        refund = session.scalar(select(Refund))
        assert refund is not None
        assert refund.note == "Things were damaged"
        assert refund.order_shopify_id == ORDER_GID
        assert refund.amount is not None
        assert refund.amount > 0


def test_a_payload_without_an_id_fails_permanently_and_is_visible(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    response = post(client, "orders/create", as_body({"name": "#1001"}))

    failed = processed(app, response.json["delivery_id"])

    assert failed.status == "failed"
    assert failed.attempts == 1
    assert failed.last_error is not None
    assert "no usable id" in failed.last_error


def test_texts_are_read_before_the_handlers_transaction_opens(
    app: Flask, review_shop: Shop
) -> None:
    # given a long review and a refund with a long note, each its own delivery
    long_words = "It arrived broken and nobody answers my emails. " * 400
    review = {
        "id": 81,
        "rating": 2,
        "comments": long_words,
        "user": {"name": "Nora", "email_address": "nora@example.org"},
    }
    refund = {**fixture_json("shopify/refunds_create.json"), "note": long_words + " refund"}
    deliveries = [
        record_delivery_now(app, topic="reviews/reviewsio", payload=review, source="reviewsio"),
        record_delivery_now(app, topic="refunds/create", payload=refund),
    ]

    # when a worker processes them, watching every transaction it opens
    read_inside: list[int] = []
    sessions = state(app).sessions

    def began(session: Any, transaction: Any, connection: Any) -> None:
        session.info["misses"] = text._analyse.cache_info().misses

    def ended(session: Any) -> None:
        if "misses" in session.info:
            read_inside.append(text._analyse.cache_info().misses - session.info.pop("misses"))

    text.forget_readings()
    event.listen(sessions, "after_begin", began)
    event.listen(sessions, "after_commit", ended)
    event.listen(sessions, "after_rollback", ended)
    try:
        statuses = [process_delivery_now(app, d) for d in deliveries]
    finally:
        event.remove(sessions, "after_begin", began)
        event.remove(sessions, "after_commit", ended)
        event.remove(sessions, "after_rollback", ended)

    # then both were handled, and no text was read while a transaction was open
    assert statuses == ["done", "done"]
    assert text._analyse.cache_info().misses >= 2  # they were read: before, outside
    assert read_inside
    assert set(read_inside) == {0}


@pytest.mark.parametrize("topic", sorted(f"reviews/{p}" for p in REVIEW_PROVIDERS))
def test_a_shopify_delivery_never_reaches_a_review_platforms_handler(
    client: FlaskClient, app: Flask, shop: Shop, topic: str
) -> None:
    # given a signed Shopify delivery whose topic names a review platform's handler, sent now
    # and one an earlier Clout recorded
    body = as_body({"review": {"id": 1, "rating": 1, "body": "awful", "email": "a@example.org"}})
    sent = client.post("/webhooks/shopify", data=body, headers=shopify_headers(topic, body))
    kept = record_delivery_now(app, topic=topic, payload=json.loads(body))

    # when intake answers and a worker takes the recorded one
    done = processed(app, kept)

    # then intake ignored it, and the worker left it alone: no review, no signal, no failure
    assert (sent.status_code, sent.json["outcome"]) == (200, "ignored")
    assert done.status == "ignored"
    with state(app).sessions() as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == 1
        assert session.scalar(select(func.count()).select_from(Signal)) == 0


def test_a_delivery_the_time_limit_cuts_short_is_tried_again_not_failed(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    # given an order delivery whose handler the worker's soft time limit interrupts (a lock
    # held by another transaction for longer than the limit: nothing wrong with the order)
    response = post(client, "orders/create", fixture_bytes("shopify/orders_create.json"))
    delivery_id = response.json["delivery_id"]

    def cut_short(_: Any) -> None:
        raise SoftTimeLimitExceeded

    # when a worker takes it
    with app.app_context():
        outcome = lifecycle.process_delivery(
            sessions=state(app).sessions,
            delivery_id=delivery_id,
            handlers={**TOPIC_HANDLERS, "orders/create": cut_short},
            max_attempts=8,
            stale_after=600,
            cut_short_by=(SoftTimeLimitExceeded,),
        )

    # then it waits for another try, with the reason an operator can read; the next try,
    # under no limit, stores the order
    settled = delivery(app, delivery_id)
    assert outcome.status == "retrying"
    assert settled is not None
    assert settled.last_error == "TransientError: cut short by the worker's time limit"
    assert processed(app, delivery_id).status == "done"
    assert order(app) is not None


def test_a_chargeback_no_worker_took_for_an_hour_is_due_four_hours_after_it_arrived(
    make_app: Callable[..., Flask], devstore: RunningDevStore
) -> None:
    # given a store on the emulator, and a chargeback Shopify delivered an hour ago: intake
    # recorded it and answered 200, but no worker ran (stopped, crashed, Redis down)
    app = make_app(CLOUT_SHOPIFY_ADMIN_URL=devstore.url)
    connect_test_shop(app, access_token=devstore.token)
    maya = devstore.store.add_person("maya@example.org", "Maya", "Ortiz")
    bought = devstore.store.add_purchase(maya)
    assert process_delivery_now(
        app,
        record_delivery_now(
            app, topic="orders/create", payload=order_payload(devstore.store, bought)
        ),
    )
    arrived = utcnow() - timedelta(hours=1)
    dispute = record_delivery_now(
        app, topic="disputes/create", payload={"id": 500, "order_id": bought.id}
    )
    with session_scope(state(app).sessions) as session:
        session.get(Delivery, dispute).received_at = arrived

    # when a worker is back and takes it, and attends the case
    assert process_delivery_now(app, dispute) == "done"
    with session_scope(state(app).sessions) as session:
        incident_id = session.scalars(select(Incident.id)).one()
    attend_now(app, incident_id)

    # then the customer, waiting since Shopify told Clout, is due within the critical floor's
    # 4 hours of that moment (the page already says "waiting since" then). Counted from when
    # the worker got to it instead, every hour a worker is down is an hour added to every
    # deadline, and agents see 4 h left on a chargeback that has waited 1 h already
    with session_scope(state(app).sessions) as session:
        incident = session.get(Incident, incident_id)
        assert incident.deadline_at is not None
        assert incident.deadline_at <= arrived + timedelta(hours=4), (
            incident.deadline_at,
            arrived,
        )
