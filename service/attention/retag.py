"""A shop renamed its attention tag: every open case is attended again, so the new name lands
on its orders and customer and the old one — retired, still Clout's — comes off (see
`attend._managed`). Flow, saved views and agents filtering by the old name see the change
case by case, never a half-renamed shop for longer than the workers take."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.core.config import Settings
from service.core.crypto import TokenVault
from service.core.models import Incident
from service.core.shop_settings import Changed, change
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


def change_settings(
    *,
    session: Session,
    shop_id: int,
    changes: Mapping[str, str],
    by: str,
    defaults: Settings,
    vault: TokenVault,
    now: datetime,
) -> tuple[list[Changed], list[int]]:
    """A merchant's change to their settings, from the CLI or the settings page: applied all
    or none and recorded (`shop_settings.change`); a renamed attention tag marks every open
    case for retagging. The changes, and the cases to ring the workers about."""
    done = change(
        session=session,
        shop_id=shop_id,
        changes=changes,
        by=by,
        defaults=defaults,
        vault=vault,
        now=now,
    )
    renamed = any(c.key == "attention_tag" for c in done)
    return done, (retag_open_cases(session=session, shop_id=shop_id) if renamed else [])
