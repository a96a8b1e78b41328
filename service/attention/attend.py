"""Bringing Shopify up to date with an incident: tags, metafields, the Flow trigger.

Attendance is three kinds of step, kept apart:
- **plan** (`read_case` reads the incident once; `plan_attendance` is pure: the policy's
  decision, the tags each order and the customer must carry, the metafields, the Flow payload);
- **push** (`push_floor`, `push_best_effort`, `push_clearance`: Shopify calls only, no database
  session open, so no lock is held across a network call);
- **record** (`record_*`: what was decided and what landed, written back).

`attend_incident` runs them in order, each database step in its own short transaction. The
attention tag is pushed first and on its own: whatever else fails (a profile that cannot be
computed, metafields Shopify refuses, a read that errors), the floor lands. Tags are only ever
added or removed with `tagsAdd` / `tagsRemove`. What Clout wrote is remembered per order, so the
`orders/updated` echo of Clout's own write is recognised and causes no further writes.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from service.attention import outbox
from service.attention.policy import Decision, Held, customer_tags, decide
from service.core.audit import CLOUT, record_event
from service.core.config import Settings
from service.core.crypto import TokenVault
from service.core.db import session_scope
from service.core.errors import TransientError
from service.core.logs import get_logger
from service.core.models import (
    Customer,
    Incident,
    IncidentEvent,
    InfluenceProfile,
    Order,
    Shop,
    Signal,
)
from service.core.shop_settings import shop_config
from service.core.vocabulary import (
    DESK_ACTORS,
    INFLUENCE_TAGS,
    CaseEvent,
    Floor,
    IncidentStatus,
    Severity,
    ShopStatus,
    SignalKind,
    has_tag,
    is_clout_tag,
    same_tag,
)
from service.influence.klout import KloutProvider
from service.influence.profiles import refresh_profile, stored_influence
from service.influence.scoring import Influence
from service.shopify.admin import ShopifyAdmin, ShopifyRefused, ShopifyUnavailable
from service.shopify.budget import LATER_LANE
from service.shopify.circuit import Circuit
from service.signals.incidents import (
    CLEAR_RESOLVED,
    NOT_A_COMPLAINT,
    REOPENED_AT,
    carry_over_after,
    locked_incident,
    resolve_incident,
)

log = get_logger(__name__)

FLOW_TRIGGER_HANDLE = outbox.FLOW_TRIGGER_HANDLE
MAX_DRIFT_REPAIRS = 3
# The floor's calls retry errors for up to 5 s (then the task is rung again after a back-off):
# bounded by time, not by a count that means different waits at different back-offs.
FLOOR_ATTEMPTS = 1_000
FLOOR_RETRY_SECONDS = 5.0
# Best-effort work that had to be skipped is tried again this much later (a circuit stays open
# a minute): a few tries an hour per case at most, never a loop.
# Put-off later work comes back after this long; the circuits keep a retry from storming.
LATER_RETRY = timedelta(minutes=1)
# Later work rung at once (after its floor) but not yet taken is rung again after this long.
LATER_GRACE = timedelta(seconds=5)
# On an order's record (`tag_state`): a resolved tag was seen in the very second Shopify stamped
# Clout's own removal of it (`note_order_tags`), so only a read of the order can say whose it is.
CHECK_RESOLVED = "check_resolved"
# On an order's record: Shopify refused to take a closed case's resolved tag off it, so the tag
# there is no person's resolve (removing the attention tag still is).
RESOLVED_KEPT = "resolved_kept"
# The customer metafields that describe an open case; they come off when it closes (the
# influence ones stay: they are still true of the customer).
CASE_METAFIELDS = (
    "attention_deadline",
    "attention_priority",
    "attention_severity",
    "attention_reasons",
)


@dataclass(frozen=True)
class TagSettings:
    attention_tag: str
    resolved_tag: str
    floors: Mapping[Severity, Floor]
    opt_out_tag: str = "clout-opt-out"
    klout: KloutProvider | None = None  # when an online-reach provider is configured
    profile_max_age: timedelta = timedelta(hours=1)
    # Attention tags the shop used before a rename: still Clout's to take off open cases.
    retired_tags: frozenset[str] = frozenset()
    # Resolved tags it used before a rename: a new case takes them off its orders too.
    retired_resolved_tags: frozenset[str] = frozenset()


# A shop's settings as attention reads them: (session, shop id) → its TagSettings.
ShopTagSettings = Callable[[Session, int], TagSettings]


def shop_tag_settings(
    *, base: TagSettings, defaults: Settings, vault: TokenVault
) -> ShopTagSettings:
    """Each shop's own tag names, deadlines and Klout switch over the install-wide `base`, read
    when needed: a change in the shop's settings applies to the next case, no restart."""

    def for_shop(session: Session, shop_id: int) -> TagSettings:
        config = shop_config(session=session, shop_id=shop_id, defaults=defaults, vault=vault)
        return dataclasses.replace(
            base,
            attention_tag=config.attention_tag,
            resolved_tag=config.resolved_tag,
            opt_out_tag=config.opt_out_tag,
            floors=config.floors,
            klout=base.klout if config.klout else None,
            retired_tags=config.retired_tags,
            retired_resolved_tags=config.retired_resolved_tags,
        )

    return for_shop


def fixed_tag_settings(settings: TagSettings) -> ShopTagSettings:
    """The same settings for every shop (tests, tools)."""
    return lambda _session, _shop_id: settings


def _shopify_gid(value: str, kind: str = "") -> bool:
    return value.startswith(f"gid://shopify/{kind}")


def _managed(tag: str, settings: TagSettings) -> bool:
    """One of Clout's own tags, which Clout may take off again (never the resolved tag: that
    is a person's record)."""
    return (
        is_clout_tag(tag, settings.attention_tag) or has_tag(settings.retired_tags, tag)
    ) and not same_tag(tag, settings.resolved_tag)


# --- plan: read once, decide without side effects ------------------------------------------------


@dataclass(frozen=True)
class Case:
    """What attendance needs of an incident, read in one go."""

    incident_id: int
    shop_id: int
    shop_active: bool
    open: bool
    severity: Severity
    opened_at: datetime
    escalations: int
    overdue: bool
    kinds: frozenset[SignalKind]
    signal_count: int
    sentences: tuple[str, ...]
    influence: Influence | None  # the stored profile's; None while unknown
    profile_fresh: bool  # complete, and computed since the case opened (within max age)
    order_gids: tuple[str, ...]  # the Shopify orders of its signals, first one first
    customer_gid: str | None  # None for a guest or a reviewer Shopify does not know
    written: Mapping[str, Mapping[str, Any]]  # gid → {"tags": [...], "written_at": iso}
    flow_sent: bool
    drift_repairs: int
    resolved_by: str | None
    resolution: str | None = None
    resolved_at: datetime | None = None
    # What the open case already shows (priority, deadline, influence tags): never taken back.
    held: Held = field(default_factory=Held)
    # For a closed case: the Shopify records another open case of the same customer has
    # written to (its floor is there now), which the closed case's clearance must not touch.
    held_elsewhere: frozenset[str] = frozenset()


def held_by(incident: Incident) -> Held:
    """What an open incident shows now, for the next decision to keep."""
    if incident.status != IncidentStatus.OPEN:
        return Held()
    shown = {
        tag
        for written in (incident.tag_state or {}).values()
        for tag in written.get("tags", [])
        if tag in INFLUENCE_TAGS
    }
    decided = incident.influence or {}
    raised_by = decided.get("raised_by") or []
    severity = decided.get("severity")
    return Held(
        priority=incident.priority,
        deadline_at=incident.deadline_at,
        tags=frozenset(shown),
        raised_by=tuple(str(reason) for reason in raised_by),
        severity=Severity(severity) if severity in set(Severity) else None,
    )


def read_case(
    *, session: Session, incident_id: int, settings: TagSettings, now: datetime
) -> Case | None:
    incident = session.get(Incident, incident_id)
    if incident is None:
        return None
    shop = session.get(Shop, incident.shop_id)
    customer = session.get(Customer, incident.customer_id)
    profile = session.scalar(
        select(InfluenceProfile).where(InfluenceProfile.customer_id == incident.customer_id)
    )
    signals = list(incident.signals)
    order_ids = list(dict.fromkeys(s.order_id for s in signals if s.order_id is not None))
    orders = {o.id: o for o in session.scalars(select(Order).where(Order.id.in_(order_ids)))}
    return Case(
        incident_id=incident.id,
        shop_id=incident.shop_id,
        shop_active=shop is not None and shop.status == ShopStatus.ACTIVE,
        open=incident.status == IncidentStatus.OPEN,
        severity=incident.severity,
        # The customer has waited since Shopify told Clout, not since a worker got to it: a
        # worker down for an hour must not add an hour to every deadline (the agents' page
        # counts "waiting since" from the same moment).
        opened_at=min(filter(None, (incident.first_seen_at, incident.opened_at))),
        escalations=incident.escalations,
        overdue=incident.overdue_at is not None,
        kinds=frozenset(s.kind for s in signals),
        signal_count=len(signals),
        sentences=tuple(s for sig in signals for s in (sig.detail or {}).get("sentences", [])),
        influence=stored_influence(session=session, customer=customer) if customer else None,
        profile_fresh=(
            profile is not None
            and profile.complete
            and profile.computed_at is not None
            and profile.computed_at >= max(now - settings.profile_max_age, incident.opened_at)
        ),
        order_gids=tuple(
            orders[i].shopify_id
            for i in order_ids
            if i in orders and _shopify_gid(orders[i].shopify_id)
        ),
        customer_gid=(
            customer.shopify_id
            if customer is not None and _shopify_gid(customer.shopify_id, "Customer/")
            else None
        ),
        written=dict(incident.tag_state or {}),
        flow_sent=incident.flow_sent_at is not None,
        drift_repairs=incident.drift_repairs,
        resolved_by=incident.resolved_by,
        resolution=incident.resolution,
        resolved_at=incident.resolved_at,
        held=held_by(incident),
        held_elsewhere=(
            frozenset()
            if incident.status == IncidentStatus.OPEN
            else _held_by_an_open_case(session=session, incident=incident)
        ),
    )


def _held_by_an_open_case(*, session: Session, incident: Incident) -> frozenset[str]:
    """The records the customer's open case (opened after this one closed) has tagged."""
    states = session.scalars(
        select(Incident.tag_state).where(
            Incident.shop_id == incident.shop_id,
            Incident.customer_id == incident.customer_id,
            Incident.status == IncidentStatus.OPEN,
            Incident.id != incident.id,
        )
    )
    return frozenset(gid for state in states for gid in (state or {}))


@dataclass(frozen=True)
class Plan:
    decision: Decision
    # The tags each order and the customer must carry (orders: the decision's; the customer:
    # the case and its priority, not the per-order reasons).
    targets: Mapping[str, tuple[str, ...]]
    influence_snapshot: Mapping[str, Any]  # what the decision used, for the agents' page
    metafields: tuple[str, Mapping[str, tuple[str, str]]] | None
    flow_payload: Mapping[str, Any] | None  # None once sent, or with nothing in Shopify


def plan_attendance(*, case: Case, settings: TagSettings) -> Plan:
    """The decision and everything Shopify should show for it. Pure."""
    decision = decide(
        severity=case.severity,
        opened_at=case.opened_at,
        influence=case.influence,
        kinds=case.kinds,
        attention_tag=settings.attention_tag,
        floors=settings.floors,
        escalations=case.escalations,
        overdue=case.overdue,
        held=case.held,
    )
    targets: dict[str, tuple[str, ...]] = dict.fromkeys(case.order_gids, decision.tags)
    if case.customer_gid is not None:
        targets[case.customer_gid] = customer_tags(decision, settings.attention_tag)
    known = case.influence
    snapshot = {
        "band": decision.band.value,
        "reasons": list(decision.reasons),
        "raised_by": list(decision.raised_by),
        "severity": case.severity.value,  # what the deadline was decided for (`held_by`)
        "clout": known.clout if known else None,
        "klout": known.klout if known else None,
    }
    return Plan(
        decision=decision,
        targets=targets,
        influence_snapshot=snapshot,
        metafields=(
            (
                case.customer_gid,
                customer_metafields(case=case, decision=decision, influence=snapshot),
            )
            if case.customer_gid
            else None
        ),
        flow_payload=None
        if case.flow_sent
        else flow_trigger_payload(
            severity=case.severity,
            decision=decision,
            influence=snapshot,
            customer_gid=case.customer_gid,
            order_gid=case.order_gids[0] if case.order_gids else None,
            sentences=case.sentences,
        ),
    )


def customer_metafields(
    *, case: Case, decision: Decision, influence: Mapping[str, Any]
) -> dict[str, tuple[str, str]]:
    """The case on the customer, in the `clout` namespace: {key: (type, value)}."""
    fields = {
        "attention_deadline": ("date_time", decision.deadline_at.strftime("%Y-%m-%dT%H:%M:%SZ")),
        "attention_priority": ("single_line_text_field", decision.priority.value),
        "attention_severity": ("single_line_text_field", case.severity.value),
        # Text, one reason a line, as its definition says (`workspace.DEFINITIONS`): the
        # admin shows it as the customer said it.
        "attention_reasons": (
            "multi_line_text_field",
            "\n".join(" ".join(s.split()) for s in case.sentences[:20]) or case.severity.value,
        ),
        "influence_band": ("single_line_text_field", str(influence.get("band", "unknown"))),
    }
    for key in ("clout", "klout"):
        score = influence.get(key)
        if isinstance(score, int | float):
            fields[f"{key}_score"] = ("number_integer", str(round(score)))
    return fields


def flow_trigger_payload(
    *,
    severity: Severity,
    decision: Decision,
    influence: Mapping[str, Any],
    customer_gid: str | None,
    order_gid: str | None,
    sentences: tuple[str, ...] | list[str],
) -> dict[str, Any] | None:
    """What the "Unhappy customer detected" Flow trigger carries, in the fields and types its
    extension declares (extensions/unhappy-customer-detected): every custom field always there,
    text where text is declared (a score Clout does not know reads "unknown", never a made-up
    number), and the order and customer as Flow's references (`order_id`, `customer_id`, the
    numeric ids). None when the case has neither in Shopify: Flow has nothing to act on."""
    customer_id = _legacy_id(customer_gid, "Customer") if customer_gid else None
    order_id = _legacy_id(order_gid, "Order") if order_gid else None
    if customer_id is None and order_id is None:
        return None
    payload: dict[str, Any] = {
        "severity": severity.value,
        "priority": decision.priority.value,
        "deadline": decision.deadline_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "influence_band": decision.band.value,
        "clout_score": _score_text(influence.get("clout")),
        "klout_score": _score_text(influence.get("klout")),
        "reasons": "\n".join(" ".join(s.split()) for s in sentences[:10]) or severity.value,
    }
    if customer_id is not None:
        payload["customer_id"] = customer_id
    if order_id is not None:
        payload["order_id"] = order_id
    return payload


def _legacy_id(gid: str, kind: str) -> int | None:
    prefix = f"gid://shopify/{kind}/"
    raw = gid.removeprefix(prefix)
    return int(raw) if gid.startswith(prefix) and raw.isdigit() else None


def _score_text(score: object) -> str:
    return str(round(float(score))) if isinstance(score, int | float) else "unknown"


# --- push: Shopify calls, nothing else ----------------------------------------------------------


@dataclass
class Pushed:
    """What landed in Shopify: gid → the tags Clout now knows are there, and when."""

    written: dict[str, dict[str, Any]] = field(default_factory=dict)
    floor_landed: bool = False  # an order or the customer carries the attention tag now
    drift_repaired: int = 0
    flow_sent: bool = False
    flow_outcome: outbox.Outcome | None = None  # None: no trigger was sent this time
    flow_error: str | None = None  # why the Flow trigger was not taken this time, for the trail
    refusals: dict[str, str] = field(default_factory=dict)  # best-effort operation → why
    unavailable: TransientError | None = None  # Shopify could not be reached: try again later
    refused: dict[str, str] = field(default_factory=dict)  # gid → why Shopify refused its tags
    # Best-effort calls not made now ("read_tags: circuit open", "flow: ShopifyUnavailable"):
    # tried again at the incident's next `later_due_at`.
    skipped: list[str] = field(default_factory=list)
    # Operations whose circuit this attendance found answering again (its probe succeeded).
    recovered: list[str] = field(default_factory=list)
    # gid → the resolved tag a closed case had left on an order this new case is about.
    unresolved: dict[str, list[str]] = field(default_factory=dict)
    # Shopify could not take such a tag off now: the attendance is to be tried again (after
    # the floor reached every other target).
    retry_for: TransientError | None = None
    # An order to check (CHECK_RESOLVED) read back with the resolved tag on it, or without
    # the attention tag: a person resolved the case in the second Clout took the old tag off.
    # (gid, how it was resolved)
    resolved_seen: tuple[str, str] | None = None


def push_floor(
    *,
    client: ShopifyAdmin,
    incident_id: int,
    plan: Plan,
    written: Mapping[str, Any],
    resolved_tag: str,
    now: datetime,
    retired_resolved_tags: frozenset[str] = frozenset(),
) -> Pushed:
    """tagsAdd wherever Clout's tags are not all there yet (by what Clout last wrote). A refused
    target is logged and passed over; Shopify unavailable stops here and says so.

    An order a closed case left its resolved tag on is open again for this case: the resolved
    tag comes off, or the order's next `orders/updated` would read as a person closing the
    new case, and no view, Flow or agent would see it open. Shopify's `updatedAt` after taking
    it off is where the order is in step: older deliveries (the echo of the tagsAdd, with the
    resolved tag still there) are Clout's own work (`note_order_tags`). Taking it off when
    Shopify cannot be reached now is left to the next attendance, as for a reopened case."""
    pushed = Pushed()
    for gid, tags in plan.targets.items():
        before = (written.get(gid) or {}).get("tags")
        if before is not None and set(tags) <= set(before):
            continue
        try:
            present = client.add_tags(gid, list(tags))
        except ShopifyRefused as error:
            log.warning("tag_refused", incident_id=incident_id, gid=gid, error=str(error)[:200])
            pushed.refused[gid] = str(error)[:200]
            continue
        except TransientError as error:
            pushed.unavailable = error
            break
        pushed.written[gid] = {
            "tags": sorted(set(tags) | set(before or [])),
            "written_at": now.isoformat(),
        }
        pushed.floor_landed = True
        # In the case a person typed it (`Clout-Resolved`): Shopify reads it as the resolved tag.
        kept = [
            t for t in present if same_tag(t, resolved_tag) or has_tag(retired_resolved_tags, t)
        ]
        if before is None and _shopify_gid(gid, "Order/") and kept:
            _take_off_a_closed_cases_tag(client=client, gid=gid, kept=kept, pushed=pushed, now=now)
    if pushed.unavailable is None and pushed.retry_for is not None:
        pushed.unavailable = pushed.retry_for
    return pushed


def _take_off_a_closed_cases_tag(
    *, client: ShopifyAdmin, gid: str, kept: list[str], pushed: Pushed, now: datetime
) -> None:
    try:
        in_step_at = client.remove_tags_at(gid, kept)
    except ShopifyRefused as error:
        # Shopify keeps it (the order gone meanwhile, say): said in the trail; nothing of
        # Clout's can make it otherwise.
        log.warning("resolved_tag_refused", gid=gid, error=str(error)[:200])
        pushed.refused[gid] = f"taking off {', '.join(kept)}: {str(error)[:160]}"
        pushed.written[gid][RESOLVED_KEPT] = True
        return
    except TransientError as error:
        # The next attendance takes it off first (`push_reopening`), and until Shopify is
        # seen in step what it reports is Clout's own work in flight.
        pushed.written[gid] |= {REOPENED_AT: now.isoformat(), CLEAR_RESOLVED: True}
        pushed.retry_for = error
        return
    pushed.unresolved[gid] = kept
    if in_step_at is not None:
        pushed.written[gid]["in_step_at"] = in_step_at.isoformat()
    else:  # an answer without Shopify's time: wait to see the order in step
        pushed.written[gid][REOPENED_AT] = now.isoformat()


def push_best_effort(
    *,
    client: ShopifyAdmin,
    case: Case,
    plan: Plan,
    settings: TagSettings,
    now: datetime,
    circuit: Circuit | None = None,
) -> Pushed:
    """Stale tags off, drift repaired, metafields, the Flow trigger. Nothing here may fail the
    attendance: a call Shopify could not take now (or that an open circuit holds back) is
    recorded in `skipped`, to be tried at the next due time; one Shopify refused is left."""
    pushed = Pushed()
    missing_result = object()

    def attempt(operation: str, call: Callable[[], Any]) -> Any:
        if circuit is not None and not circuit.allows(client.shop, operation):
            pushed.skipped.append(f"{operation}: circuit open")
            return missing_result
        try:
            result = call()
        except ShopifyUnavailable as error:
            if circuit is not None:
                circuit.failed(client.shop, operation)
            pushed.skipped.append(f"{operation}: {type(error).__name__}")
            return missing_result
        except ShopifyRefused as error:
            pushed.refusals[operation] = str(error)[:200]
            log.info(
                "best_effort_refused",
                incident_id=case.incident_id,
                operation=operation,
                error=pushed.refusals[operation],
            )
            return missing_result
        if circuit is not None and circuit.succeeded(client.shop, operation):
            pushed.recovered.append(operation)
        return result

    repairs = case.drift_repairs
    for gid, wanted in plan.targets.items():
        # Read back what Shopify shows (a person may have changed it), then correct it.
        present_tags = attempt("read_tags", partial(client.tags_of, gid))
        if present_tags is missing_result:
            continue  # reads failing never undo the floor
        present = set(present_tags)
        before = case.written.get(gid) or {}
        if before.get(CHECK_RESOLVED):
            # Clout took the resolved tag off and never puts it on an open case's order, nor
            # takes its attention tag off one: either changed, a person resolved the case.
            if has_tag(present, settings.resolved_tag):
                pushed.resolved_seen = (gid, "resolved-tag")
                continue  # nothing more is written to an order whose case is closing
            if not has_tag(present, settings.attention_tag):
                pushed.resolved_seen = (gid, "attention-tag-removed")
                continue
            pushed.written[gid] = {"tags": list(before.get("tags") or []), CHECK_RESOLVED: None}
        stale = sorted(t for t in present if _managed(t, settings) and not has_tag(wanted, t))
        missing = sorted(t for t in set(wanted) if not has_tag(present, t))
        if (
            stale
            and attempt("remove_tags", partial(client.remove_tags, gid, stale)) is missing_result
        ):
            continue
        if missing and repairs < MAX_DRIFT_REPAIRS:
            repairs += 1
            pushed.drift_repaired += 1
            log.warning(
                "tag_drift_repaired", incident_id=case.incident_id, gid=gid, missing=missing
            )
            if attempt("add_tags", partial(client.add_tags, gid, missing)) is missing_result:
                continue
        elif missing:
            log.warning("tag_drift_left", incident_id=case.incident_id, gid=gid, missing=missing)
        pushed.written[gid] = {
            **pushed.written.get(gid, {}),
            "tags": sorted(wanted),
            "written_at": now.isoformat(),
        }
    if plan.metafields is not None:
        owner, fields = plan.metafields
        attempt("metafields", partial(client.set_metafields, owner, fields))
    if plan.flow_payload is not None:
        _send_flow(
            attempt=attempt,
            call=partial(client.send_flow_trigger, FLOW_TRIGGER_HANDLE, plan.flow_payload),
            pushed=pushed,
            missing=missing_result,
            incident_id=case.incident_id,
        )
    return pushed


def _send_flow(
    *,
    attempt: Callable[[str, Callable[[], Any]], Any],
    call: Callable[[], Any],
    pushed: Pushed,
    missing: object,
    incident_id: int,
) -> None:
    """The Flow trigger, and what came of it for its outbox row and the case's trail."""
    skipped = len(pushed.skipped)
    errors = attempt("flow", call)
    if errors is missing:
        # Seen not to land (unavailable, a circuit open): tried again later. Refused: final.
        unseen = len(pushed.skipped) > skipped
        pushed.flow_outcome = outbox.Outcome.RETRY if unseen else outbox.Outcome.REFUSED
        pushed.flow_error = (
            pushed.skipped[-1] if unseen else pushed.refusals.get("flow", "refused by Shopify")
        )
    elif errors:
        log.info("flow_trigger_refused", incident_id=incident_id, errors=len(errors))
        pushed.flow_outcome = outbox.Outcome.REFUSED
        first = errors[0] if isinstance(errors[0], dict) else {}
        pushed.flow_error = str(first.get("message") or "refused by Shopify")[:200]
    else:
        pushed.flow_sent = True
        pushed.flow_outcome = outbox.Outcome.SENT


@dataclass
class Cleared:
    """What closing a case changed in Shopify."""

    removed: dict[str, list[str]] = field(default_factory=dict)  # gid → Clout's tags taken off
    added: dict[str, list[str]] = field(default_factory=dict)  # gid → the resolved tag
    refused: dict[str, str] = field(default_factory=dict)  # gid → why Shopify refused
    metafields_cleared: bool = False
    settled: list[str] = field(default_factory=list)  # records a reopening is done with


def push_clearance(*, client: ShopifyAdmin, case: Case, settings: TagSettings) -> Cleared:
    """A resolved case: Clout's priority, reason and overdue tags off (the attention tag too,
    unless a person's resolved tag is the record of it), and the case's metafields off the
    customer. A case closed as not a complaint gets no resolved tag: there was nothing to
    resolve."""
    cleared = Cleared()
    by_desk = (case.resolved_by or "").startswith(DESK_ACTORS)
    for gid in case.written:
        if gid in case.held_elsewhere:
            # The customer's new case holds it now: its tags are that case's, and a resolved
            # tag here would read as a person closing it. What is stale is that case's to
            # take off (`push_best_effort`).
            continue
        try:
            if by_desk and case.resolution != NOT_A_COMPLAINT and _shopify_gid(gid, "Order/"):
                # Resolved through the desk (page, CLI, admin block, Flow): leave the same
                # record in Shopify as a person adding the resolved tag would.
                client.add_tags(gid, [settings.resolved_tag])
                cleared.added[gid] = [settings.resolved_tag]
            present = client.tags_of(gid)
            if (
                case.resolution == NOT_A_COMPLAINT
                and _shopify_gid(gid, "Order/")
                and case.written[gid].get(CLEAR_RESOLVED)
                and has_tag(present, settings.resolved_tag)
            ):
                # Undone and closed again as never a complaint before the Undo reached
                # Shopify: the resolved tag is the undone close's, which the Undo was to take
                # off (`push_reopening`).
                kept = [t for t in present if same_tag(t, settings.resolved_tag)]
                client.remove_tags(gid, kept)
                cleared.removed[gid] = kept
            stale = [t for t in present if _managed(t, settings)]
            if stale:
                client.remove_tags(gid, stale)
                cleared.removed[gid] = sorted({*cleared.removed.get(gid, []), *stale})
        except ShopifyRefused as error:
            cleared.refused[gid] = str(error)[:200]
            continue
    if case.customer_gid is not None and case.customer_gid not in case.held_elsewhere:
        try:
            client.delete_metafields(case.customer_gid, CASE_METAFIELDS)
            cleared.metafields_cleared = True
        except ShopifyRefused as error:
            cleared.refused[case.customer_gid] = str(error)[:200]
    if case.customer_gid is not None and case.resolved_at is not None:
        # When it was resolved, for the "Resolved in the last 30 days" segment; best effort.
        stamp = case.resolved_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        with contextlib.suppress(ShopifyRefused):
            client.set_metafields(case.customer_gid, {"resolved_at": ("date_time", stamp)})
    return cleared


def push_reopening(*, client: ShopifyAdmin, case: Case, settings: TagSettings) -> Cleared:
    """A reopened case, before its floor: the resolved tag off each order (so no view, Flow or
    person reads the case as closed while the attention tag is back) and the customer's
    `resolved_at` off. Shopify unavailable raises (the floor would not land either); a refusal
    is final and recorded, and the floor goes ahead regardless."""
    cleared = Cleared()
    for gid, written in case.written.items():
        if not written.get(CLEAR_RESOLVED):
            continue
        try:
            if _shopify_gid(gid, "Order/"):
                kept = [t for t in client.tags_of(gid) if same_tag(t, settings.resolved_tag)]
                if kept:
                    client.remove_tags(gid, kept)
                    cleared.removed[gid] = kept
            elif gid == case.customer_gid:
                client.delete_metafields(gid, ("resolved_at",))
        except ShopifyRefused as error:
            cleared.refused[gid] = str(error)[:200]
        cleared.settled.append(gid)
    return cleared


def record_reopening(
    *, session: Session, incident_id: int, cleared: Cleared, now: datetime
) -> None:
    """What taking a reopened case's resolved tag off did, in its trail; those records need
    it no more (REOPENED_AT stays until Shopify is seen in step: `note_order_tags`)."""
    incident = locked_incident(session, incident_id)
    if incident is None:
        return
    record_cleared(
        session=session,
        incident_id=incident_id,
        cleared=dataclasses.replace(cleared, metafields_cleared=False),
        now=now,
    )
    state = dict(incident.tag_state or {})
    for gid in cleared.settled:
        if gid in state:
            state[gid] = {k: v for k, v in state[gid].items() if k != CLEAR_RESOLVED}
    incident.tag_state = state


# --- record: what was decided, what landed --------------------------------------------------------


def record_decision(*, session: Session, incident_id: int, plan: Plan, now: datetime) -> None:
    incident = locked_incident(session, incident_id)
    if incident is None:
        return
    before = (incident.priority, incident.deadline_at)
    # Within an open case priority only rises (the plan kept what was held; a decision made
    # from an older snapshot must not undo a raise recorded meanwhile, by escalation say).
    if incident.priority is None or plan.decision.priority.rank >= incident.priority.rank:
        incident.priority = plan.decision.priority
    # Deadlines only ever come closer.
    incident.deadline_at = min(filter(None, (incident.deadline_at, plan.decision.deadline_at)))
    incident.influence = dict(plan.influence_snapshot)
    if (incident.priority, incident.deadline_at) != before:
        record_event(
            session=session,
            incident=incident,
            kind=CaseEvent.DECIDED,
            by=CLOUT,
            at=now,
            detail={
                "priority": incident.priority.value,
                "deadline_at": incident.deadline_at.isoformat() if incident.deadline_at else None,
                "raised_by": list(plan.decision.raised_by),
            },
        )


def record_pushed(*, session: Session, incident_id: int, pushed: Pushed, now: datetime) -> None:
    incident = locked_incident(session, incident_id)
    if incident is None:
        return
    before = incident.tag_state or {}
    for gid, now_written in pushed.written.items():
        had = set((before.get(gid) or {}).get("tags") or [])
        has = set(now_written["tags"])
        for kind, tags in ((CaseEvent.TAGGED, has - had), (CaseEvent.UNTAGGED, had - has)):
            if tags:
                record_event(
                    session=session,
                    incident=incident,
                    kind=kind,
                    by=CLOUT,
                    at=now,
                    detail={"gid": gid, "tags": sorted(tags)},
                )
    for gid, taken_off in pushed.unresolved.items():
        record_event(
            session=session,
            incident=incident,
            kind=CaseEvent.UNTAGGED,
            by=CLOUT,
            at=now,
            detail={"gid": gid, "tags": taken_off, "why": "left by a closed case"},
        )
    for gid, why in pushed.refused.items():
        if _refused_before(session=session, incident_id=incident_id, gid=gid, why=why):
            continue  # the same refusal again (a retry, a fresh decision): said once is enough
        record_event(
            session=session,
            incident=incident,
            kind=CaseEvent.TAG_REFUSED,
            by=CLOUT,
            at=now,
            detail={"gid": gid, "why": why},
        )
    # Merged per record: what else is noted on one (a reopening's marks) stays.
    incident.tag_state = {
        **before,
        **{gid: {**(before.get(gid) or {}), **w} for gid, w in pushed.written.items()},
    }
    # Tagged once every order it names carries the attention tag: an order Shopify refused it
    # (one with too many tags, one deleted) is missing from every view of the store's
    # orders, whatever the customer carries, so the case stays pending with Shopify's reason.
    refused_orders = [
        g for g in pushed.refused if _shopify_gid(g, "Order/") and g not in pushed.written
    ]
    if pushed.floor_landed and not refused_orders and incident.tagged_at is None:
        incident.tagged_at = now
    incident.drift_repairs += pushed.drift_repaired
    if pushed.flow_sent and incident.flow_sent_at is None:
        incident.flow_sent_at = now


def _refused_before(*, session: Session, incident_id: int, gid: str, why: str) -> bool:
    said = session.scalars(
        select(IncidentEvent.detail).where(
            IncidentEvent.incident_id == incident_id,
            IncidentEvent.kind == CaseEvent.TAG_REFUSED.value,
        )
    )
    return any((d or {}).get("gid") == gid and (d or {}).get("why") == why for d in said)


def record_cleared(*, session: Session, incident_id: int, cleared: Cleared, now: datetime) -> None:
    """A closed case's clearance, in its trail."""
    incident = locked_incident(session, incident_id)
    if incident is None:
        return
    changes: list[tuple[CaseEvent, str, Mapping[str, Any]]] = [
        (CaseEvent.TAGGED, "tags", cleared.added),
        (CaseEvent.UNTAGGED, "tags", cleared.removed),
        (CaseEvent.TAG_REFUSED, "why", cleared.refused),
    ]
    for kind, field_name, by_gid in changes:
        for gid, value in by_gid.items():
            record_event(
                session=session,
                incident=incident,
                kind=kind,
                by=CLOUT,
                at=now,
                detail={"gid": gid, field_name: value},
            )
    if cleared.metafields_cleared:
        record_event(
            session=session,
            incident=incident,
            kind=CaseEvent.METAFIELDS_CLEARED,
            by=CLOUT,
            at=now,
            detail={"keys": list(CASE_METAFIELDS)},
        )


def record_attended(*, session: Session, case: Case, now: datetime) -> None:
    incident = locked_incident(session, case.incident_id)
    if incident is None:
        return
    incident.attended_at = now
    if incident.status != IncidentStatus.OPEN:
        return  # closed since it was read: its clearance is still to come
    # A signal that arrived meanwhile keeps the incident waiting for its own attendance.
    counted = session.scalar(
        select(func.count()).select_from(Signal).where(Signal.incident_id == case.incident_id)
    )
    incident.needs_attention = bool(counted and counted > case.signal_count)


def _refresh_influence(
    *, session: Session, incident_id: int, settings: TagSettings, now: datetime
) -> None:
    """Recompute the customer's profile. Never in the floor's way: it runs after the attention
    tag has landed, and any failure leaves influence as it was (unknown, never zero)."""
    incident = session.get(Incident, incident_id)
    shop = session.get(Shop, incident.shop_id) if incident else None
    customer = session.get(Customer, incident.customer_id) if incident else None
    if shop is None or customer is None:
        return
    try:
        with session.begin_nested():
            refresh_profile(
                session=session,
                shop=shop,
                customer=customer,
                klout=settings.klout,
                opt_out_tag=settings.opt_out_tag,
                now=now,
            )
    except Exception as error:  # noqa: BLE001 - enrichment must never block the attention floor
        log.warning("profile_not_computed", incident_id=incident_id, error=type(error).__name__)


# --- the whole attendance ----------------------------------------------------------------------


def _with_fresh_influence(
    *,
    sessions: sessionmaker[Session],
    client: ShopifyAdmin,
    case: Case,
    plan: Plan,
    written: dict[str, Any],
    settings: TagSettings,
    now: datetime,
) -> tuple[Case, Plan]:
    """Recompute the profile, decide again, and land what that raised (the floor has landed
    already; this can only add to it)."""
    incident_id = case.incident_id
    with session_scope(sessions) as session:
        _refresh_influence(session=session, incident_id=incident_id, settings=settings, now=now)
    with session_scope(sessions) as session:
        fresh = read_case(session=session, incident_id=incident_id, settings=settings, now=now)
        if fresh is not None and fresh.open:
            case = dataclasses.replace(fresh, signal_count=case.signal_count)
            plan = plan_attendance(case=case, settings=settings)
            record_decision(session=session, incident_id=incident_id, plan=plan, now=now)
    _land_floor(
        sessions=sessions,
        client=client,
        incident_id=incident_id,
        plan=plan,
        written=written,
        settings=settings,
        now=now,
    )
    return case, plan


def _land_floor(
    *,
    sessions: sessionmaker[Session],
    client: ShopifyAdmin,
    incident_id: int,
    plan: Plan,
    written: dict[str, Any],
    settings: TagSettings,
    now: datetime,
) -> None:
    """Push the floor, record what landed, and update `written` with it; Shopify unavailable
    raises once what did land is recorded."""
    landed = push_floor(
        client=client,
        incident_id=incident_id,
        plan=plan,
        written=written,
        resolved_tag=settings.resolved_tag,
        now=now,
        retired_resolved_tags=settings.retired_resolved_tags,
    )
    with session_scope(sessions) as session:
        record_pushed(session=session, incident_id=incident_id, pushed=landed, now=now)
    if landed.unavailable is not None:
        raise landed.unavailable
    written.update(landed.written)


def attend_incident(
    *,
    sessions: sessionmaker[Session],
    incident_id: int,
    admin: Callable[[Shop], ShopifyAdmin],
    shop_settings: ShopTagSettings,
    now: datetime,
) -> str:
    """Decide priority and deadline, then make Shopify show it. Idempotent: a second run with
    nothing new writes nothing. Raises TransientError when the attention tag could not land.

    Each database step is its own short transaction and no session is open during a Shopify
    call: on SQLite an open transaction holds the write lock, and intake would wait for it."""
    with session_scope(sessions) as session:
        found = session.get(Incident, incident_id)
        if found is None:
            return "gone"
        settings = shop_settings(session, found.shop_id)
        case = read_case(session=session, incident_id=incident_id, settings=settings, now=now)
        if case is None:
            return "gone"
        shop = session.get(Shop, case.shop_id)
        if shop is None or not case.shop_active:
            incident = session.get(Incident, incident_id)
            if incident is not None:
                incident.needs_attention = False
            return "shop-inactive"
        client = admin(shop)
        if case.open:
            # The floor first, on what is known now: a profile may take a while, and the
            # attention tag must not wait for it.
            plan = plan_attendance(case=case, settings=settings)
            record_decision(session=session, incident_id=incident_id, plan=plan, now=now)
    if not case.open:
        cleared = push_clearance(client=client, case=case, settings=settings)
        with session_scope(sessions) as session:
            record_cleared(session=session, incident_id=incident_id, cleared=cleared, now=now)
            incident = session.get(Incident, incident_id)  # locked by record_cleared
            if incident is not None:
                # Reopened since it was read, its floor is still to come; reopened and closed
                # again, that close's clearance (`resolved_at` tells the closes apart).
                incident.needs_attention = (
                    incident.status == IncidentStatus.OPEN
                    or incident.resolved_at != case.resolved_at
                )
                incident.attended_at = now
        return "cleared"

    # 1. The floor: every order and the customer get the attention tag (with the rest of
    #    Clout's tags in the same additive call). Retried for a few seconds; a longer outage
    #    is the task queue's to wait out (a worker is not held for it). Only this step may
    #    fail the attendance.
    floor_client = dataclasses.replace(
        client, max_attempts=FLOOR_ATTEMPTS, time_limit=FLOOR_RETRY_SECONDS, max_wait=20.0
    )
    if any(w.get(CLEAR_RESOLVED) for w in case.written.values()):
        # Reopened: the resolved tag comes off before the attention tag goes back on.
        reopening = push_reopening(client=floor_client, case=case, settings=settings)
        with session_scope(sessions) as session:
            record_reopening(session=session, incident_id=incident_id, cleared=reopening, now=now)
    written = dict(case.written)
    _land_floor(
        sessions=sessions,
        client=floor_client,
        incident_id=incident_id,
        plan=plan,
        written=written,
        settings=settings,
        now=now,
    )

    # 1b. Then influence, which can only raise the priority and bring the deadline closer.
    if not case.profile_fresh:
        case, plan = _with_fresh_influence(
            sessions=sessions,
            client=floor_client,
            case=case,
            plan=plan,
            written=written,
            settings=settings,
            now=now,
        )

    # 2. The rest — read-back and drift repair, metafields, the Flow trigger — is the later
    #    lane's: its own task, after every waiting floor, within what the floor leaves of the
    #    shop's budget (`attend_later`).
    with session_scope(sessions) as session:
        record_attended(session=session, case=case, now=now)
        incident = session.get(Incident, incident_id)
        if incident is not None:
            incident.later_due_at = now
    return "attended"


def attend_later(
    *,
    sessions: sessionmaker[Session],
    incident_id: int,
    admin: Callable[[Shop], ShopifyAdmin],
    shop_settings: ShopTagSettings,
    now: datetime,
    circuit: Circuit | None = None,
) -> str:
    """An open case's best-effort work, once its floor has landed: stale tags off, drift
    repaired, metafields, the Flow trigger. Takes only what the floor leaves of the shop's
    budget; what cannot be done now (Shopify unwell, a circuit open, no budget to spare) is
    recorded as skipped and tried again at `later_due_at`, never in a loop. Never raises for
    Shopify's sake."""
    with session_scope(sessions) as session:
        incident = session.get(Incident, incident_id)
        if incident is None or incident.later_due_at is None:
            return "nothing"
        if incident.status != IncidentStatus.OPEN:
            incident.later_due_at = None
            return "closed"
        settings = shop_settings(session, incident.shop_id)
        case = read_case(session=session, incident_id=incident_id, settings=settings, now=now)
        shop = session.get(Shop, incident.shop_id)
        if case is None or shop is None or not case.shop_active:
            incident.later_due_at = None
            return "shop-inactive"
        client = admin(shop)
        plan = plan_attendance(case=case, settings=settings)
        flow = flow_key(incident_id)
        if plan.flow_payload is not None and not _take_flow(
            session=session, case=case, payload=plan.flow_payload, key=flow, now=now
        ):
            plan = dataclasses.replace(plan, flow_payload=None)
    # A short fuse, and the later lane of the budget: an unwell Shopify, or a busy shop,
    # must not hold a floor back.
    later_client = dataclasses.replace(client, lane=LATER_LANE, max_attempts=2, max_wait=5.0)
    done = push_best_effort(
        client=later_client, case=case, plan=plan, settings=settings, now=now, circuit=circuit
    )
    with session_scope(sessions) as session:
        record_pushed(session=session, incident_id=incident_id, pushed=done, now=now)
        if done.flow_outcome is not None:
            outbox.settle(
                session=session, key=flow, outcome=done.flow_outcome, now=now, error=done.flow_error
            )
        incident = session.get(Incident, incident_id)  # locked by record_pushed
        if incident is not None and done.resolved_seen is not None:
            gid, how = done.resolved_seen
            state = dict(incident.tag_state or {})
            state[gid] = {k: v for k, v in state.get(gid, {}).items() if k != CHECK_RESOLVED}
            incident.tag_state = state
            resolve_incident(session=session, incident=incident, by=how, now=now)
            incident.needs_attention = True  # its clearance: Clout's tags come off
            incident.later_due_at = None
            log.info("resolved_by_tag_read_back", incident_id=incident_id)
            return "resolved"
        resumed_shop = None
        if incident is not None:
            incident.later_due_at = None if not done.skipped else now + LATER_RETRY
            if done.recovered:
                resumed_shop = incident.shop_id
    if resumed_shop is not None:
        # This one's probe found Shopify answering again: the shop's other cases put off
        # meanwhile come back at the sweeper's next pass, not a whole retry later. In a
        # transaction of its own: not while this case's row is held (a lock on many cases
        # taken by one that holds another is how two workers wait on each other).
        # Their rows are taken in id order, as the desk's batches take them, and one another
        # worker holds is left to the sweeper: an UPDATE takes rows in the order it scans them,
        # which deadlocked with an agent's bulk resolve.
        with session_scope(sessions) as session:
            waiting = session.scalars(
                select(Incident.id)
                .where(
                    Incident.shop_id == resumed_shop,
                    Incident.id != incident_id,
                    Incident.later_due_at > now,
                )
                .order_by(Incident.id)
                .with_for_update(key_share=True, skip_locked=True)
            ).all()
            if waiting:
                session.execute(
                    update(Incident).where(Incident.id.in_(waiting)).values(later_due_at=now)
                )
        log.info("later_work_resumed", shop_id=resumed_shop, after=done.recovered)
    if done.skipped:
        log.info("later_work_skipped", incident_id=incident_id, skipped=done.skipped)
        return "postponed"
    return "done"


def flow_key(incident_id: int) -> str:
    """One Flow trigger per case: the key its outbox row is recorded under."""
    return f"flow:incident:{incident_id}"


def _take_flow(
    *, session: Session, case: Case, payload: Mapping[str, Any], key: str, now: datetime
) -> bool:
    """Record the case's Flow trigger and take it for sending, committed before the call: False
    when it was sent, or was being sent by a worker that died (Flow cannot tell a repeat, so
    the merchant's automation must not run twice: at most once)."""
    outbox.stage(
        session=session,
        shop_id=case.shop_id,
        incident_id=case.incident_id,
        kind=outbox.EffectKind.FLOW,
        key=key,
        payload=payload,
        now=now,
    )
    return outbox.take(session=session, key=key, now=now) is not None


@dataclass(frozen=True)
class _TagReading:
    """What an `orders/updated` delivery's tags change on the case: the order's new record in
    `tag_state`, a person's close (how), and whether the case is to be attended again."""

    record: Mapping[str, Any] | None = None
    resolved_by: str | None = None
    attend: bool = False


def _read_order_tags(  # noqa: PLR0911, PLR0912 - one return per way the tags can read
    *,
    incident: Incident,
    gid: str,
    present: set[str],
    updated_at: datetime | None,
    settings: TagSettings,
) -> _TagReading | None:
    """Pure: None when the delivery changes nothing (Clout's own echo, an old state)."""
    if incident.status != IncidentStatus.OPEN:
        return None
    written = (incident.tag_state or {}).get(gid)
    if written is None:
        # Clout has not written to this order yet: nothing to compare. Attended already, the
        # order refused its tags (too many, say): a change to it may have made room.
        return _TagReading(attend=True) if incident.attended_at is not None else None
    written_at = datetime.fromisoformat(written["written_at"])
    # In any case, as Shopify reads tags (`same_tag`).
    attention = has_tag(present, settings.attention_tag)
    resolved = has_tag(present, settings.resolved_tag)
    if updated_at is not None and updated_at < written_at - timedelta(seconds=2):
        return None  # the state before Clout's own write, delivered late
    if written.get(REOPENED_AT) is not None:
        # An order of a reopened case, while Clout is putting it back (resolved tag off, then
        # its tags on): the states in between — the resolved tag still there, or neither tag —
        # are Clout's own work echoing, never a person closing it again. Once Shopify shows the
        # attention tag back without the resolved tag, the order is in step: from then on the
        # usual reading applies, to deliveries newer than that one (Shopify's own clock on both
        # sides, so no allowance for skew).
        if not attention or resolved:
            return None
        record = {k: v for k, v in written.items() if k != REOPENED_AT}
        if updated_at is not None:
            record["in_step_at"] = updated_at.isoformat()
        return _TagReading(record=record)
    seen = written.get("in_step_at")
    if updated_at is not None and seen is not None:
        in_step_at = datetime.fromisoformat(seen)
        if updated_at < in_step_at:
            return None  # an older state than one already seen in step (webhooks are unordered)
        if updated_at == in_step_at:
            # Shopify stamps whole seconds. The resolved tag in the very second Clout took it
            # off is either the echo of Clout's tagsAdd (before the removal) or a person putting
            # it back, and the attention tag gone is a person taking it off; the later work's
            # read of the order tells (its attendance rings it at once). Anything else in that
            # second is Clout's own echo.
            if not resolved and attention:
                return None
            return _TagReading(record={**written, CHECK_RESOLVED: True}, attend=True)
    if resolved and not written.get(RESOLVED_KEPT):
        return _TagReading(resolved_by="resolved-tag", attend=True)
    if not attention:
        return _TagReading(resolved_by="attention-tag-removed", attend=True)
    if all(has_tag(present, t) for t in written["tags"]):
        return None  # Clout's own write echoing back: nothing to do (no loop)
    return _TagReading(attend=True)  # another app or a person removed one of Clout's tags


def note_order_tags(
    *,
    session: Session,
    shop: Shop,
    order: Order,
    tags: list[str],
    updated_at: datetime | None,
    settings: TagSettings,
    now: datetime,
) -> list[Incident]:
    """An `orders/updated` delivery's tags, read against what Clout wrote: a person resolving the
    case (resolved tag added, attention tag removed), drift to repair, or Clout's own echo. The
    cases to attend: the one read, and a new one holding what came after a person's close."""
    found = session.scalar(
        select(Incident.id)
        .join(Signal, Signal.incident_id == Incident.id)
        .where(
            Incident.shop_id == shop.id,
            Incident.status == IncidentStatus.OPEN,
            Signal.order_id == order.id,
        )
    )
    if found is None:
        return []
    reading = partial(
        _read_order_tags,
        gid=order.shopify_id,
        present=set(tags),
        updated_at=updated_at,
        settings=settings,
    )
    # Most deliveries are Clout's own write echoing back and change nothing: those take no
    # lock (this transaction holds the order's row; a reconciliation page may hold the case
    # and want the order next). What does change the case is read again under its lock.
    unlocked = session.get(Incident, found)
    if unlocked is None or reading(incident=unlocked) is None:
        return []
    incident = locked_incident(session, found)
    done = reading(incident=incident) if incident is not None else None
    if incident is None or done is None:
        return []
    if done.record is not None:
        incident.tag_state = {**(incident.tag_state or {}), order.shopify_id: dict(done.record)}
    later = None
    if done.resolved_by is not None:
        resolve_incident(session=session, incident=incident, by=done.resolved_by, now=now)
        if updated_at is not None:
            # A complaint recorded after the person acted is no part of what they closed.
            later = carry_over_after(session=session, incident=incident, after=updated_at, now=now)
    if not done.attend:
        return [later] if later is not None else []
    incident.needs_attention = True
    return [incident] if later is None else [incident, later]
