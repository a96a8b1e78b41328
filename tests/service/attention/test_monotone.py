"""An open case never loses urgency: a profile recomputed lower while the case is open leaves
its priority, deadline and influence tags as the agent last saw them, and Shopify sees no
`tagsRemove` of them. Against the emulator over HTTP, with a real Redis and database."""

from __future__ import annotations

from decimal import Decimal

from flask import Flask
from sqlalchemy import select

from service.core.db import session_scope
from service.core.models import Customer, Incident, InfluenceProfile, utcnow
from service.dev.devstore.store import Refund as DevRefund
from service.dev.devstore.webhooks import order_payload, refund_payload
from tests.support.clout import (
    RunningDevStore,
    attend_now,
    process_delivery_now,
    record_delivery_now,
    state,
)


def set_profile(app: Flask, customer_gid: str, *, clout: float, contagion: int) -> None:
    """The customer's profile as a recomputation would leave it (complete, computed now)."""
    with session_scope(state(app).sessions) as session:
        found = select(Customer).where(Customer.shopify_id == customer_gid)
        customer = session.scalars(found).one()
        profile = session.scalar(
            select(InfluenceProfile).where(InfluenceProfile.customer_id == customer.id)
        ) or InfluenceProfile(shop_id=customer.shop_id, customer_id=customer.id)
        profile.clout_score, profile.klout_score = clout, None
        profile.contagion, profile.complete, profile.computed_at = contagion, True, utcnow()
        session.add(profile)


def the_incident(app: Flask) -> Incident:
    with session_scope(state(app).sessions) as session:
        return session.scalars(select(Incident)).one()


def test_a_lower_profile_while_open_leaves_the_case_urgent(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given Maya's full refund, raised to urgent by her clout and unhappy friends
    maya = devstore.store.add_person("maya@example.org", "Maya", "Ortiz")
    order = devstore.store.add_purchase(maya, total=Decimal("40.00"))
    order.refunds.append(
        DevRefund(id=devstore.store.next_id(), created_at=utcnow(), note=None, amount=order.total)
    )
    for topic, payload in (
        ("orders/create", order_payload(devstore.store, order)),
        ("refunds/create", refund_payload(order)),
    ):
        assert process_delivery_now(clout, record_delivery_now(clout, topic=topic, payload=payload))
    set_profile(clout, maya.gid, clout=95.0, contagion=3)
    attend_now(clout, the_incident(clout).id)
    raised = the_incident(clout)
    assert raised.priority == "urgent"
    assert {"clout-priority-urgent", "clout-influence-high"} <= set(order.tags)
    removals = devstore.admin.stats.mutations.get("tagsRemove", 0)

    # when her profile is recomputed and now reads low, and the case is attended again
    set_profile(clout, maya.gid, clout=3.0, contagion=0)
    with session_scope(state(clout).sessions) as session:
        found = session.get(Incident, raised.id)
        assert found is not None
        found.needs_attention = True
    attend_now(clout, raised.id)

    # then the agent still sees it urgent, as soon, and Shopify saw no tag taken off
    after = the_incident(clout)
    assert after.priority == "urgent"
    assert after.deadline_at == raised.deadline_at
    assert {"clout-priority-urgent", "clout-influence-high", "clout-contagion"} <= set(order.tags)
    assert "clout-priority-high" not in order.tags
    assert devstore.admin.stats.mutations.get("tagsRemove", 0) == removals
