"""A signal kept on a stand-in (a guest, a reviewer Shopify did not know) moves to the real
customer once Shopify names them, and the case is attended again: the customer is tagged in
Shopify and their case holds the signal. Against the emulator over HTTP, with a real database."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from service.core.db import session_scope
from service.core.models import Customer, Incident, Review, Signal
from service.core.vocabulary import IncidentStatus
from service.dev.devstore.store import Order as DevOrder
from service.dev.devstore.webhooks import customer_payload, order_payload
from tests.support.clout import RunningDevStore, record_delivery_now, state, work_on

ATTENTION = "clout-attention"


def deliver(app: Flask, topic: str, payload: dict[str, Any], source: str = "shopify") -> None:
    delivery = record_delivery_now(app, topic=topic, payload=payload, source=source)
    assert work_on(app, delivery).status == "done"


def open_cases(app: Flask) -> list[tuple[str, list[str], str]]:
    """(customer, [signal reasons], severity) of every open case."""
    with session_scope(state(app).sessions) as session:
        cases = session.scalars(
            select(Incident).where(Incident.status == IncidentStatus.OPEN).order_by(Incident.id)
        ).all()
        return [
            (
                session.get(Customer, case.customer_id).shopify_id,  # type: ignore[union-attr]
                sorted(s.reason for s in case.signals),
                case.severity.value,
            )
            for case in cases
        ]


def dispute_while_shopify_cannot_say_whose(
    app: Flask, devstore: RunningDevStore, order: DevOrder
) -> None:
    """A chargeback whose order Clout has never seen, while Shopify answers no lookups (tags
    still land): Clout keeps it on a stand-in and tags the order at once."""
    devstore.admin.set_faults(only_tags=True)
    deliver(app, "disputes/create", {"id": 77, "order_id": order.id, "type": "chargeback"})
    devstore.admin.set_faults(only_tags=False)


def test_a_dispute_on_an_unseen_order_ends_on_the_real_customer(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a chargeback on Maya's order, before Clout knows the order is hers
    maya = devstore.store.add_person("maya@example.org", "Maya", "Ortiz")
    order = devstore.store.add_purchase(maya)
    dispute_while_shopify_cannot_say_whose(clout, devstore, order)
    [(holder, _, _)] = open_cases(clout)
    assert holder == f"guest:{order.gid}"
    assert ATTENTION in devstore.store.orders[order.id].tags  # the floor did not wait
    assert ATTENTION not in maya.tags

    # when the order's own webhook arrives, naming Maya
    deliver(clout, "orders/updated", order_payload(devstore.store, order))

    # then the case is Maya's, and Maya herself carries the attention tag in Shopify
    [(holder, reasons, _)] = open_cases(clout)
    assert holder == maya.gid
    assert len(reasons) == 1
    assert ATTENTION in devstore.store.customers[maya.id].tags
    with session_scope(state(clout).sessions) as session:
        on_stand_in = session.scalars(
            select(Signal).join(Customer).where(Customer.shopify_id.like("guest:%"))
        ).all()
        assert on_stand_in == []


def test_a_stand_in_case_joins_the_customers_open_case(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given Maya already has an open case (a full refund on one order)
    maya = devstore.store.add_person("maya@example.org", "Maya", "Ortiz")
    refunded = devstore.store.add_purchase(maya)
    deliver(clout, "orders/create", order_payload(devstore.store, refunded))
    deliver(clout, "refunds/create", _full_refund(refunded))
    [(holder, reasons, _)] = open_cases(clout)
    assert (holder, reasons) == (maya.gid, ["refund_full"])

    # and a chargeback on another of her orders that Clout could not place
    disputed = devstore.store.add_purchase(maya)
    dispute_while_shopify_cannot_say_whose(clout, devstore, disputed)
    assert len(open_cases(clout)) == 2

    # when that order becomes known
    deliver(clout, "orders/updated", order_payload(devstore.store, disputed))

    # then Maya has one open case holding both signals, at the worse severity
    [(holder, reasons, severity)] = open_cases(clout)
    assert holder == maya.gid
    assert len(reasons) == 2
    assert "refund_full" in reasons
    assert severity in {"high", "critical"}
    assert ATTENTION in devstore.store.orders[disputed.id].tags


def _full_refund(order: DevOrder) -> dict[str, Any]:
    total = str(order.total)
    return {
        "id": 9001,
        "order_id": order.id,
        "created_at": "2026-11-01T10:00:00Z",
        "note": None,
        "refund_line_items": [],
        "transactions": [
            {"kind": "refund", "status": "success", "amount": total, "currency": "USD"}
        ],
    }


def test_a_review_from_an_unknown_email_moves_when_that_customer_appears(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a one-star review from an email no Shopify customer has yet
    review = {
        "id": 5001,
        "rating": 1,
        "comments": "Arrived broken and nobody answered my emails. Never again.",
        "user": {"name": "Nora", "email_address": "nora@example.org"},
    }
    deliver(clout, "reviews/reviewsio", review, source="reviewsio")
    [(holder, _, _)] = open_cases(clout)
    assert holder.startswith("reviewer:")

    # when Nora becomes a customer of the store
    nora = devstore.store.add_person("nora@example.org", "Nora", "Quinn")
    deliver(clout, "customers/create", customer_payload(nora))

    # then the review and its case are hers, and she is tagged in Shopify
    assert [c[0] for c in open_cases(clout)] == [nora.gid]
    assert ATTENTION in devstore.store.customers[nora.id].tags
    with session_scope(state(clout).sessions) as session:
        [kept] = session.scalars(select(Review)).all()
        linked = session.get(Customer, kept.customer_id)
        assert linked is not None
        assert linked.shopify_id == nora.gid
        assert kept.link_method == "email_customer"


def test_only_the_named_orders_signal_moves_when_the_reviewer_is_someone_else(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given two bad reviews from Nora about two orders Clout has not seen, gifts that Maya and
    # Sam bought
    maya = devstore.store.add_person("maya@example.org", "Maya", "Ortiz")
    sam = devstore.store.add_person("sam@example.org", "Sam", "Lee")
    from_maya, from_sam = devstore.store.add_purchase(maya), devstore.store.add_purchase(sam)
    devstore.admin.set_faults(only_tags=True)
    for number, gift in ((6001, from_maya), (6002, from_sam)):
        review = {
            "id": number,
            "rating": 1,
            "order_id": gift.id,
            "comments": "It broke the first day. Very disappointed.",
            "user": {"name": "Nora", "email_address": "nora@example.org"},
        }
        deliver(clout, "reviews/reviewsio", review, source="reviewsio")
    devstore.admin.set_faults(only_tags=False)
    [(holder, reasons, _)] = open_cases(clout)
    assert holder.startswith("reviewer:")
    assert len(reasons) == 2

    # when Maya's order arrives
    deliver(clout, "orders/updated", order_payload(devstore.store, from_maya))

    # then the review of her order is on a case of Maya's; the other stays with the reviewer
    cases = {holder.split(":")[0]: reasons for holder, reasons, _ in open_cases(clout)}
    assert sorted(cases) == ["gid", "reviewer"]
    assert len(cases["gid"]) == 1
    assert len(cases["reviewer"]) == 1
    assert ATTENTION in devstore.store.customers[maya.id].tags
    assert ATTENTION not in devstore.store.customers[sam.id].tags
