"""One customer's facts from indexed queries are the facts a pass over the whole shop finds for
them: checked on generated shops full of the cases that make people hard to tell apart (shared
names, first names, emails, homes, gifts, referral codes and cancelled orders)."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.core.db import session_scope
from service.core.models import Customer, Order, OrderMention, Shop, utcnow
from service.influence.facts import Facts, customer_facts, gather_facts
from tests.support.clout import state

FIRST = ["Maya", "Anna", "Tom", "Rosa", None]
LAST = ["Lind", "Ek", "Berg"]
STREETS = ["1 Elm St", "2 Oak Rd", "3 Pine Ave", None]
DOMAINS = ["gmail.com", "acme.example", "globex.example"]
NUMBER = itertools.count(1)

person = st.fixed_dictionaries(
    {
        "first": st.sampled_from(FIRST),
        "last": st.sampled_from(LAST),
        "user": st.sampled_from(["a", "b", "c", "d"]),
        "domain": st.sampled_from(DOMAINS),
        "home": st.sampled_from(STREETS),
        "note": st.sampled_from([None, "instagram: @maya.makes", "tiktok=rosa_b"]),
        "shopify_orders": st.sampled_from([None, 0, 7]),
    }
)
purchase = st.fixed_dictionaries(
    {
        "buyer": st.integers(0, 7),
        "total": st.sampled_from(["0", "19.99", "80.00", "1250.50"]),
        "ship_to": st.one_of(
            st.none(),
            st.tuples(
                st.sampled_from(["Maya Lind", "Anna Ek", "Rosa Berg", "Nobody Known"]),
                st.sampled_from(STREETS),
            ),
        ),
        "codes": st.lists(st.sampled_from(["MAYA10", "ANNA20", "TOM15", "SUMMER2026"]), max_size=2),
        "heard": st.one_of(
            st.none(), st.sampled_from(["a@acme.example", "Maya Lind", "anna ek", "b@gmail.com"])
        ),
        "handle": st.sampled_from([None, "maya.makes", "../../admin"]),
        "cancelled": st.booleans(),
    }
)


@pytest.fixture
def sessions(app: Flask) -> Any:
    return state(app).sessions


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(people=st.lists(person, min_size=1, max_size=8), orders=st.lists(purchase, max_size=14))
def test_one_customers_facts_are_what_the_whole_shop_pass_finds(
    sessions: Any, people: list[dict[str, Any]], orders: list[dict[str, Any]]
) -> None:
    # given a generated shop
    with session_scope(sessions) as session:
        shop = Shop(domain=f"gen-{next(NUMBER)}.myshopify.com", status="active")
        session.add(shop)
        session.flush()
        customers = [_customer(session, shop, p) for p in people]
        for o in orders:
            _order(session, shop, customers[o["buyer"] % len(customers)], o)
        session.flush()

        # when each customer's facts are read alone, and the whole shop's in one pass
        whole = gather_facts(session=session, shop=shop)
        alone = {c.id: customer_facts(session=session, customer=c) for c in customers}

    # then they agree for every customer, on every fact a profile reads
    for cid, facts in alone.items():
        assert _of(facts, cid) == _of(whole, cid), cid


def test_the_keys_follow_an_order_when_it_changes_and_go_when_it_is_redacted(app: Flask) -> None:
    # given an order that used Maya's referral code and named her
    with session_scope(state(app).sessions) as session:
        shop = Shop(domain="keys.myshopify.com", status="active")
        session.add(shop)
        session.flush()
        buyer = _customer(session, shop, {"first": "Tom", "last": "Berg", "home": "2 Oak Rd"})
        order = _order(
            session,
            shop,
            buyer,
            {"total": "10", "codes": ["MAYA10"], "heard": "Maya Lind", "ship_to": None},
        )
        session.flush()
        first = sorted((m.kind, m.key) for m in session.scalars(select(OrderMention)))

        # when the order is edited, then its personal data redacted
        order.discount_codes = {"codes": [{"code": "ANNA20"}]}
        session.flush()
        edited = sorted((m.kind, m.key) for m in session.scalars(select(OrderMention)))
        order.discount_codes = order.note_attributes = order.shipping_address = None
        session.flush()
        redacted = session.scalars(select(OrderMention)).all()
        ship_key = order.ship_key

    # then the mentions follow each change, and nothing is left to find the person by
    assert first == [("heard_from", "maya lind"), ("referral", "MAYA")]
    assert edited == [("heard_from", "maya lind"), ("referral", "ANNA")]
    assert redacted == []
    assert ship_key is None


def _customer(session: Session, shop: Shop, p: dict[str, Any]) -> Customer:
    n = next(NUMBER)
    home = p.get("home")
    customer = Customer(
        shop_id=shop.id,
        shopify_id=f"gid://shopify/Customer/{n}",
        email=f"{p['user']}@{p['domain']}" if p.get("user") else None,
        first_name=p.get("first"),
        last_name=p.get("last"),
        note=p.get("note"),
        default_address={"address1": home, "zip": "1000"} if home else None,
        number_of_orders=p.get("shopify_orders"),
        amount_spent=Decimal("700.00") if p.get("shopify_orders") else None,
    )
    session.add(customer)
    session.flush()
    return customer


def _order(session: Session, shop: Shop, buyer: Customer, o: dict[str, Any]) -> Order:
    n = next(NUMBER)
    ship_to = o.get("ship_to")
    if ship_to:
        shipping: dict[str, Any] | None = (
            {"name": ship_to[0], "address1": ship_to[1], "zip": "1000"} if ship_to[1] else None
        )
    else:
        shipping = (
            {
                "name": f"{buyer.first_name or ''} {buyer.last_name or ''}",
                **(buyer.default_address or {}),
            }
            if buyer.default_address
            else None
        )
    attributes = []
    if o.get("heard"):
        attributes.append({"name": "how_did_you_hear", "value": o["heard"]})
    if o.get("handle"):
        attributes.append({"name": "instagram", "value": o["handle"]})
    order = Order(
        shop_id=shop.id,
        shopify_id=f"gid://shopify/Order/{n}",
        customer_id=buyer.id,
        total_price=Decimal(o["total"]),
        shipping_address=shipping,
        discount_codes={"codes": [{"code": c} for c in o.get("codes") or []]},
        note_attributes={"attributes": attributes},
        cancelled_at=utcnow() if o.get("cancelled") else None,
    )
    session.add(order)
    return order


def _of(facts: Facts, cid: int) -> dict[str, Any]:
    return {
        "spend": round(facts.spend.get(cid, 0.0), 2),
        "orders": facts.orders.get(cid, 0),
        "gift_recipients": facts.gift_recipients.get(cid, set()),
        "gift_recipients_who_buy": facts.gift_recipients_who_buy.get(cid, set()),
        "referred": facts.referred.get(cid, set()),
        "referred_revenue": round(facts.referred_revenue.get(cid, 0.0), 2),
        "named_by": facts.named_by.get(cid, set()),
        "colleagues": facts.colleagues.get(cid, set()),
        "household": facts.household.get(cid, set()),
        "handles": sorted(facts.handles.get(cid, [])),
    }
