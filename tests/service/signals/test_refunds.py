"""Refunds sized by the money that moved (Shopify's refund transactions), not by what was
itemised: `refunds/create` fires "independently of the movement of money"."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from service.core.models import Refund, Shop, Signal
from tests.support.clout import process_delivery_now, record_delivery_now, state
from tests.support.helpers import a_refund_sample, fixture_json

ORDER_ID = 7002000000100


def an_order(total: str = "100.00") -> dict[str, Any]:
    order = fixture_json("shopify/orders_create.json")
    order.update(
        id=ORDER_ID,
        admin_graphql_api_id=f"gid://shopify/Order/{ORDER_ID}",
        cancel_reason=None,
        cancelled_at=None,
        financial_status="paid",
        total_price=total,
        currency="EUR",
        note=None,
    )
    return order


def a_refund(
    refund_id: int,
    *,
    moved: list[tuple[str, str]] = (),  # type: ignore[assignment]
    line_items: int = 1,
    shipping: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """A refund in the shape of Shopify's sample: `moved` is (amount, status) per transaction."""
    return a_refund_sample(
        refund_id,
        order_id=ORDER_ID,
        note=note,
        moved=moved,
        line_items=line_items,
        shipping=shipping,
    )


def send(app: Flask, topic: str, payload: dict[str, Any]) -> str:
    return process_delivery_now(app, record_delivery_now(app, topic=topic, payload=payload))


def refund_signals(app: Flask) -> list[Signal]:
    with state(app).sessions() as session:
        return list(
            session.scalars(select(Signal).where(Signal.kind == "refund").order_by(Signal.id))
        )


def first_sentence(signal: Signal) -> str:
    return str((signal.detail or {})["sentences"][0])


def test_a_refund_with_no_line_items_is_sized_by_its_transactions(app: Flask, shop: Shop) -> None:
    # given an order of 100.00 EUR, and an order-level refund of 30.00 (no line items)
    send(app, "orders/create", an_order())

    send(app, "refunds/create", a_refund(1, moved=[("30.00", "success")], line_items=0))

    [signal] = refund_signals(app)
    assert signal.reason == "refund_partial"
    assert first_sentence(signal) == "was refunded 30.00 EUR of 100.00 EUR"


def test_a_shipping_only_refund_is_the_shipping_that_moved(app: Flask, shop: Shop) -> None:
    send(app, "orders/create", an_order())

    send(
        app,
        "refunds/create",
        a_refund(2, moved=[("7.50", "success")], line_items=0, shipping="7.50"),
    )

    [signal] = refund_signals(app)
    assert first_sentence(signal) == "was refunded 7.50 EUR of 100.00 EUR"
    assert signal.severity == "normal"


def test_a_restock_that_moved_no_money_is_no_sign_of_unhappiness(app: Flask, shop: Shop) -> None:
    # given line items refunded (restocked) with no transaction at all
    send(app, "orders/create", an_order())

    assert send(app, "refunds/create", a_refund(3, moved=[], line_items=2)) == "done"

    # then the refund is kept, at zero, and raises nothing
    with state(app).sessions() as session:
        [refund] = session.scalars(select(Refund))
        assert refund.amount == 0
        assert refund.line_item_count == 2
    assert refund_signals(app) == []


def test_a_failed_refund_transaction_moved_nothing(app: Flask, shop: Shop) -> None:
    send(app, "orders/create", an_order())

    send(app, "refunds/create", a_refund(4, moved=[("100.00", "failure")]))

    assert refund_signals(app) == []


def test_two_partial_refunds_that_add_up_to_the_total_make_it_full(app: Flask, shop: Shop) -> None:
    send(app, "orders/create", an_order())

    send(app, "refunds/create", a_refund(5, moved=[("40.00", "success")]))
    send(app, "refunds/create", a_refund(6, moved=[("60.00", "success")]))

    first, second = refund_signals(app)
    assert (first.reason, first.severity) == ("refund_partial", "normal")
    assert (second.reason, second.severity) == ("refund_full", "high")
    assert first_sentence(second) == "was refunded in full (100.00 EUR)"


def test_a_zero_refund_with_a_complaint_in_its_note_is_read_for_the_note(
    app: Flask, shop: Shop
) -> None:
    send(app, "orders/create", an_order())

    send(app, "refunds/create", a_refund(7, moved=[], note="The box arrived crushed and broken"))

    [signal] = refund_signals(app)
    assert signal.reason == "refund_note"
    assert first_sentence(signal) == "had a refund recorded with no money back"


@pytest.mark.parametrize("note", ["Not needed anymore", "Ordered twice by mistake", "No card"])
def test_a_zero_refund_whose_note_names_no_problem_is_no_sign(
    app: Flask, shop: Shop, note: str
) -> None:
    # given a refund that moved no money, with a note staff write as a record (the trained model
    # reads some such notes darkly: "Not needed anymore" 0.80)
    send(app, "orders/create", an_order())

    # when it arrives
    send(app, "refunds/create", a_refund(10, moved=[], note=note))

    # then nobody is told about an unhappy customer: a note counts by a reason the rules read
    assert refund_signals(app) == []


def test_a_partial_refund_for_something_missing_from_the_order_is_high_severity(
    app: Flask, shop: Shop
) -> None:
    """Something missing from the order is the shop's failure, as a broken or wrong item is: a
    partial refund for it is as serious; one for a size that did not suit stays normal."""
    send(app, "orders/create", an_order())

    send(
        app,
        "refunds/create",
        a_refund(8, moved=[("20.00", "success")], note="Two of the mugs were missing from the box"),
    )
    send(
        app,
        "refunds/create",
        a_refund(9, moved=[("10.00", "success")], note="The shirt was too small, sent it back"),
    )

    missing, size = refund_signals(app)
    assert (missing.reason, missing.severity) == ("refund_partial", "high")
    assert "missing_item" in (missing.detail or {})["reasons"]
    assert (size.reason, size.severity) == ("refund_partial", "normal")
