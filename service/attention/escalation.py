"""Overdue incidents escalate: one priority step up, a shorter deadline, a notification
(recorded in the outbox with the escalation, sent once it has committed)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, sessionmaker

from service.attention import outbox
from service.attention.notify import Notifier
from service.attention.pending import of_connected_shop
from service.core.audit import CLOUT, record_event
from service.core.db import session_scope
from service.core.logs import get_logger
from service.core.models import Customer, Incident, Order, Shop
from service.core.vocabulary import (
    CaseEvent,
    Floor,
    IncidentStatus,
    Priority,
    Severity,
)
from service.shopify.ids import legacy_id

log = get_logger(__name__)

MAX_ESCALATIONS = 3


def due_by(when: datetime) -> tuple[ColumnElement[bool], ...]:
    """Open incidents whose deadline had passed by `when` and that may still escalate: what
    the beat escalates (`when` now), and what the doctor finds it left alone (`when` a while
    ago)."""
    return (
        Incident.status == IncidentStatus.OPEN,
        Incident.deadline_at.is_not(None),
        Incident.deadline_at <= when,
        Incident.escalations < MAX_ESCALATIONS,
        of_connected_shop(),  # back, its cases are attended again and escalate from there
    )


def escalate_overdue(
    *,
    session: Session,
    now: datetime,
    floors: Callable[[int], Mapping[Severity, Floor]],
    notifier: Callable[[int], Notifier],
) -> list[int]:
    """Open incidents past their deadline: marked overdue, one priority step up, a notification,
    and a new (shorter) deadline, at most MAX_ESCALATIONS times."""
    due = session.scalars(select(Incident).where(*due_by(now))).all()
    escalated = []
    for incident in due:
        incident.escalations += 1
        incident.overdue_at = incident.overdue_at or now
        was = incident.priority
        incident.priority = (incident.priority or Priority.NORMAL).raised(1)
        # An urgent case cannot rise further: say so rather than claim a rise.
        moved = "still" if incident.priority == was else "now"
        floor = floors(incident.shop_id)[incident.severity]
        incident.deadline_at = now + timedelta(hours=floor.hours / 2**incident.escalations)
        incident.needs_attention = True
        shop = session.get(Shop, incident.shop_id)
        customer = session.get(Customer, incident.customer_id)
        reasons = [
            s for signal in incident.signals for s in (signal.detail or {}).get("sentences", [])
        ]
        orders = [session.get(Order, s.order_id) for s in incident.signals if s.order_id]
        names = (
            ", ".join(sorted({o.name for o in orders if o is not None and o.name})) or "no order"
        )
        link = (
            f"https://admin.shopify.com/store/{shop.domain.removesuffix('.myshopify.com')}/customers/{legacy_id(customer.shopify_id)}"
            if shop and customer and customer.shopify_id.startswith("gid://shopify/Customer/")
            else None
        )
        notice = {
            "subject": f"Overdue: unhappy customer waiting "
            f"({incident.severity}, {moved} {incident.priority})",
            "message": f"Orders {names}. Why: {'; '.join(reasons[:5]) or 'see Clout'}."
            + (f"\n{link}" if link else ""),
            "data": {
                "incident": incident.id,
                "shop": shop.domain if shop else None,
                "severity": incident.severity,
                "priority": incident.priority,
                "escalations": incident.escalations,
                "orders": names,
                "reasons": reasons[:10],
                "admin_url": link,
            },
            # Whether each channel was told goes in the case's trail once its send settles
            # (`outbox.settle`), not now: recorded, the notice has reached nobody yet.
            "trail": outbox.trail_of(cases=[incident.id], why="overdue"),
        }
        # Recorded here, in the escalation's own transaction, and sent after it commits
        # (`deliver_notices`): one notice per escalation and channel, whatever crashes when.
        channels = notifier(incident.shop_id).channels()
        for kind in channels:
            outbox.stage(
                session=session,
                shop_id=incident.shop_id,
                incident_id=incident.id,
                kind=kind,
                key=f"escalation:{incident.id}:{incident.escalations}:{kind}",
                payload=notice,
                now=now,
            )
        record_event(
            session=session,
            incident=incident,
            kind=CaseEvent.ESCALATED,
            by=CLOUT,
            at=now,
            detail={
                "priority": incident.priority.value,
                "deadline_at": incident.deadline_at.isoformat(),
                "escalations": incident.escalations,
            },
        )
        log.warning(
            "incident_overdue",
            incident_id=incident.id,
            escalations=incident.escalations,
            notifying=[str(kind) for kind in channels],
        )
        escalated.append(incident.id)
    return escalated


def deliver_notices(
    *,
    sessions: sessionmaker[Session],
    notifier: Callable[[int], Notifier],
    now: Callable[[], datetime],
) -> int:
    """Send every notice waiting in the outbox (just recorded, or left by a worker that died
    before sending), each on its channel; how many were sent. Each send that settles is
    written in its cases' trails (`outbox.settle`)."""
    with session_scope(sessions) as session:
        keys = outbox.due(session=session, now=now())
    sent = 0
    for key in keys:
        outcome = outbox.send_effect(
            sessions=sessions,
            key=key,
            send=lambda effect: notifier(effect.shop_id).deliver(effect),
            now=now,
        )
        sent += outcome == outbox.Outcome.SENT
    return sent
