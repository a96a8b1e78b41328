"""Two workers taking deliveries about the same new customer at the same moment: Shopify sends
`customers/create` and `orders/create` for a first purchase together. Both store the customer
(read, then insert); the loser's insert meets the unique index. That is no reason to give the
delivery up: it is tried again and finds the row. Against the emulator over HTTP and a real
database (PostgreSQL in CI's server variant, where the two truly race)."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask
from sqlalchemy import select

from service.core.db import session_scope
from service.core.models import Delivery, Order
from service.deliveries import lifecycle
from service.deliveries.topics import TOPIC_HANDLERS
from service.dev.devstore.webhooks import customer_payload, order_payload
from tests.support.clout import RunningDevStore, record_delivery_now, state
from workers.tasks import admin_factory, tag_settings


def as_a_worker(app: Flask, delivery_id: int) -> str:
    """A worker's turns at a delivery as production takes them: one answered `retrying` is
    taken again (as its retry task would), up to five attempts; its last status."""
    clout = state(app)
    status = "claimed"
    with app.app_context():
        for _ in range(5):
            status = lifecycle.process_delivery(
                sessions=clout.sessions,
                delivery_id=delivery_id,
                handlers=TOPIC_HANDLERS,
                max_attempts=5,
                stale_after=600,
                admin_for=admin_factory(clout),
                tag_settings=tag_settings(clout),
            ).status
            if status != "retrying":
                break
    return str(status)


def at_once(app: Flask, delivery_ids: list[int]) -> list[Any]:
    start = threading.Barrier(len(delivery_ids))
    answers: list[Any] = [None] * len(delivery_ids)

    def run(n: int, delivery_id: int) -> None:
        start.wait()
        try:
            answers[n] = as_a_worker(app, delivery_id)
        except Exception as error:  # noqa: BLE001 - what escaped the worker; asserted on
            answers[n] = type(error).__name__

    threads = [threading.Thread(target=run, args=(n, d)) for n, d in enumerate(delivery_ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


def test_a_first_purchase_taken_by_two_workers_at_once_loses_nothing(
    clout: Flask, devstore: RunningDevStore
) -> None:
    for n in range(3):
        # given a new customer's first order: customers/create and orders/create, both received
        person = devstore.store.add_person(f"new{n}@example.org", f"New{n}", "Buyer")
        order = devstore.store.add_purchase(person)
        ids = [
            record_delivery_now(clout, topic="customers/create", payload=customer_payload(person)),
            record_delivery_now(
                clout, topic="orders/create", payload=order_payload(devstore.store, order)
            ),
        ]

        # when two workers take them at the same moment
        answers = at_once(clout, ids)

        # then both are done and the order is stored
        assert answers == ["done", "done"]
        with session_scope(state(clout).sessions) as session:
            assert [session.get(Delivery, d).status for d in ids] == ["done", "done"]  # type: ignore[union-attr]
            assert session.scalar(select(Order.id).where(Order.shopify_id == order.gid))
