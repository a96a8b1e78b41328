"""A case's audit trail: what happened to an incident, when, and who did it.

Every path that acts on a case writes here in the same transaction as the act itself, so the
trail cannot say something happened that did not (or miss what did). The agents' page shows
it as the case's timeline; the customer's data request exports it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.core.models import Incident, IncidentEvent
from service.core.vocabulary import CaseEvent

CLOUT = "clout"  # `by` for what Clout did by itself (decisions, tags, escalations)


def record_event(
    *,
    session: Session,
    incident: Incident,
    kind: CaseEvent,
    by: str,
    at: datetime,
    detail: dict[str, Any] | None = None,
) -> IncidentEvent:
    event = IncidentEvent(
        shop_id=incident.shop_id,
        incident_id=incident.id,
        at=at,
        kind=kind.value,
        by=by[:64],
        detail=detail or None,
    )
    session.add(event)
    return event


def case_events(*, session: Session, incident_ids: list[int]) -> dict[int, list[IncidentEvent]]:
    """Each case's trail, oldest first."""
    trail: dict[int, list[IncidentEvent]] = {i: [] for i in incident_ids}
    if not incident_ids:
        return trail
    for event in session.scalars(
        select(IncidentEvent)
        .where(IncidentEvent.incident_id.in_(incident_ids))
        .order_by(IncidentEvent.at, IncidentEvent.id)
    ):
        trail[event.incident_id].append(event)
    return trail
