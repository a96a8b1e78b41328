"""What a delivery names and Clout lacks is read from Shopify (the emulator, over HTTP) before
the handler's transaction: the case lands on the real customer, not a placeholder."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from service.core.models import Customer, Order, Refund, Review, Signal, utcnow
from service.deliveries.prepare import LOOKUPS_PER_DELIVERY
from service.dev.devstore.store import Refund as DevRefund
from service.dev.devstore.webhooks import order_payload, refund_payload
from tests.support.clout import RunningDevStore, process_delivery_now, record_delivery_now, state


def customer_of_signal(app: Flask, kind: str) -> str:
    with state(app).sessions() as session:
        signal = session.scalars(select(Signal).where(Signal.kind == kind)).one()
        customer = session.get(Customer, signal.customer_id)
        assert customer is not None
        return customer.shopify_id


def send(app: Flask, topic: str, payload: dict[str, Any]) -> str:
    delivery = record_delivery_now(app, topic=topic, payload=payload)
    return process_delivery_now(app, delivery, shopify=True)


def test_a_refund_before_its_order_ends_on_the_real_customer(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given Maya's order in the store, which Clout has not heard of yet, refunded in full
    maya = devstore.store.add_person("maya@example.org", "Maya", "Ortiz")
    order = devstore.store.add_purchase(maya, total=Decimal("40.00"))
    order.refunds.append(
        DevRefund(
            id=devstore.store.next_id(), created_at=utcnow(), note=None, amount=Decimal("40.00")
        )
    )

    # when the refund's webhook comes first
    assert send(clout, "refunds/create", refund_payload(order)) == "done"

    # then Clout read the order from Shopify first: the refund is Maya's, and in full
    assert customer_of_signal(clout, "refund") == maya.gid
    with state(clout).sessions() as session:
        stored = session.scalar(select(Order).where(Order.shopify_id == order.gid))
        assert stored is not None
        assert stored.total_price == Decimal("40.00")
        assert session.scalar(select(Signal.reason)) == "refund_full"


def test_a_dispute_on_an_unseen_order_ends_on_the_real_customer(
    clout: Flask, devstore: RunningDevStore
) -> None:
    maya = devstore.store.add_person("maya@example.org", "Maya", "Ortiz")
    order = devstore.store.add_purchase(maya)

    send(clout, "disputes/create", {"id": 41, "order_id": order.id, "type": "chargeback"})

    assert customer_of_signal(clout, "dispute") == maya.gid


def test_with_shopify_down_the_signal_still_lands_on_the_order(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given Shopify answering 503 to everything
    maya = devstore.store.add_person("maya@example.org", "Maya", "Ortiz")
    order = devstore.store.add_purchase(maya)
    devstore.admin.set_faults(error_rate=1.0)

    # when a chargeback on the unseen order arrives
    assert (
        send(clout, "disputes/create", {"id": 42, "order_id": order.id, "type": "chargeback"})
        == "done"
    )

    # then the case is opened on the order (its guest placeholder) rather than lost or stuck
    assert customer_of_signal(clout, "dispute") == f"guest:{order.gid}"


def test_what_clout_already_has_is_not_asked_for_again(
    clout: Flask, devstore: RunningDevStore
) -> None:
    maya = devstore.store.add_person("maya@example.org", "Maya", "Ortiz")
    order = devstore.store.add_purchase(maya)
    send(clout, "disputes/create", {"id": 43, "order_id": order.id, "type": "chargeback"})
    asked = devstore.admin.stats.calls

    send(clout, "disputes/update", {"id": 43, "order_id": order.id, "type": "chargeback"})

    assert devstore.admin.stats.calls == asked
    with state(clout).sessions() as session:
        assert session.scalars(select(Refund)).all() == []


def test_a_refund_whose_order_shopify_cannot_name_still_opens_a_case(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given Maya's refunded order, unseen by Clout, and Shopify answering 503 to everything
    maya = devstore.store.add_person("maya@example.org", "Maya", "Ortiz")
    order = devstore.store.add_purchase(maya, total=Decimal("40.00"))
    order.refunds.append(
        DevRefund(id=devstore.store.next_id(), created_at=utcnow(), note=None, amount=order.total)
    )
    devstore.admin.set_faults(error_rate=1.0)

    # when the refund's webhook arrives
    assert send(clout, "refunds/create", refund_payload(order)) == "done"

    # then the case opens at once on the order's placeholder (its tag does not wait)
    assert customer_of_signal(clout, "refund") == f"guest:{order.gid}"

    # and when the order's own webhook arrives, the refund moves to Maya
    devstore.admin.set_faults(error_rate=0.0)
    assert send(clout, "orders/create", order_payload(devstore.store, order)) == "done"
    assert customer_of_signal(clout, "refund") == maya.gid


def test_a_refund_after_a_placeholder_dispute_looks_the_order_up_and_moves_both(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a chargeback on Maya's unseen order, kept on a placeholder while Shopify was down
    maya = devstore.store.add_person("maya@example.org", "Maya", "Ortiz")
    order = devstore.store.add_purchase(maya, total=Decimal("40.00"))
    devstore.admin.set_faults(error_rate=1.0)
    send(clout, "disputes/create", {"id": 44, "order_id": order.id, "type": "chargeback"})
    assert customer_of_signal(clout, "dispute") == f"guest:{order.gid}"
    devstore.admin.set_faults(error_rate=0.0)

    # when a refund on the same order arrives, Shopify well again
    order.refunds.append(
        DevRefund(id=devstore.store.next_id(), created_at=utcnow(), note=None, amount=order.total)
    )
    assert send(clout, "refunds/create", refund_payload(order)) == "done"

    # then Clout looked the order up and both signals are Maya's, in one case
    assert customer_of_signal(clout, "refund") == maya.gid
    assert customer_of_signal(clout, "dispute") == maya.gid
    with state(clout).sessions() as session:
        assert len(set(session.scalars(select(Signal.incident_id)))) == 1


def test_a_guest_checkout_is_looked_up_once(clout: Flask, devstore: RunningDevStore) -> None:
    # given a guest checkout (no customer in Shopify) whose order Clout had from its webhook
    guest = devstore.store.add_purchase(None, total=Decimal("40.00"), email="guest@example.org")
    send(clout, "orders/create", order_payload(devstore.store, guest))
    asked = devstore.admin.stats.calls

    # when two refunds on it arrive
    for _ in range(2):
        guest.refunds.append(
            DevRefund(id=devstore.store.next_id(), created_at=utcnow(), note=None, amount=1)
        )
        send(clout, "refunds/create", refund_payload(guest))

    # then Shopify was not asked again: the order is known, its buyer is a guest
    assert devstore.admin.stats.calls == asked
    with state(clout).sessions() as session:
        buyers = session.scalars(
            select(Customer.shopify_id).join(Signal, Signal.customer_id == Customer.id)
        ).all()
    assert buyers == [f"guest:{guest.gid}"] * 2


def test_a_batch_of_reviews_asks_shopify_about_a_bounded_number_of_people(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a Trustpilot delivery carrying 40 reviews from 40 emails Clout has never seen
    # (a platform's backlog, or whoever holds the store's review URL draining its API budget)
    events = [
        {
            "eventName": "service-review-created",
            "eventData": {
                "id": f"tp-{n}",
                "stars": 2,
                "text": "Late again.",
                "consumer": {"email": f"reader{n}@example.org", "name": f"Reader {n}"},
                "createdAt": "2026-11-20T10:00:00Z",
            },
        }
        for n in range(40)
    ]
    asked = devstore.admin.stats.calls

    # when it is processed
    delivery = record_delivery_now(
        clout, topic="reviews/trustpilot", source="trustpilot", payload={"events": events}
    )
    done = process_delivery_now(clout, delivery, shopify=True)

    # then Shopify was asked about no more than the bound's worth of people, and every
    # review was still kept
    assert done == "done"
    assert devstore.admin.stats.calls - asked <= LOOKUPS_PER_DELIVERY
    with state(clout).sessions() as session:
        assert session.scalar(select(func.count()).select_from(Review)) == 40
