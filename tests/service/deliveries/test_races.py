"""Two workers taking deliveries about the same new customer at the same moment: Shopify sends
`customers/create` and `orders/create` for a first purchase together. Both store the customer
(read, then insert); the loser's insert meets the unique index. That is no reason to give the
delivery up: it is tried again and finds the row. Against the emulator over HTTP and a real
database (PostgreSQL in CI's server variant, where the two truly race)."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from service.core.db import session_scope
from service.core.models import Delivery, Order
from service.dev.devstore.webhooks import customer_payload, order_payload
from tests.support.clout import RunningDevStore, record_delivery_now, state, work_on
from tests.support.helpers import at_once


def as_a_worker(app: Flask, delivery_id: int) -> str:
    """A worker's turns at a delivery as production takes them: one answered `retrying` is
    taken again (as its retry task would), up to five attempts; its last status."""
    status = "claimed"
    for _ in range(5):
        status = work_on(app, delivery_id, attend=False, max_attempts=5).status
        if status != "retrying":
            break
    return str(status)


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
        answers = at_once(*(lambda d=d: as_a_worker(clout, d) for d in ids))

        # then both are done and the order is stored
        assert answers == ["done", "done"]
        with session_scope(state(clout).sessions) as session:
            assert [session.get(Delivery, d).status for d in ids] == ["done", "done"]  # type: ignore[union-attr]
            assert session.scalar(select(Order.id).where(Order.shopify_id == order.gid))
