"""What a delivery's raw body costs: kept while it may still be needed (waiting, retrying,
failed, for the operator to retry), gone once the delivery is finished and past the replay
window (CLOUT_PAYLOAD_RETENTION_DAYS, none by default), so the database grows with customers,
not with traffic.

Processed in the test's thread through the worker's own task code."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from service.core.models import Delivery, Order, Shop, utcnow
from service.deliveries import lifecycle
from tests.support.clout import state
from tests.support.helpers import fixture_bytes, shopify_headers
from workers import tasks

ORDER_GID = "gid://shopify/Order/820982911946154508"


def post(client: FlaskClient, topic: str, body: bytes) -> int:
    response = client.post("/webhooks/shopify", data=body, headers=shopify_headers(topic, body))
    assert response.status_code == 200, response.json
    return int(response.json["delivery_id"])


def worked(app: Flask, delivery_id: int) -> Delivery:
    """The worker's turn at the delivery (its settings, its handlers), here; the row after."""
    with app.app_context():
        tasks._process(app.extensions["celery"], delivery_id)
    with state(app).sessions() as session:
        found = session.get(Delivery, delivery_id)
        assert found is not None
        return found


def test_a_body_no_handler_can_read_is_kept_for_the_operator(
    app: Flask, client: FlaskClient, shop: Shop
) -> None:
    # given an order delivery whose body is JSON but not an order
    body = b'{"id": "not a number", "line_items": 7}'
    delivery_id = post(client, "orders/create", body)

    # when a worker takes it and the handler refuses it
    found = worked(app, delivery_id)

    # then it is not finished, and its body is still there to read and retry
    assert found.status in ("failed", "dead", "retrying")
    assert found.body == body


def test_a_finished_delivery_keeps_no_body_by_default(
    app: Flask, client: FlaskClient, shop: Shop
) -> None:
    # given an order delivery, and the default replay window (none)
    delivery_id = post(client, "orders/create", fixture_bytes("shopify/orders_create.json"))

    # when a worker has processed it
    found = worked(app, delivery_id)

    # then the order is in the store, and the raw body is gone with the same commit
    assert found.status == "done"
    assert found.body is None
    with state(app).sessions() as session:
        assert session.scalar(select(Order.id).where(Order.shopify_id == ORDER_GID)) is not None


def test_a_replay_window_keeps_the_body_until_the_purge_after_it(
    make_app: Callable[..., Flask], shop: Shop
) -> None:
    # given an operator who keeps finished bodies for a day
    app = make_app(CLOUT_PAYLOAD_RETENTION_DAYS="1")
    body = fixture_bytes("shopify/orders_create.json")
    delivery_id = post(app.test_client(), "orders/create", body)

    # when a worker has processed it
    found = worked(app, delivery_id)

    # then the body is kept for the day
    assert found.status == "done"
    assert found.body == body
    with state(app).sessions() as session:
        assert lifecycle.purge_payloads(session=session, now=utcnow(), retention_days=1) == 0

    # and the purge after the day drops it
    with state(app).sessions() as session:
        later = utcnow() + timedelta(days=1, minutes=1)
        assert lifecycle.purge_payloads(session=session, now=later, retention_days=1) == 1
    with state(app).sessions() as session:
        assert session.scalar(select(Delivery.body).where(Delivery.id == delivery_id)) is None
