"""Signals of unhappiness, folded into one open incident per customer.

A signal is kept once per (source, source reference, reason): a redelivered webhook or a rerun
check adds nothing. A customer's signals go into their open incident, whose severity is the
highest of its signals; a signal after the incident was resolved opens a new one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.core.audit import record_event
from service.core.models import Customer, Incident, Order, Shop, Signal
from service.core.vocabulary import CaseEvent, IncidentStatus, Severity, SignalKind

NOT_A_COMPLAINT = "not_a_complaint"
# Marks a reopened case leaves on each Shopify record in `Incident.tag_state`, read by
# attendance (`attention.attend`): REOPENED_AT says Clout is putting the case back, so until an
# `orders/updated` shows the attention tag back and the resolved tag gone, what Shopify reports
# is Clout's own work in flight, not a person closing the case again; CLEAR_RESOLVED says the
# resolved tag (and the customer's `resolved_at` metafield) still has to come off, before the
# attention tag goes back on.
REOPENED_AT = "reopened_at"
CLEAR_RESOLVED = "clear_resolved"


@dataclass(frozen=True)
class SignalDraft:
    """One sign of unhappiness as a rule reads it, before it is recorded.

    `source`/`source_ref` name the event (a Shopify refund, a review) so a redelivery adds
    nothing; `revisable`: the event's reading can change as more is known (a refund is
    "partial" until the order's total arrives, then "full"), so it stays one signal, revised
    when the new reading is at least as severe, rather than becoming a second one."""

    kind: SignalKind
    reason: str
    severity: Severity
    sentences: tuple[str, ...]
    source: str
    source_ref: str
    occurred_at: datetime
    extra: Mapping[str, Any] = field(default_factory=dict)
    revisable: bool = False


@dataclass(frozen=True)
class Raised:
    signal: Signal
    incident: Incident
    new_signal: bool
    new_incident: bool


def raise_signal(
    *,
    session: Session,
    shop: Shop,
    customer: Customer,
    order: Order | None,
    draft: SignalDraft,
    now: datetime,
) -> Raised:
    """Record a signal (idempotently) and fold it into the customer's open incident."""
    if draft.revisable:
        earlier = session.scalar(
            select(Signal).where(
                Signal.shop_id == shop.id,
                Signal.source == draft.source,
                Signal.source_ref == draft.source_ref,
                Signal.kind == draft.kind,
            )
        )
        if earlier is not None:
            _revise(earlier, draft)
            return Raised(earlier, earlier.incident, new_signal=False, new_incident=False)
    existing = session.scalar(
        select(Signal).where(
            Signal.shop_id == shop.id,
            Signal.source == draft.source,
            Signal.source_ref == draft.source_ref,
            Signal.reason == draft.reason,
        )
    )
    if existing is not None:
        return Raised(existing, existing.incident, new_signal=False, new_incident=False)

    session.flush()
    incident = open_incident(session=session, shop=shop, customer=customer)
    new_incident = incident is None
    if incident is None:
        incident = Incident(
            shop_id=shop.id,
            customer_id=customer.id,
            status=IncidentStatus.OPEN,
            severity=draft.severity,
            opened_at=now,
        )
        try:
            with session.begin_nested():
                session.add(incident)
                session.flush()
        except IntegrityError:
            # Another worker opened the customer's incident a moment ago: join it.
            incident = open_incident(session=session, shop=shop, customer=customer)
            if incident is None:
                raise
            new_incident = False
    incident.severity = incident.severity.worse(draft.severity)
    incident.needs_attention = True
    signal = Signal(
        shop_id=shop.id,
        incident_id=incident.id,
        customer_id=customer.id,
        order_id=order.id if order is not None else None,
        kind=draft.kind,
        reason=draft.reason,
        severity=draft.severity,
        detail={"sentences": list(draft.sentences), **draft.extra},
        source=draft.source,
        source_ref=draft.source_ref,
        occurred_at=draft.occurred_at,
        recorded_at=now,
    )
    session.add(signal)
    record_event(
        session=session,
        incident=incident,
        kind=CaseEvent.SIGNAL,
        by=draft.source,
        at=now,
        detail={"kind": draft.kind.value, "reason": draft.reason, "severity": draft.severity.value},
    )
    session.flush()
    return Raised(signal, incident, new_signal=True, new_incident=new_incident)


def _revise(signal: Signal, draft: SignalDraft) -> None:
    if signal.reason == draft.reason or draft.severity.rank < signal.severity.rank:
        return  # nothing new, or a milder reading (a late, partial view) that changes nothing
    signal.reason = draft.reason
    signal.severity = draft.severity
    signal.detail = {"sentences": list(draft.sentences), **draft.extra}
    incident = signal.incident
    if incident.status == IncidentStatus.OPEN:
        incident.severity = incident.severity.worse(draft.severity)
        incident.needs_attention = True


def locked_incident(session: Session, incident_id: int) -> Incident | None:
    """The case, read afresh and locked until this transaction ends. What Clout wrote on each
    order (`tag_state`) is read, changed and written back as one JSON value, by the floor's
    record and by a webhook noting a person's resolve alike: on PostgreSQL the later of two
    such writes would drop the other's mark, so each waits for the row. `FOR NO KEY UPDATE`:
    it makes those writers take turns, and leaves alone what only refers to the case (a new
    signal, an event or an outbox row inserted meanwhile). (SQLite's writers already take
    turns: `BEGIN IMMEDIATE`; there no lock clause is sent.)"""
    return session.get(
        Incident, incident_id, with_for_update={"key_share": True}, populate_existing=True
    )


def open_incident(*, session: Session, shop: Shop, customer: Customer) -> Incident | None:
    return session.scalar(
        select(Incident).where(
            Incident.shop_id == shop.id,
            Incident.customer_id == customer.id,
            Incident.status == IncidentStatus.OPEN,
        )
    )


def resolve_incident(
    *,
    session: Session,
    incident: Incident,
    by: str,
    now: datetime,
    note: str | None = None,
    resolution: str = "resolved",
) -> bool:
    """Close the case (a person added the resolved tag, removed the attention tag, or used the
    agents' page or the CLI), with who, when and their note in the case's trail. `resolution`
    "not_a_complaint" is a person saying it never was one: the label the complaint detector is
    evaluated against. False if it was already closed."""
    if incident.status != IncidentStatus.OPEN:
        return False
    incident.status = IncidentStatus.RESOLVED
    incident.resolved_at = now
    incident.resolved_by = by[:32]
    incident.resolution = resolution
    incident.resolution_note = note or None
    incident.snoozed_until = None
    record_event(
        session=session,
        incident=incident,
        kind=CaseEvent.NOT_A_COMPLAINT if resolution == NOT_A_COMPLAINT else CaseEvent.RESOLVED,
        by=by,
        at=now,
        detail={"note": note} if note else None,
    )
    session.flush()
    return True


def carry_over_after(
    *, session: Session, incident: Incident, after: datetime, now: datetime
) -> Incident | None:
    """The signals of a case just closed that Clout recorded after `after` — when the person
    who closed it acted, by Shopify's clock — as a new open case of the same customer: a close
    read late (webhooks are unordered, a queue runs behind) covers what the person could have
    seen, not a complaint that came after it. In order, that complaint would have opened a new
    case; so it does. None when no signal came after."""
    later = [s for s in incident.signals if s.recorded_at > after]
    if incident.status == IncidentStatus.OPEN or not later:
        return None
    kept = [s for s in incident.signals if s.recorded_at <= after]
    if kept:
        incident.severity = _worst(kept)
    case = Incident(
        shop_id=incident.shop_id,
        customer_id=incident.customer_id,
        status=IncidentStatus.OPEN,
        severity=_worst(later),
        opened_at=now,
        first_seen_at=min(s.recorded_at for s in later),
        needs_attention=True,
    )
    session.add(case)
    session.flush()
    for signal in later:
        signal.incident_id = case.id
        record_event(
            session=session,
            incident=case,
            kind=CaseEvent.SIGNAL,
            by=signal.source,
            at=now,
            detail={
                "kind": signal.kind.value,
                "reason": signal.reason,
                "severity": signal.severity.value,
                "after_close_of": incident.id,
            },
        )
    session.flush()
    session.expire(incident, ["signals"])
    return case


def _worst(signals: list[Signal]) -> Severity:
    worst = signals[0].severity
    for signal in signals[1:]:
        worst = worst.worse(signal.severity)
    return worst


def reopen_incident(*, session: Session, incident: Incident, by: str, now: datetime) -> bool:
    """Undo a close: the case is open again with what it held (priority, deadline, signals,
    who it was assigned to), and Shopify is to be brought back in step — the resolved tag off
    first, then Clout's tags on again. False if it was not closed, or if the customer has
    another open case already (a signal after the close opened it): that one is the case now.
    """
    if locked_incident(session, incident.id) is None or incident.status == IncidentStatus.OPEN:
        return False
    other = session.scalar(
        select(Incident.id).where(
            Incident.shop_id == incident.shop_id,
            Incident.customer_id == incident.customer_id,
            Incident.status == IncidentStatus.OPEN,
        )
    )
    if other is not None:
        return False
    try:
        with session.begin_nested():
            _reopen(session=session, incident=incident, by=by, now=now)
    except IntegrityError:
        return False  # a case of the customer's opened meanwhile: that one is the case now
    return True


def _reopen(*, session: Session, incident: Incident, by: str, now: datetime) -> None:
    was = {"resolution": incident.resolution, "resolved_by": incident.resolved_by}
    incident.status = IncidentStatus.OPEN
    incident.resolved_at = None
    incident.resolved_by = None
    incident.resolution = None
    incident.resolution_note = None
    # Clearance took Clout's tags off: nothing of Clout's is known to be there now, so the
    # floor writes them all again (after the resolved tag is off).
    stamp = now.isoformat()
    incident.tag_state = {
        gid: {"tags": [], "written_at": stamp, REOPENED_AT: stamp, CLEAR_RESOLVED: True}
        for gid in (incident.tag_state or {})
    }
    # Pending until the attention tag has landed again: nothing silent.
    incident.tagged_at = None
    incident.needs_attention = True
    record_event(
        session=session, incident=incident, kind=CaseEvent.REOPENED, by=by, at=now, detail=was
    )
    session.flush()
