"""The support desk's actions on a case: resolve with a note, close as not a complaint, assign,
snooze — the same functions behind the agents' page and `clout incidents`, so each has the
same effect wherever it is done (the tag in the Shopify admin arrives at the same
`resolve_incident`).

The attention floor holds through all of them: while a case is open it keeps its attention
tag, priority and deadline. A snooze only takes the case out of the queue's default view until
a time; it never moves the deadline, and escalation still runs on it. Closing a case is an
explicit decision of a named person, recorded with who, when and their note in the case's
trail; the worker then takes Clout's tags and metafields off in Shopify.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.core.audit import record_event
from service.core.db import can_store
from service.core.models import Incident, Shop
from service.core.vocabulary import DESK_ACTORS, CaseEvent, IncidentStatus
from service.signals.incidents import (
    NOT_A_COMPLAINT,
    carry_over_after,
    reopen_incident,
    resolve_incident,
)

MAX_NOTE = 2_000
MAX_SNOOZE = timedelta(days=14)
MAX_BULK = 100


class DeskRefused(ValueError):
    """An action the desk cannot take as asked (a note too long, a snooze past 14 days…);
    `outcome` names the refusal for programs, the message says it to a person."""

    def __init__(self, outcome: str, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome


class CaseStateRefused(DeskRefused):
    """A well-formed action the case, as it is now, does not allow: it is closed, it is open
    already, or the customer has a newer open case. Asked again after the case changes, the
    same action may be taken, so callers tell it apart from a request that is wrong in itself
    (the page and the blocks answer it 409, the rest of `DeskRefused` 400)."""


@dataclass(frozen=True)
class Done:
    incident_id: int
    outcome: str  # resolved, not_a_complaint, reopened, assigned, snoozed, already_closed
    # A close that left out what the person could not have seen: the new open case holding it.
    carried_over: int | None = None

    @property
    def changes_shopify(self) -> bool:
        """A close or a reopen changes the tags Shopify should show, so the worker must be
        rung to bring Shopify in step; an assign, a snooze or a repeated close does not."""
        return self.outcome in ("resolved", "not_a_complaint", "reopened")


def _case(*, session: Session, shop: Shop, incident_id: int) -> Incident | None:
    # Another shop's case is answered exactly like one that does not exist.
    return session.scalar(
        select(Incident)
        .where(Incident.id == incident_id, Incident.shop_id == shop.id)
        # Locked and read afresh: two agents acting on one case at once take turns, and the
        # second sees what the first did (closed already, not closed twice).
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )


def _lock_in_order(*, session: Session, shop: Shop, incident_ids: list[int]) -> None:
    # Several cases in one transaction: locked in one order (by id), so two bulk actions over
    # overlapping cases wait for each other instead of deadlocking.
    session.scalars(
        select(Incident.id)
        .where(Incident.id.in_(incident_ids), Incident.shop_id == shop.id)
        .order_by(Incident.id)
        .with_for_update(key_share=True)
    ).all()


def _checked(by: str, note: str | None) -> str | None:
    if not by.startswith(DESK_ACTORS):
        raise ValueError(f"a desk action is recorded as one of {DESK_ACTORS} and who")
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise DeskRefused("note_too_long", f"a note is at most {MAX_NOTE} characters")
    if note is not None and not can_store(note):
        raise DeskRefused("note_not_text", "a note cannot hold NUL or unpaired surrogates")
    return note


def close_case(
    *,
    session: Session,
    shop: Shop,
    incident_id: int,
    by: str,
    now: datetime,
    note: str | None = None,
    not_a_complaint: bool = False,
    seen_at: datetime | None = None,
) -> Done | None:
    """Resolve the case, or close it as never a complaint (the label the detector is measured
    against). None when it is not this shop's. Closing a closed case changes nothing.

    `seen_at` is when the person read the case (the page's queue, the admin block's case): a
    signal Clout recorded after it joined the open case unseen, so it is no part of this
    decision and becomes a new open case (`Done.carried_over`) instead of being closed."""
    note = _checked(by, note)
    incident = _case(session=session, shop=shop, incident_id=incident_id)
    if incident is None:
        return None
    resolution = NOT_A_COMPLAINT if not_a_complaint else "resolved"
    if not resolve_incident(
        session=session, incident=incident, by=by, now=now, note=note, resolution=resolution
    ):
        return Done(incident.id, "already_closed")
    # The worker writes the resolved tag (not for "not a complaint") and takes Clout's tags
    # and the case's metafields off in Shopify.
    incident.needs_attention = True
    later = None
    if seen_at is not None:
        later = carry_over_after(
            session=session, incident=incident, after=min(seen_at, now), now=now
        )
    return Done(incident.id, resolution, carried_over=later.id if later else None)


def reopen_case(
    *, session: Session, shop: Shop, incident_id: int, by: str, now: datetime
) -> Done | None:
    """Undo a close (the page's Undo, a resolved case reopened): open again with the priority
    and deadline it had — the customer has been waiting all along, so the deadline is not
    pushed out — and the worker takes the resolved tag off, then puts Clout's tags back. None
    when it is not this shop's."""
    _checked(by, None)
    incident = _case(session=session, shop=shop, incident_id=incident_id)
    if incident is None:
        return None
    if incident.status == IncidentStatus.OPEN:
        raise CaseStateRefused("already_open", "the case is open already")
    if not reopen_incident(session=session, incident=incident, by=by, now=now):
        if IncidentStatus(incident.status) is IncidentStatus.OPEN:  # reopened meanwhile (re-read)
            raise CaseStateRefused("already_open", "the case is open already")
        raise CaseStateRefused(
            "customer_has_open_case",
            "this customer has a newer open case: work that one instead",
        )
    return Done(incident.id, "reopened")


def _open_case(*, session: Session, shop: Shop, incident_id: int) -> Incident | None:
    incident = _case(session=session, shop=shop, incident_id=incident_id)
    if incident is not None and incident.status != IncidentStatus.OPEN:
        raise CaseStateRefused("closed", "the case is closed")
    return incident


def assign_case(
    *, session: Session, shop: Shop, incident_id: int, to: str | None, by: str, now: datetime
) -> Done | None:
    """Give the case to a person (`to`: who they are on the desk), or to nobody (None)."""
    _checked(by, None)
    incident = _open_case(session=session, shop=shop, incident_id=incident_id)
    if incident is None:
        return None
    to = (to or "").strip()[:64] or None
    if incident.assigned_to != to:
        incident.assigned_to = to
        record_event(
            session=session,
            incident=incident,
            kind=CaseEvent.ASSIGNED,
            by=by,
            at=now,
            detail={"to": to},
        )
    return Done(incident.id, "assigned")


def snooze_case(
    *,
    session: Session,
    shop: Shop,
    incident_id: int,
    until: datetime | None,
    by: str,
    now: datetime,
) -> Done | None:
    """Out of the queue's default view until `until` (None: back now). The deadline, priority
    and tags stay as the floor set them, so a snoozed case still escalates when it is due."""
    _checked(by, None)
    if until is not None and not now < until <= now + MAX_SNOOZE:
        raise DeskRefused("snooze_out_of_range", "snooze until a time within the next 14 days")
    incident = _open_case(session=session, shop=shop, incident_id=incident_id)
    if incident is None:
        return None
    if until is None and (incident.snoozed_until is None or incident.snoozed_until <= now):
        return Done(incident.id, "not_snoozed")  # awake already: nothing to say in the trail
    incident.snoozed_until = until
    record_event(
        session=session,
        incident=incident,
        kind=CaseEvent.SNOOZED,
        by=by,
        at=now,
        detail={"until": until.isoformat() if until else None},
    )
    return Done(incident.id, "snoozed")


def close_cases(
    *,
    session: Session,
    shop: Shop,
    incident_ids: Iterable[int],
    by: str,
    now: datetime,
    note: str | None = None,
    seen_at: datetime | None = None,
) -> list[Done]:
    """Resolve several cases in one decision (each recorded on its own); ids that are not
    this shop's are left out of the answer, as if they did not exist. `seen_at` as for one
    case (`close_case`)."""
    wanted = list(dict.fromkeys(incident_ids))
    if not 0 < len(wanted) <= MAX_BULK:
        raise DeskRefused("bulk_size", f"choose between 1 and {MAX_BULK} cases")
    _lock_in_order(session=session, shop=shop, incident_ids=wanted)
    done = [
        close_case(
            session=session, shop=shop, incident_id=i, by=by, now=now, note=note, seen_at=seen_at
        )
        for i in wanted
    ]
    return [d for d in done if d is not None]


def assign_cases(
    *,
    session: Session,
    shop: Shop,
    incident_ids: Iterable[int],
    to: str | None,
    by: str,
    now: datetime,
) -> list[Done]:
    wanted = list(dict.fromkeys(incident_ids))
    if not 0 < len(wanted) <= MAX_BULK:
        raise DeskRefused("bulk_size", f"choose between 1 and {MAX_BULK} cases")
    _lock_in_order(session=session, shop=shop, incident_ids=wanted)
    done = []
    for i in wanted:
        try:
            one = assign_case(session=session, shop=shop, incident_id=i, to=to, by=by, now=now)
        except CaseStateRefused:
            one = Done(i, "already_closed")
        if one is not None:
            done.append(one)
    return done
