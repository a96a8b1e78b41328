"""Two workers taking deliveries about the same new customer at the same moment: Shopify sends
`customers/create` and `orders/create` for a first purchase together. Both store the customer
(read, then insert); the loser's insert meets the unique index. That is no reason to give the
delivery up: it is tried again and finds the row. Against the emulator over HTTP and a real
database (PostgreSQL in CI's server variant, where the two truly race)."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from service.core.db import session_scope
from service.core.models import Delivery, Order
from service.deliveries.lifecycle import error_summary
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


def test_a_constraint_a_delivery_broke_is_named_in_its_error_without_the_values(
    clout: Flask,
) -> None:
    # given a delivery, and a second row that repeats its source and webhook id (a value an
    # operator must not read in an error: a webhook id, or a customer's data elsewhere)
    delivery_id = record_delivery_now(clout, topic="customers/update", payload={"id": 1})
    sessions = state(clout).sessions
    with session_scope(sessions) as session:
        first = session.get(Delivery, delivery_id)
        assert first is not None
        twin = Delivery(
            source=first.source,
            webhook_id=first.webhook_id,
            topic=first.topic,
            shop_domain=first.shop_domain,
        )
        webhook_id = first.webhook_id

    # when the database refuses it
    with sessions() as session:
        session.add(twin)
        with pytest.raises(IntegrityError) as refused:
            session.flush()

    # then what a delivery's last_error would say names the constraint, not the values
    said = error_summary(refused.value)
    assert said.startswith("IntegrityError: ")
    assert "webhook_id" in said or "uq_deliveries_source_webhook_id" in said
    assert webhook_id not in said


def test_a_missing_value_a_delivery_needed_is_named_by_its_column(clout: Flask) -> None:
    # given a row without a value its table requires (PostgreSQL names no constraint for it)
    sessions = state(clout).sessions
    with sessions() as session:
        session.add(Delivery(source=None, webhook_id="w-1", topic="t", shop_domain="s"))

        # when the database refuses it
        with pytest.raises(IntegrityError) as refused:
            session.flush()

    # then the error names the table and column, on either database
    said = error_summary(refused.value)
    assert said.startswith("IntegrityError: ")
    assert "deliveries" in said
    assert "source" in said
