"""Signals of unhappiness, folded into one open incident per customer.

A signal is kept once per (source, source reference, reason): a redelivered webhook or a rerun
check adds nothing. A customer's signals go into their open incident, whose severity is the
highest of its signals; a signal after the incident was resolved opens a new one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.core.models import Customer, Incident, Order, Shop, Signal

SEVERITIES = ("low", "normal", "high", "critical")


def worse(a: str, b: str) -> str:
    return a if SEVERITIES.index(a) >= SEVERITIES.index(b) else b


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
    kind: str,
    reason: str,
    severity: str,
    sentences: Sequence[str],
    source: str,
    source_ref: str,
    occurred_at: datetime,
    now: datetime,
    extra: dict[str, Any] | None = None,
    revisable: bool = False,
) -> Raised:
    """Record a signal (idempotently) and fold it into the customer's open incident.

    `revisable`: the source is one event whose reading can change as more is known (a refund
    is "partial" until the order's total arrives, then "full"): it stays one signal, revised
    when the new reading is at least as severe, rather than becoming a second signal."""
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}")
    if revisable:
        earlier = session.scalar(
            select(Signal).where(
                Signal.shop_id == shop.id,
                Signal.source == source,
                Signal.source_ref == source_ref,
                Signal.kind == kind,
            )
        )
        if earlier is not None:
            _revise(earlier, reason=reason, severity=severity, sentences=sentences, extra=extra)
            return Raised(earlier, earlier.incident, new_signal=False, new_incident=False)
    existing = session.scalar(
        select(Signal).where(
            Signal.shop_id == shop.id,
            Signal.source == source,
            Signal.source_ref == source_ref,
            Signal.reason == reason,
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
            status="open",
            severity=severity,
            opened_at=now,
        )
        session.add(incident)
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError:
            # Another worker opened the customer's incident a moment ago: join it.
            incident = open_incident(session=session, shop=shop, customer=customer)
            if incident is None:
                raise
            new_incident = False
    incident.severity = worse(incident.severity, severity)
    incident.needs_attention = True
    signal = Signal(
        shop_id=shop.id,
        incident_id=incident.id,
        customer_id=customer.id,
        order_id=order.id if order is not None else None,
        kind=kind,
        reason=reason,
        severity=severity,
        detail={"sentences": list(sentences), **(extra or {})},
        source=source,
        source_ref=source_ref,
        occurred_at=occurred_at,
        recorded_at=now,
    )
    session.add(signal)
    session.flush()
    return Raised(signal, incident, new_signal=True, new_incident=new_incident)


def _revise(
    signal: Signal,
    *,
    reason: str,
    severity: str,
    sentences: Sequence[str],
    extra: dict[str, Any] | None,
) -> None:
    if signal.reason == reason or SEVERITIES.index(severity) < SEVERITIES.index(signal.severity):
        return  # nothing new, or a milder reading (a late, partial view) that changes nothing
    signal.reason = reason
    signal.severity = severity
    signal.detail = {"sentences": list(sentences), **(extra or {})}
    incident = signal.incident
    if incident.status == "open":
        incident.severity = worse(incident.severity, severity)
        incident.needs_attention = True


def open_incident(*, session: Session, shop: Shop, customer: Customer) -> Incident | None:
    return session.scalar(
        select(Incident).where(
            Incident.shop_id == shop.id,
            Incident.customer_id == customer.id,
            Incident.status == "open",
        )
    )


def resolve_incident(*, session: Session, incident: Incident, by: str, now: datetime) -> bool:
    """Close the case (a person added the resolved tag, removed the attention tag, or used the
    agents' page). False if it was already resolved."""
    if incident.status != "open":
        return False
    incident.status = "resolved"
    incident.resolved_at = now
    incident.resolved_by = by
    session.flush()
    return True
