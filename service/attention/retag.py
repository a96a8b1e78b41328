"""A shop renamed its attention tag: every open case is attended again, so the new name lands
on its orders and customer and the old one — retired, still Clout's — comes off (see
`attend._managed`). Flow, saved views and agents filtering by the old name see the change
case by case, never a half-renamed shop for longer than the workers take."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.core import shop_settings
from service.core.config import Settings
from service.core.crypto import TokenVault
from service.core.models import Incident
from service.core.shop_settings import Changed, change
from service.core.vocabulary import IncidentStatus
from service.influence import profiles


def retag_open_cases(
    *, session: Session, shop_id: int, renamed: bool = True, now: datetime | None = None
) -> list[int]:
    """Mark the shop's open cases for attendance; their ids, to ring the workers with. With
    `renamed`, the attention tag they carry is no longer the shop's: until the new name lands
    each case is pending again, as it was before its first tag (not announced a second time:
    the workers are on it within seconds, and `clout doctor` and the lists show it)."""
    cases = session.scalars(
        select(Incident).where(Incident.shop_id == shop_id, Incident.status == IncidentStatus.OPEN)
    ).all()
    for incident in cases:
        incident.needs_attention = True
        if renamed:
            # What Clout wrote does not include the new name: the floor's push adds it.
            incident.tagged_at = None
            incident.pending_alerted_at = incident.pending_alerted_at or now
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
    case for retagging, a new opt-out tag reads every profile again by it. The changes, and
    the cases to ring the workers about."""
    done = change(
        session=session,
        shop_id=shop_id,
        changes=changes,
        by=by,
        defaults=defaults,
        vault=vault,
        now=now,
    )
    if any(c.key == "opt_out_tag" for c in done):
        profiles.opt_out_tag_changed(
            session=session,
            shop_id=shop_id,
            opt_out_tag=shop_settings.opt_out_tag_of(
                session=session, shop_id=shop_id, default=defaults.opt_out_tag
            ),
            now=now,
        )
    renamed = any(c.key == "attention_tag" for c in done)
    # A new deadline applies to open cases too (only ever bringing one closer: a case never
    # waits longer than it was promised).
    redecide = renamed or any(c.key.startswith("deadline.") for c in done)
    if not redecide:
        return done, []
    return done, retag_open_cases(session=session, shop_id=shop_id, renamed=renamed, now=now)
