"""Bringing Shopify up to date with an incident: tags, metafields, the Flow trigger.

The attention tag is written first and on its own: whatever else fails (a profile that cannot be
computed, metafields Shopify refuses, a read that errors), the floor lands. Tags are only ever
added or removed with `tagsAdd` / `tagsRemove`. What Clout wrote is remembered per order, so
the `orders/updated` echo of Clout's own write is recognised and causes no further writes.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.attention.policy import Decision, customer_tags, decide, is_clout_tag
from service.core.logs import get_logger
from service.core.models import Customer, Incident, InfluenceProfile, Order, Shop, Signal
from service.core.vocabulary import Floor, IncidentStatus, Severity, ShopStatus
from service.influence.klout import KloutProvider
from service.influence.profiles import ShopFactsCache, refresh_profile, stored_influence
from service.influence.scoring import Influence
from service.shopify.admin import ShopifyAdmin, ShopifyRefused, ShopifyUnavailable
from service.signals.incidents import resolve_incident

log = get_logger(__name__)

FLOW_TRIGGER_HANDLE = "unhappy-customer-detected"
MAX_DRIFT_REPAIRS = 3


@dataclass(frozen=True)
class TagSettings:
    attention_tag: str
    resolved_tag: str
    floors: Mapping[Severity, Floor]
    opt_out_tag: str = "clout-opt-out"
    klout: KloutProvider | None = None  # when an online-reach provider is configured
    facts_cache: ShopFactsCache | None = None  # kept by the worker process between incidents
    profile_max_age: timedelta = timedelta(hours=1)


def _shopify_gid(value: str) -> bool:
    return value.startswith("gid://shopify/")


def _managed(tag: str, settings: TagSettings) -> bool:
    return is_clout_tag(tag, settings.attention_tag) and tag != settings.resolved_tag


def influence_for(*, session: Session, customer: Customer) -> Influence | None:
    """The customer's influence, from their stored profile; None while unknown."""
    return stored_influence(session=session, customer=customer)


def _influence_outdated(
    *, session: Session, incident: Incident, settings: TagSettings, now: datetime
) -> bool:
    """Whether the customer's profile is missing, incomplete or older than this incident."""
    profile = session.scalar(
        select(InfluenceProfile).where(InfluenceProfile.customer_id == incident.customer_id)
    )
    return not (
        profile is not None
        and profile.complete
        and profile.computed_at is not None
        and profile.computed_at >= max(now - settings.profile_max_age, incident.opened_at)
    )


def _refresh_influence(
    *, session: Session, shop: Shop, incident: Incident, settings: TagSettings, now: datetime
) -> None:
    """Recompute the customer's profile. Never in the floor's way: it runs after the attention
    tag has landed, and any failure leaves influence as it was (unknown, never zero)."""
    customer = session.get(Customer, incident.customer_id)
    if customer is None:
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
                cache=settings.facts_cache,
            )
    except Exception as error:  # noqa: BLE001 - enrichment must never block the attention floor
        log.warning("profile_not_computed", incident_id=incident.id, error=type(error).__name__)


def decision_for(*, session: Session, incident: Incident, settings: TagSettings) -> Decision:
    signals = incident.signals
    customer = session.get(Customer, incident.customer_id)
    influence = influence_for(session=session, customer=customer) if customer else None
    return decide(
        severity=incident.severity,
        opened_at=incident.opened_at,
        influence=influence,
        kinds={s.kind for s in signals},
        attention_tag=settings.attention_tag,
        floors=settings.floors,
        escalations=incident.escalations,
        overdue=incident.overdue_at is not None,
    )


def _apply_decision(*, session: Session, incident: Incident, settings: TagSettings) -> Decision:
    """Decide from the stored profile and record it on the incident."""
    decision = decision_for(session=session, incident=incident, settings=settings)
    incident.priority = decision.priority
    # Deadlines only ever come closer.
    incident.deadline_at = min(filter(None, (incident.deadline_at, decision.deadline_at)))
    customer = session.get(Customer, incident.customer_id)
    known = influence_for(session=session, customer=customer) if customer else None
    incident.influence = {
        "band": decision.band,
        "reasons": list(decision.reasons),
        "raised_by": list(decision.raised_by),
        "clout": known.clout if known else None,
        "klout": known.klout if known else None,
    }
    return decision


def _land_tags(
    *,
    client: ShopifyAdmin,
    incident: Incident,
    targets: dict[str, tuple[str, ...]],
    state: dict[str, Any],
    now: datetime,
) -> None:
    """tagsAdd wherever Clout's tags are not all there yet (by what Clout last wrote)."""
    for gid, tags in targets.items():
        written = state.get(gid, {}).get("tags")
        if written is not None and set(tags) <= set(written):
            continue
        try:
            client.add_tags(gid, list(tags))
        except ShopifyRefused as error:
            log.warning("tag_refused", incident_id=incident.id, gid=gid, error=str(error)[:200])
            continue
        state[gid] = {"tags": sorted(set(tags) | set(written or [])), "written_at": now.isoformat()}
        if incident.tagged_at is None and gid.startswith("gid://shopify/Order/"):
            incident.tagged_at = now
    incident.tag_state = dict(state)


def attend_incident(
    *,
    session: Session,
    incident_id: int,
    admin: Callable[[Shop], ShopifyAdmin],
    settings: TagSettings,
    now: datetime,
) -> str:
    """Decide priority and deadline, then make Shopify show it. Idempotent: a second run with
    nothing new writes nothing. Raises TransientError when the attention tag could not land."""
    incident = session.get(Incident, incident_id)
    if incident is None:
        return "gone"
    shop = session.get(Shop, incident.shop_id)
    if shop is None or shop.status != ShopStatus.ACTIVE:
        incident.needs_attention = False
        return "shop-inactive"
    if incident.status != IncidentStatus.OPEN:
        return _clear_resolved(
            session=session, incident=incident, shop=shop, admin=admin, settings=settings, now=now
        )

    # The floor first, on what is known now: a profile may take a scan of the whole shop, and
    # the attention tag must not wait for it.
    outdated = _influence_outdated(session=session, incident=incident, settings=settings, now=now)
    decision = _apply_decision(session=session, incident=incident, settings=settings)
    # A few quick tries; a longer outage is the task queue's to wait out (retry with back-off).
    client = dataclasses.replace(admin(shop), max_attempts=3, max_wait=20.0)
    state = dict(incident.tag_state or {})
    targets = _targets(session=session, incident=incident, decision=decision, settings=settings)
    considered = len(incident.signals)
    # Save the decision and let go of the database before talking to Shopify: no lock is held
    # across a network call (on SQLite, intake would be waiting for it).
    session.commit()

    # 1. The floor: every order and the customer get the attention tag (with the rest of
    #    Clout's tags in the same additive call). Only this step may fail the task.
    _land_tags(client=client, incident=incident, targets=targets, state=state, now=now)
    session.commit()

    # 1b. Then influence, which can only raise the priority and bring the deadline closer.
    if outdated:
        _refresh_influence(
            session=session, shop=shop, incident=incident, settings=settings, now=now
        )
        decision = _apply_decision(session=session, incident=incident, settings=settings)
        targets = _targets(session=session, incident=incident, decision=decision, settings=settings)
        session.commit()
        _land_tags(client=client, incident=incident, targets=targets, state=state, now=now)
        session.commit()
    customer = session.get(Customer, incident.customer_id)
    first_order = _first_order(session=session, incident=incident)
    sentences = [
        s for signal in incident.signals for s in (signal.detail or {}).get("sentences", [])
    ]
    # Reading those began a transaction: end it before the best-effort calls to Shopify (on
    # SQLite an open transaction holds the write lock, and intake would wait behind it).
    session.commit()

    # 2. Best effort from here: stale tags removed, read back for drift, metafields, Flow. A
    #    short-fused client: an unwell Shopify must not hold the floor's next incident back.
    client = dataclasses.replace(client, max_attempts=2, max_wait=5.0)
    _tidy_tags(
        client=client, incident=incident, targets=targets, state=state, settings=settings, now=now
    )
    _write_metafields(
        client=client, incident=incident, decision=decision, customer=customer, sentences=sentences
    )
    _send_flow_trigger(
        client=client,
        incident=incident,
        decision=decision,
        customer=customer,
        order=first_order,
        sentences=sentences,
        now=now,
    )
    incident.tag_state = state
    incident.attended_at = now
    # A signal that arrived meanwhile keeps the incident waiting for its own attendance.
    now_counted = session.scalar(
        select(func.count()).select_from(Signal).where(Signal.incident_id == incident.id)
    )
    incident.needs_attention = bool(now_counted and now_counted > considered)
    return "attended"


def _targets(
    *, session: Session, incident: Incident, decision: Decision, settings: TagSettings
) -> dict[str, tuple[str, ...]]:
    targets: dict[str, tuple[str, ...]] = {}
    order_ids = {s.order_id for s in incident.signals if s.order_id is not None}
    for order in session.scalars(select(Order).where(Order.id.in_(order_ids))):
        if _shopify_gid(order.shopify_id):
            targets[order.shopify_id] = decision.tags
    customer = session.get(Customer, incident.customer_id)
    if customer is not None and customer.shopify_id.startswith("gid://shopify/Customer/"):
        targets[customer.shopify_id] = customer_tags(decision, settings.attention_tag)
    return targets


def _tidy_tags(
    *,
    client: ShopifyAdmin,
    incident: Incident,
    targets: dict[str, tuple[str, ...]],
    state: dict[str, Any],
    settings: TagSettings,
    now: datetime,
) -> None:
    for gid, wanted in targets.items():
        try:
            present = set(client.tags_of(gid))
        except (ShopifyUnavailable, ShopifyRefused):
            continue  # reads failing never undo the floor; the next attendance tries again
        stale = sorted(t for t in present if _managed(t, settings) and t not in wanted)
        missing = sorted(set(wanted) - present)
        try:
            if stale:
                client.remove_tags(gid, stale)
            if missing and incident.drift_repairs < MAX_DRIFT_REPAIRS:
                incident.drift_repairs += 1
                log.warning("tag_drift_repaired", incident_id=incident.id, gid=gid, missing=missing)
                client.add_tags(gid, missing)
            elif missing:
                log.warning("tag_drift_left", incident_id=incident.id, gid=gid, missing=missing)
        except (ShopifyUnavailable, ShopifyRefused):
            continue
        state[gid] = {"tags": sorted(wanted), "written_at": now.isoformat()}


def _first_order(*, session: Session, incident: Incident) -> Order | None:
    orders = [s.order_id for s in incident.signals if s.order_id]
    return session.get(Order, orders[0]) if orders else None


def _write_metafields(
    *,
    client: ShopifyAdmin,
    incident: Incident,
    decision: Decision,
    customer: Customer | None,
    sentences: list[str],
) -> None:
    if customer is None or not customer.shopify_id.startswith("gid://shopify/Customer/"):
        return
    influence = incident.influence or {}
    fields = {
        "attention_deadline": ("date_time", decision.deadline_at.strftime("%Y-%m-%dT%H:%M:%SZ")),
        "attention_priority": ("single_line_text_field", decision.priority),
        "attention_severity": ("single_line_text_field", incident.severity),
        "attention_reasons": ("json", json.dumps(sentences[:20])),
        "influence_band": ("single_line_text_field", influence.get("band", "unknown")),
    }
    for key, score in (
        ("clout_score", influence.get("clout")),
        ("klout_score", influence.get("klout")),
    ):
        if score is not None:
            fields[key] = ("number_integer", str(round(score)))
    try:
        client.set_metafields(customer.shopify_id, fields)
    except (ShopifyUnavailable, ShopifyRefused) as error:
        log.info("metafields_not_written", incident_id=incident.id, error=type(error).__name__)


def flow_trigger_payload(
    *,
    incident: Incident,
    decision: Decision,
    customer: Customer | None,
    order: Order | None,
    sentences: list[str],
) -> dict[str, Any] | None:
    """What the "Unhappy customer detected" Flow trigger carries, in the fields and types its
    extension declares (extensions/unhappy-customer-detected): every custom field always there,
    text where text is declared (a score Clout does not know reads "unknown", never a made-up
    number), and the order and customer as Flow's references (`order_id`, `customer_id`, the
    numeric ids). None when the case has neither in Shopify: Flow has nothing to act on."""
    customer_id = _legacy_id(customer.shopify_id, "Customer") if customer else None
    order_id = _legacy_id(order.shopify_id, "Order") if order else None
    if customer_id is None and order_id is None:
        return None
    influence = incident.influence or {}
    payload: dict[str, Any] = {
        "severity": incident.severity,
        "priority": decision.priority,
        "deadline": decision.deadline_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "influence_band": decision.band,
        "clout_score": _score_text(influence.get("clout")),
        "klout_score": _score_text(influence.get("klout")),
        "reasons": "\n".join(" ".join(s.split()) for s in sentences[:10]) or incident.severity,
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


def _send_flow_trigger(
    *,
    client: ShopifyAdmin,
    incident: Incident,
    decision: Decision,
    customer: Customer | None,
    order: Order | None,
    sentences: list[str],
    now: datetime,
) -> None:
    """Shopify Flow's "Unhappy customer detected" trigger, once per incident."""
    if incident.flow_sent_at is not None:
        return
    payload = flow_trigger_payload(
        incident=incident, decision=decision, customer=customer, order=order, sentences=sentences
    )
    if payload is None:
        return
    try:
        errors = client.send_flow_trigger(FLOW_TRIGGER_HANDLE, payload)
    except (ShopifyUnavailable, ShopifyRefused) as error:
        log.info("flow_trigger_not_sent", incident_id=incident.id, error=type(error).__name__)
        return
    if errors:
        log.info("flow_trigger_refused", incident_id=incident.id, errors=len(errors))
        return
    incident.flow_sent_at = now


def _clear_resolved(
    *,
    session: Session,
    incident: Incident,
    shop: Shop,
    admin: Callable[[Shop], ShopifyAdmin],
    settings: TagSettings,
    now: datetime,
) -> str:
    """A resolved case: take Clout's priority, reason and overdue tags off (the attention tag
    too, unless a person's resolved tag is the record of it)."""
    client = admin(shop)
    from_page = (incident.resolved_by or "").startswith("page:")
    for gid in list((incident.tag_state or {}).keys()):
        try:
            if from_page and gid.startswith("gid://shopify/Order/"):
                # Resolved on the agents' page: leave the same record in Shopify as a person
                # adding the resolved tag would, for the admin and for Flow.
                client.add_tags(gid, [settings.resolved_tag])
            present = client.tags_of(gid)
            stale = [t for t in present if _managed(t, settings)]
            if stale:
                client.remove_tags(gid, stale)
        except ShopifyRefused:
            continue
    incident.needs_attention = False
    incident.attended_at = now
    return "cleared"


def note_order_tags(  # noqa: PLR0911 - one return per way the tags can read
    *,
    session: Session,
    shop: Shop,
    order: Order,
    tags: list[str],
    updated_at: datetime | None,
    settings: TagSettings,
    now: datetime,
) -> Incident | None:
    """An `orders/updated` delivery's tags, read against what Clout wrote: a person resolving the
    case (resolved tag added, attention tag removed), drift to repair, or Clout's own echo."""
    incident = session.scalar(
        select(Incident)
        .join(Signal, Signal.incident_id == Incident.id)
        .where(
            Incident.shop_id == shop.id,
            Incident.status == IncidentStatus.OPEN,
            Signal.order_id == order.id,
        )
    )
    if incident is None:
        return None
    written = (incident.tag_state or {}).get(order.shopify_id)
    if written is None:
        return None  # Clout has not written to this order yet: nothing to compare
    written_at = datetime.fromisoformat(written["written_at"])
    if updated_at is not None and updated_at < written_at - timedelta(seconds=2):
        return None  # the state before Clout's own write, delivered late
    present = set(tags)
    if settings.resolved_tag in present:
        resolve_incident(session=session, incident=incident, by="resolved-tag", now=now)
        incident.needs_attention = True
        return incident
    if settings.attention_tag not in present:
        resolve_incident(session=session, incident=incident, by="attention-tag-removed", now=now)
        incident.needs_attention = True
        return incident
    if set(written["tags"]) <= present:
        return None  # Clout's own write echoing back: nothing to do (no loop)
    incident.needs_attention = True  # another app or a person removed one of Clout's tags
    return incident
