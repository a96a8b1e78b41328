"""A case's audit trail, written by every path that acts on it, and a closed case leaving
Shopify in step: against the emulator over HTTP, with a real Redis and database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy import select

from service.agents.desk import close_case, reopen_case
from service.attention.attend import attend_incident, attend_later
from service.core.audit import case_events
from service.core.db import session_scope
from service.core.models import Incident, Shop, utcnow
from service.deliveries import lifecycle
from service.deliveries.topics import TOPIC_HANDLERS
from service.dev.devstore.webhooks import order_payload
from tests.support.clout import (
    RunningDevStore,
    chargeback,
    record_delivery_now,
    state,
    the_incident,
)
from workers.tasks import admin_factory, tag_settings

ATTENTION = "clout-attention"


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


def deliver_tags_echo(app: Flask, payload: dict[str, Any]) -> None:
    """An `orders/updated` Shopify sent after a tag change, handled as a worker would (with
    the shop's tag settings, so tags are read against what Clout wrote)."""
    clout = state(app)
    delivery_id = record_delivery_now(app, topic="orders/updated", payload=payload)
    with app.app_context():
        lifecycle.process_delivery(
            sessions=clout.sessions,
            delivery_id=delivery_id,
            handlers=TOPIC_HANDLERS,
            max_attempts=1,
            stale_after=600,
            tag_settings=tag_settings(clout),
        )


def status_of(app: Flask, incident_id: int) -> str:
    with session_scope(state(app).sessions) as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        return str(incident.status)


def test_undoing_a_resolve_takes_the_resolved_tag_off_before_the_attention_tag_goes_back(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a case an agent resolved on the page: Shopify shows it resolved
    person, order = chargeback(clout, devstore)
    incident_id = the_incident(clout)
    attend(clout, incident_id)
    with session_scope(state(clout).sessions) as session:
        shop = session.scalars(select(Shop)).one()
        close_case(
            session=session, shop=shop, incident_id=incident_id, by="page:agent-7", now=utcnow()
        )
    attend(clout, incident_id)
    assert "clout-resolved" in order.tags
    # and every orders/updated Shopify sends from now on is kept, as it read at the time
    echoes: list[dict[str, Any]] = []
    devstore.store.listeners.append(
        lambda topic, subject: (
            echoes.append(order_payload(devstore.store, subject))
            if topic == "orders/updated"
            else None
        )
    )

    # when the agent undoes the resolve and the worker attends the case
    with session_scope(state(clout).sessions) as session:
        shop = session.scalars(select(Shop)).one()
        done = reopen_case(
            session=session, shop=shop, incident_id=incident_id, by="page:agent-7", now=utcnow()
        )
    assert done is not None
    assert attend(clout, incident_id) == "attended"

    # then Shopify shows an open case again: the attention tag, no resolved tag, the case's
    # metafields back on the customer and no resolved_at
    assert ATTENTION in order.tags
    assert "clout-resolved" not in order.tags
    assert ("clout", "attention_priority") in person.metafields
    assert ("clout", "resolved_at") not in person.metafields
    # and Shopify never read the case as both waiting and resolved: the resolved tag went first
    assert echoes, "the emulator sent no orders/updated"
    assert "clout-resolved" not in echoes[0]["tags"]
    assert ATTENTION not in echoes[0]["tags"]
    assert not [e for e in echoes if ATTENTION in e["tags"] and "clout-resolved" in e["tags"]]

    # when those echoes reach Clout, the oldest last (webhooks are unordered)
    for payload in reversed(echoes):
        deliver_tags_echo(clout, payload)

    # then none of Clout's own in-between states closes the case again
    assert status_of(clout, incident_id) == "open"
    # and the trail tells the undo: who reopened it, the resolved tag off, Clout's tags back
    events = trail(clout, incident_id)
    kinds = [kind for kind, _, _ in events]
    reopened = kinds.index("reopened")
    assert events[reopened][1] == "page:agent-7"
    after = events[reopened:]
    untagged = [d["tags"] for kind, _, d in after if kind == "untagged"]
    tagged = [d["tags"] for kind, _, d in after if kind == "tagged"]
    assert ["clout-resolved"] in untagged
    assert any(ATTENTION in tags for tags in tagged)
    assert kinds.index("untagged", reopened) < kinds.index("tagged", reopened)


def test_after_an_undo_a_person_can_still_resolve_the_case_by_tag(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a case resolved, reopened, and back in step in Shopify (its echo seen)
    _, order = chargeback(clout, devstore)
    incident_id = the_incident(clout)
    attend(clout, incident_id)
    with session_scope(state(clout).sessions) as session:
        shop = session.scalars(select(Shop)).one()
        close_case(session=session, shop=shop, incident_id=incident_id, by="cli:ops", now=utcnow())
    attend(clout, incident_id)
    with session_scope(state(clout).sessions) as session:
        shop = session.scalars(select(Shop)).one()
        reopen_case(session=session, shop=shop, incident_id=incident_id, by="cli:ops", now=utcnow())
    attend(clout, incident_id)
    deliver_tags_echo(clout, order_payload(devstore.store, order))
    assert status_of(clout, incident_id) == "open"

    # when a person adds the resolved tag in the Shopify admin
    order.tags = sorted({*order.tags, "clout-resolved"})
    order.updated_at = datetime.now(UTC)
    deliver_tags_echo(clout, order_payload(devstore.store, order))

    # then the case closes, as the resolved tag always closes it
    assert status_of(clout, incident_id) == "resolved"
    assert ("resolved", "resolved-tag") in [(k, b) for k, b, _ in trail(clout, incident_id)]
