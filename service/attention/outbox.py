"""Side effects Clout cannot take back, sent once: record → send → settle.

A Flow trigger runs the merchant's automation; a notification pages a person. Each is first
recorded (`stage`) under a stable key — the incident and what happened to it, never a random
id — in the same transaction as the decision that causes it, so a second decision about the
same thing finds the key and adds nothing. Sending takes the row (`take`: pending → sending,
committed before the network call), and what came of it is settled after. A crash can fall
between the send and the settlement; what happens then depends on whether the receiver can
tell a repeat:

- **at least once** (`webhook`): the signed webhook carries the key in `X-Clout-Effect-Key`,
  so its receiver can drop a repeat; a row left `sending` is sent again, with the same key.
- **at most once** (`flow`, `slack`, `email`): Shopify's `flowTriggerReceive` takes no
  idempotency key, Slack's incoming webhooks and SMTP servers have none that receivers honour,
  so a repeat would run the automation, or page the person, twice. A row left `sending` is
  never sent again: after `UNCERTAIN_AFTER` it is marked `uncertain` and logged for a person.

A failure that is seen (Shopify unavailable, a channel answering an error) puts the row back
to `pending` for another try, up to `MAX_ATTEMPTS`; a refusal is final (`failed`).

A notice to a store's channels names the cases it is about (`trail_of`); when its send settles
for good — sent, failed, or uncertain — each of those cases' trails says so, in the same
transaction as the settlement: `notified`, or `notice_failed` with the reason in a few words.
Never when it is recorded: a notice in the outbox has reached nobody yet.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from service.core.audit import CLOUT, record_event
from service.core.db import session_scope
from service.core.logs import get_logger
from service.core.models import Incident, OutboundEffect
from service.core.vocabulary import CaseEvent

log = get_logger(__name__)

MAX_ATTEMPTS = 5
# A `sending` row older than this belonged to a worker that died mid-send.
UNCERTAIN_AFTER = timedelta(minutes=5)


class EffectKind(StrEnum):
    FLOW = "flow"
    WEBHOOK = "webhook"
    SLACK = "slack"
    EMAIL = "email"


# The handle of Clout's Flow trigger ("Unhappy customer detected", `extensions/`).
FLOW_TRIGGER_HANDLE = "unhappy-customer-detected"

# The receivers that can tell a repeat by the key: sent again after a crash.
AT_LEAST_ONCE = frozenset({EffectKind.WEBHOOK})


class Outcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"  # seen not to have landed: try again
    REFUSED = "refused"  # the receiver said no: final
    UNCERTAIN = "uncertain"  # may have landed, and the receiver cannot tell a repeat


@dataclass(frozen=True)
class Result:
    """What came of one send, and for a failure why, in a few words. The words reach the
    case's trail and so every agent: they name no address (a Slack or webhook URL is a
    secret) and nothing of the customer, only what went wrong ("the channel answered 404")."""

    outcome: Outcome
    error: str | None = None
    # The request was on its way when it failed (a deadline passed, the connection dropped):
    # tried again where a repeat is told, but when the tries run out it may have arrived.
    may_have_landed: bool = False


@dataclass(frozen=True)
class Effect:
    shop_id: int
    key: str
    kind: EffectKind
    payload: Mapping[str, Any]
    attempts: int


def trail_of(*, cases: list[int], why: str | None = None) -> dict[str, Any]:
    """The part of a notice's payload naming the cases whose trails hear how its send settled
    (and what the notice was about, `why`); it is not sent to the channel."""
    return {"cases": cases, **({"why": why} if why else {})}


def stage(
    *,
    session: Session,
    shop_id: int,
    incident_id: int | None,
    kind: EffectKind,
    key: str,
    payload: Mapping[str, Any],
    now: datetime,
) -> bool:
    """Record an effect to send, once per key; False when the key was recorded already."""
    if session.scalar(select(OutboundEffect.id).where(OutboundEffect.key == key)) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(
                OutboundEffect(
                    shop_id=shop_id,
                    incident_id=incident_id,
                    kind=kind.value,
                    key=key,
                    payload=dict(payload),
                    status="pending",
                    attempts=0,
                    staged_at=now,
                )
            )
    except IntegrityError:
        return False  # another worker recorded it in the meantime
    return True


def _stale_send(now: datetime) -> Any:
    return and_(
        OutboundEffect.status == "sending",
        OutboundEffect.kind.in_([kind.value for kind in AT_LEAST_ONCE]),
        OutboundEffect.attempted_at <= now - UNCERTAIN_AFTER,
    )


def take(*, session: Session, key: str, now: datetime) -> Effect | None:
    """Take the effect for sending (pending → sending, committed before any network call);
    None when it is sent, being sent, or — for a receiver that cannot tell a repeat — was being
    sent when its worker died."""
    result = session.execute(
        update(OutboundEffect)
        .where(
            OutboundEffect.key == key,
            or_(OutboundEffect.status == "pending", _stale_send(now)),
        )
        .values(status="sending", attempted_at=now, attempts=OutboundEffect.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    row = session.scalars(select(OutboundEffect).where(OutboundEffect.key == key)).one()
    return Effect(
        shop_id=row.shop_id,
        key=row.key,
        kind=EffectKind(row.kind),
        payload=dict(row.payload),
        attempts=row.attempts,
    )


def _lock_cases_then(session: Session, rows: Select[OutboundEffect]) -> list[OutboundEffect]:
    """`rows`, locked, after the cases their notices name: deleting a case (a customer merged
    or redacted) locks the case, then its notices by cascade, so the cases come first here too
    — in the other order the two can deadlock — and only FOR KEY SHARE: it waits for a delete
    under way, never for an agent's change to the case."""
    named = {case for row in session.scalars(rows) for case in _cases_of(row)}
    if named:
        session.scalars(
            select(Incident.id)
            .where(Incident.id.in_(sorted(named)))
            .order_by(Incident.id)
            .with_for_update(read=True, key_share=True)
        ).all()
    return list(session.scalars(rows.with_for_update().execution_options(populate_existing=True)))


def _trail(row: OutboundEffect) -> dict[str, Any] | None:
    trail = row.payload.get("trail")
    return trail if isinstance(trail, dict) else None


def _cases_of(row: OutboundEffect) -> list[int]:
    """The cases whose trails hear how the row's send settles."""
    if row.kind == EffectKind.FLOW:
        return [row.incident_id] if row.incident_id else []
    return [c for c in (_trail(row) or {}).get("cases") or [] if isinstance(c, int)]


def settle(
    *,
    session: Session,
    key: str,
    outcome: Outcome,
    now: datetime,
    error: str | None = None,
    may_have_landed: bool = False,
) -> None:
    """Record what came of a send."""
    # Locked: two workers settling one at-least-once send (one of them re-took it as stale)
    # must not both find it `sending` and both write it in the case's trail.
    locked = _lock_cases_then(session, select(OutboundEffect).where(OutboundEffect.key == key))
    row = locked[0] if locked else None
    if row is None or row.status != "sending":
        return
    row.settled_at = now
    row.error = error[:500] if error else None
    if outcome == Outcome.SENT:
        row.status = "sent"
    elif outcome == Outcome.UNCERTAIN:
        row.status = "uncertain"
        log.error("effect_uncertain", key=key, kind=row.kind, incident_id=row.incident_id)
    elif outcome == Outcome.RETRY and row.attempts < MAX_ATTEMPTS:
        row.status = "pending"
        return  # not settled yet: the trail waits for the try that settles it
    elif outcome == Outcome.RETRY and may_have_landed:
        # Out of tries, the last of which may have reached the receiver: not "never arrived".
        row.status = "uncertain"
        log.error("effect_uncertain", key=key, kind=row.kind, incident_id=row.incident_id)
    else:
        row.status = "failed"
        log.error("effect_failed", key=key, kind=row.kind, attempts=row.attempts, error=error)
    _tell_the_trail(session=session, row=row, now=now)


def _tell_the_trail(*, session: Session, row: OutboundEffect, now: datetime) -> None:
    """Write a notice's settled send in the trail of each case it is about: told, or not (and
    why); the Flow trigger's case, whether the store's workflows were started. Called once per
    row, as it leaves `sending` for good; a notice recorded before its cases were named in its
    payload (`trail_of`) had its trail written when it was recorded."""
    if row.kind == EffectKind.FLOW:
        _tell_flow(session=session, row=row, now=now)
        return
    trail = _trail(row)
    if trail is None:
        return
    detail: dict[str, Any] = {"channels": [row.kind]}
    if trail.get("why"):
        detail["why"] = trail["why"]
    if row.status == "sent":
        kind = CaseEvent.NOTIFIED
    else:
        kind = CaseEvent.NOTICE_FAILED
        detail |= {
            "outcome": row.status,  # failed: it never arrived; uncertain: it may have
            "error": row.error or "no reason given",
            "tries": row.attempts,
        }
    for incident_id in trail.get("cases") or []:
        # Locked FOR KEY SHARE before the row (`_lock_cases_then`): a case still here stays.
        incident = session.get(Incident, incident_id)
        if incident is not None:  # a case erased since (a customer's redaction) has no trail
            record_event(
                session=session, incident=incident, kind=kind, by=CLOUT, at=now, detail=detail
            )


def _tell_flow(*, session: Session, row: OutboundEffect, now: datetime) -> None:
    incident = session.get(Incident, row.incident_id) if row.incident_id else None
    if incident is None:
        return
    detail: dict[str, Any] = {"trigger": FLOW_TRIGGER_HANDLE}
    if row.status == "sent":
        kind = CaseEvent.FLOW_TRIGGERED
    else:
        kind = CaseEvent.FLOW_FAILED
        detail |= {
            "outcome": row.status,  # failed: not started; uncertain: may not have been
            "why": row.error or "no reason given",
            "tries": row.attempts,
        }
    record_event(session=session, incident=incident, kind=kind, by=CLOUT, at=now, detail=detail)


def send_effect(
    *,
    sessions: sessionmaker[Session],
    key: str,
    send: Callable[[Effect], Result],
    now: Callable[[], datetime],
) -> Outcome | None:
    """Take, send (no session open) and settle one effect; None when it was not to be sent."""
    with session_scope(sessions) as session:
        effect = take(session=session, key=key, now=now())
    if effect is None:
        return None
    try:
        result = send(effect)
    except Exception as error:  # noqa: BLE001 - one effect's fault must not stop the others
        # Whether it went out is unknown: sent again only where the receiver can tell a
        # repeat; otherwise settled uncertain, for a person (`clout doctor` shows it).
        log.error(  # noqa: TRY400 - the type, not a message that may quote an address
            "effect_send_crashed", key=key, kind=effect.kind, error=type(error).__name__
        )
        result = Result(
            Outcome.RETRY if effect.kind in AT_LEAST_ONCE else Outcome.UNCERTAIN,
            f"the send broke off ({type(error).__name__})",
            may_have_landed=True,
        )
    with session_scope(sessions) as session:
        settle(
            session=session,
            key=key,
            outcome=result.outcome,
            now=now(),
            error=result.error,
            may_have_landed=result.may_have_landed,
        )
    return result.outcome


def due(*, session: Session, now: datetime, limit: int = 200) -> list[str]:
    """Effects to send now: recorded but never taken (their worker died before sending, or a
    seen failure put them back), and at-least-once sends whose worker died mid-send. Flow
    triggers are sent by their incident's later work, not from here."""
    return list(
        session.scalars(
            select(OutboundEffect.key)
            .where(
                OutboundEffect.kind != EffectKind.FLOW.value,
                or_(OutboundEffect.status == "pending", _stale_send(now)),
            )
            .order_by(OutboundEffect.id)
            .limit(limit)
        )
    )


def mark_uncertain(*, session: Session, now: datetime) -> list[str]:
    """At-most-once sends whose worker died mid-send: they may or may not have landed, and
    sending again could double them. Marked for a person, never sent again; a notice's cases
    say in their trails that it may not have arrived."""
    candidates = select(OutboundEffect).where(
        OutboundEffect.status == "sending",
        OutboundEffect.kind.not_in([kind.value for kind in AT_LEAST_ONCE]),
        OutboundEffect.attempted_at <= now - UNCERTAIN_AFTER,
    )
    # Locked (the cases first, as `settle` does), and read again once locked: two sweepers at
    # once, or a late `settle`, must not both mark a send and both write it in the trail.
    stuck = [
        row
        for row in _lock_cases_then(session, candidates.order_by(OutboundEffect.id))
        if row.status == "sending"
    ]
    for row in stuck:
        row.status = "uncertain"
        row.settled_at = now
        row.error = "the worker sending it stopped mid-send"
        log.error("effect_uncertain", key=row.key, kind=row.kind, incident_id=row.incident_id)
        _tell_the_trail(session=session, row=row, now=now)
    return [row.key for row in stuck]
