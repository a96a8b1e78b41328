"""A shop renamed its attention tag: every open case is attended again, so the new name lands
on its orders and customer and the old one — retired, still Clout's — comes off (see
`attend._managed`). Flow, saved views and agents filtering by the old name see the change
case by case, never a half-renamed shop for longer than the workers take."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.core.models import Incident
from service.core.vocabulary import IncidentStatus


def retag_open_cases(*, session: Session, shop_id: int) -> list[int]:
    """Mark the shop's open cases for attendance; their ids, to ring the workers with."""
    cases = session.scalars(
        select(Incident).where(Incident.shop_id == shop_id, Incident.status == IncidentStatus.OPEN)
    ).all()
    for incident in cases:
        incident.needs_attention = True
        # What Clout wrote does not include the new name: the floor's push adds it.
    return [incident.id for incident in cases]
