"""A case's audit trail, written by every path that acts on it, and a closed case leaving
Shopify in step: against the emulator over HTTP, with a real Redis and database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from service.agents.desk import close_case
from service.attention.attend import attend_incident, attend_later
from service.core.audit import case_events
from service.core.db import session_scope
from service.core.models import Incident, Shop, utcnow
from service.dev.devstore.webhooks import order_payload
from service.shopify.shops import register_shop
from tests.support.clout import RunningDevStore, process_delivery_now, record_delivery_now, state
from tests.support.helpers import SHOP
from workers.tasks import admin_factory, tag_settings

ATTENTION = "clout-attention"


@pytest.fixture
def clout(make_app: Callable[..., Flask], devstore: RunningDevStore) -> Flask:
    app = make_app(CLOUT_SHOPIFY_ADMIN_URL=devstore.url)
    with session_scope(state(app).sessions) as session:
        register_shop(
            session=session,
            vault=state(app).vault,
            domain=SHOP,
            access_token=devstore.token,
            now=utcnow(),
        )
    return app


def chargeback(app: Flask, devstore: RunningDevStore, **order_fields: Any) -> tuple[Any, Any]:
    person = devstore.store.add_person("mother@example.org", "Maya", "Ortiz")
    order = devstore.store.add_purchase(person, **order_fields)
    for topic, payload in (
        ("orders/create", order_payload(devstore.store, order)),
        ("disputes/create", {"id": 501, "order_id": order.id, "type": "chargeback"}),
    ):
        assert process_delivery_now(app, record_delivery_now(app, topic=topic, payload=payload))
    return person, order


def the_incident(app: Flask) -> int:
    with session_scope(state(app).sessions) as session:
        return session.scalars(select(Incident.id)).one()


def attend(app: Flask, incident_id: int) -> str:
    clout = state(app)
    common: dict[str, Any] = {
        "sessions": clout.sessions,
        "incident_id": incident_id,
        "admin": admin_factory(clout),
        "shop_settings": tag_settings(clout),
        "now": utcnow(),
    }
    outcome = attend_incident(**common)
    attend_later(**common)
    return outcome


def trail(app: Flask, incident_id: int) -> list[tuple[str, str, dict[str, Any]]]:
    with session_scope(state(app).sessions) as session:
        events = case_events(session=session, incident_ids=[incident_id])[incident_id]
        return [(e.kind, e.by, e.detail or {}) for e in events]


def test_a_tag_shopify_refuses_is_recorded_as_never_having_reached_shopify(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a chargeback on an order that already carries as many tags as Shopify allows
    _, order = chargeback(clout, devstore, tags=[f"t{n}" for n in range(250)])
    incident_id = the_incident(clout)

    # when Clout attends the case
    attend(clout, incident_id)

    # then the trail says the order's tags were refused, and why; the customer's landed
    order_gid = f"gid://shopify/Order/{order.id}"
    events = trail(clout, incident_id)
    refused = [d for kind, _, d in events if kind == "tag_refused"]
    assert [r["gid"] for r in refused] == [order_gid]
    assert "Too many tags" in refused[0]["why"]
    tagged = [d["gid"] for kind, _, d in events if kind == "tagged"]
    assert order_gid not in tagged
    assert any(gid.startswith("gid://shopify/Customer/") for gid in tagged)
    assert ATTENTION not in order.tags


def test_the_trail_tells_the_case_from_signal_to_resolution_and_shopify_follows(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a chargeback Clout has attended: tags and metafields in Shopify
    person, order = chargeback(clout, devstore)
    incident_id = the_incident(clout)
    assert attend(clout, incident_id) == "attended"
    assert ATTENTION in order.tags
    assert ("clout", "attention_priority") in person.metafields

    # when an agent resolves it on the page with a note, and the worker attends the closed case
    with session_scope(state(clout).sessions) as session:
        shop = session.scalars(select(Shop)).one()
        done = close_case(
            session=session,
            shop=shop,
            incident_id=incident_id,
            by="page:agent-7",
            now=utcnow(),
            note="Refunded, and sent a handwritten card.",
        )
    assert done is not None
    assert done.outcome == "resolved"
    assert attend(clout, incident_id) == "cleared"

    # then Shopify shows a resolved case: the resolved tag, none of Clout's open-case tags,
    # and no attention metafields saying it is still waiting
    assert "clout-resolved" in order.tags
    assert not [t for t in order.tags if t.startswith("clout-") and t != "clout-resolved"]
    assert not [key for ns, key in person.metafields if key.startswith("attention_")]
    assert ("clout", "influence_band") in person.metafields  # still true of the customer
    # and the trail tells it in order, with who did what
    events = trail(clout, incident_id)
    kinds = [kind for kind, _, _ in events]
    assert kinds[0] == "signal"
    assert kinds.index("decided") < kinds.index("tagged") < kinds.index("resolved")
    resolved = next(e for e in events if e[0] == "resolved")
    assert resolved[1] == "page:agent-7"
    assert resolved[2] == {"note": "Refunded, and sent a handwritten card."}
    after = kinds[kinds.index("resolved") :]
    assert "untagged" in after
    assert "metafields_cleared" in after
    untagged = [d for kind, _, d in events if kind == "untagged"]
    assert any(ATTENTION in d["tags"] for d in untagged)


def test_a_case_closed_as_not_a_complaint_gets_no_resolved_tag_and_keeps_the_label(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given an attended case
    _, order = chargeback(clout, devstore)
    incident_id = the_incident(clout)
    attend(clout, incident_id)

    # when a person says it was never a complaint
    with session_scope(state(clout).sessions) as session:
        shop = session.scalars(select(Shop)).one()
        close_case(
            session=session,
            shop=shop,
            incident_id=incident_id,
            by="cli:ops",
            now=utcnow(),
            not_a_complaint=True,
        )
    attend(clout, incident_id)

    # then the tags come off without a resolved tag, and the label is kept with who said it
    assert not [t for t in order.tags if t.startswith("clout-")]
    with session_scope(state(clout).sessions) as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        assert (incident.status, incident.resolution, incident.resolved_by) == (
            "resolved",
            "not_a_complaint",
            "cli:ops",
        )
    assert ("not_a_complaint", "cli:ops") in [(k, b) for k, b, _ in trail(clout, incident_id)]
