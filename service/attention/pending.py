"""Tags that have not reached Shopify yet: visible, counted, and announced.

A tag Shopify has not taken (Shopify down, throttling, a refused token) must not look like one
that landed. An open case with something to tag in Shopify (an order, or a customer Shopify
knows) whose attention tag has not landed is *pending*: `clout incidents list`, `clout
deliveries list`, the agents' page and `/metrics` say so, and past the shop's
`pending_alert_minutes` its channels hear of it once. A pending case whose tag Shopify
*refused* (the order deleted, or with too many tags) is said apart: waiting will not land
it, the store can (Clout tries again when the order changes).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from service.attention import outbox
from service.attention.notify import Notifier
from service.attention.outbox import EffectKind
from service.core.logs import get_logger
from service.core.models import (
    Customer,
    Incident,
    IncidentEvent,
    Order,
    OutboundEffect,
    Shop,
    Signal,
)
from service.core.shop_settings import ShopConfig
from service.core.vocabulary import CaseEvent, IncidentStatus, ShopStatus

log = get_logger(__name__)


def in_shopify() -> ColumnElement[bool]:
    """The incident has something Shopify can carry a tag on."""
    # Correlated on the incident alone: a query that also selects customers or orders must not
    # have them swallowed by these subqueries.
    signal, order, customer = aliased(Signal), aliased(Order), aliased(Customer)
    on_order = (
        exists()
        .where(
            signal.incident_id == Incident.id,
            order.id == signal.order_id,
            order.shopify_id.like("gid://shopify/Order/%"),
        )
        .correlate(Incident)
    )
    on_customer = (
        exists()
        .where(
            customer.id == Incident.customer_id,
            customer.shopify_id.like("gid://shopify/Customer/%"),
        )
        .correlate(Incident)
    )
    return or_(on_order, on_customer)


def of_connected_shop() -> ColumnElement[bool]:
    """The incident's store has Clout installed. One that uninstalled keeps its cases until
    `shop/redact`, but nothing of them can reach Shopify: its people are neither paged nor
    told to run `clout doctor` about them. Back, its cases are attended again
    (`shops.reconnected`)."""
    return Incident.shop_id.in_(select(Shop.id).where(Shop.status == ShopStatus.ACTIVE))


def is_pending() -> ColumnElement[bool]:
    return and_(Incident.status == IncidentStatus.OPEN, Incident.tagged_at.is_(None), in_shopify())


@dataclass(frozen=True)
class PendingFigures:
    count: int
    oldest_seconds: float  # 0 when none


def pending_figures(*, session: Session, now: datetime) -> PendingFigures:
    count, oldest = session.execute(
        select(func.count(), func.min(Incident.opened_at)).where(is_pending())
    ).one()
    return PendingFigures(
        count=int(count or 0),
        oldest_seconds=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
    )


# What the store can do about a tag Shopify refused, said alike on the agents' page and in the
# pending alert (`clout doctor` says it in the operator's words).
REFUSED_ADVICE = (
    "check in the Shopify admin that the order or customer still exists and, if Shopify says "
    "it has too many tags, remove some: Clout tries again when the order changes."
)


def refusals(
    *, session: Session, shop_id: int, incident_id: int | None = None
) -> list[tuple[int, str]]:
    """Shopify's refusals of pending cases' tags since each case last opened, latest first:
    (case, Shopify's words); one case's alone with `incident_id`. A refusal before a reopen is
    history: the reopen tries again."""
    reopened = aliased(IncidentEvent)
    last_opened = (
        select(func.coalesce(func.max(reopened.id), 0))
        .where(
            reopened.incident_id == IncidentEvent.incident_id,
            reopened.kind == CaseEvent.REOPENED.value,
        )
        .scalar_subquery()
    )
    query = (
        select(IncidentEvent.incident_id, IncidentEvent.detail)
        .join(Incident, Incident.id == IncidentEvent.incident_id)
        .where(
            is_pending(),
            Incident.shop_id == shop_id,
            IncidentEvent.kind == CaseEvent.TAG_REFUSED.value,
            IncidentEvent.id > last_opened,
        )
        .order_by(IncidentEvent.id.desc())
    )
    if incident_id is not None:
        query = query.where(Incident.id == incident_id)
    rows = session.execute(query).all()
    return [(case, str((detail or {}).get("why") or "no reason given")) for case, detail in rows]


def tag_state(incident: Incident, *, pending: bool, refused: bool) -> str:
    """How the case stands in Shopify, in a word: landed, pending (Clout keeps trying),
    refused (Shopify refused it: the store can make it land, not waiting) or none (nothing
    to tag)."""
    if incident.tagged_at is not None:
        return "landed"
    if not pending:
        return "none"
    return "refused" if refused else "pending"


def pending_ids(*, session: Session, shop_id: int | None = None) -> set[int]:
    query = select(Incident.id).where(is_pending())
    if shop_id is not None:
        query = query.where(Incident.shop_id == shop_id)
    return set(session.scalars(query))


def alert_pending(
    *,
    session: Session,
    now: datetime,
    config_of: Callable[[int], ShopConfig],
    notifier_of: Callable[[int], Notifier],
) -> list[int]:
    """Tell each shop's channels, once per case, about attention tags that have not reached
    Shopify within its `pending_alert_minutes`. Returns the cases announced.

    The alert is recorded in the outbox (`attention.outbox`), in this transaction with the
    cases' `pending_alerted_at`, and sent after it commits (`escalation.deliver_notices`), as
    escalation notices are: a crash between the channel's answer and the record can neither
    page the merchant twice (Slack, email) nor lose the alert. Its key names the shop and the
    newest case it announces; a case is announced once, so no two alerts share a key. Each
    case's trail says what came of each channel's send, once it settles."""
    waiting: dict[int, list[Incident]] = defaultdict(list)
    for incident in session.scalars(
        select(Incident).where(
            is_pending(), Incident.pending_alerted_at.is_(None), of_connected_shop()
        )
    ):
        config = config_of(incident.shop_id)
        if incident.opened_at <= now - timedelta(minutes=config.pending_alert_minutes):
            waiting[incident.shop_id].append(incident)
    announced: list[int] = []
    for shop_id, cases in waiting.items():
        shop = session.get(Shop, shop_id)
        domain = shop.domain if shop else str(shop_id)
        oldest = max(now - c.opened_at for c in cases)
        minutes = int(oldest.total_seconds() // 60)
        one = len(cases) == 1
        subject = (
            f"Clout: {len(cases)} attention tag{'' if one else 's'} "
            f"{'has' if one else 'have'} not reached Shopify ({domain})"
        )
        # Read by the store's people (their Slack, their inbox): what it means for them first,
        # the operator's command last.
        message = (
            f"{len(cases)} unhappy customer{'' if one else 's'} of {domain} "
            f"{'is' if one else 'are'} not tagged in Shopify yet; the oldest has waited "
            f"{minutes} minute{'' if minutes == 1 else 's'}. "
            + _what_to_do(refused=_refused_of(session, shop_id, cases), cases=len(cases))
            + f"Whoever runs Clout can see why with `clout doctor {domain}` (a refused token, "
            "a missing scope, Shopify unreachable)."
        )
        notice = {
            "subject": subject,
            "message": message,
            "data": {"shop": domain, "pending": len(cases), "oldest_minutes": minutes},
            # Each case's trail says whether each channel was told, once its send settles
            # (`outbox.settle`): recorded here, the alert has reached nobody yet.
            "trail": outbox.trail_of(cases=[c.id for c in cases], why="pending"),
        }
        channels = notifier_of(shop_id).channels()
        _stage_to_each(
            session=session,
            shop_id=shop_id,
            channels=channels,
            alert=f"pending:{shop_id}:{max(c.id for c in cases)}",
            notice=notice,
            now=now,
        )
        if not channels:
            log.warning("attention_pending", shop=domain, pending=len(cases), minutes=minutes)
        for case in cases:
            case.pending_alerted_at = now
            announced.append(case.id)
    return announced


def _refused_of(session: Session, shop_id: int, cases: list[Incident]) -> dict[int, str]:
    named = {c.id for c in cases}
    refused: dict[int, str] = {}
    for case, why in refusals(session=session, shop_id=shop_id):
        if case in named:
            refused.setdefault(case, why)  # the latest refusal
    return refused


def _what_to_do(*, refused: dict[int, str], cases: int) -> str:
    """The alert's middle: Clout retries a tag Shopify did not take, not one Shopify refused
    (waiting will not land that; the store can)."""
    on_page = f"{'the case is' if cases == 1 else 'the cases are'} on the agents' page"
    if not refused:
        return f"Clout keeps trying, and {on_page} meanwhile. "
    latest = next(iter(refused.values()))
    others = cases - len(refused)
    which = (
        "its tag" if cases == 1 else "their tags" if not others else f"{len(refused)} of the tags"
    )
    return (
        f"Shopify refused {which} ({latest}): {REFUSED_ADVICE} "
        + (f"Clout keeps trying the other{'' if others == 1 else 's'}. " if others else "")
        + f"Meanwhile {on_page}. "
    )


# How far back an alert is followed to its end: an outage longer than this is the doctor's.
FOLLOWED_FOR = timedelta(days=7)


def announce_landed(
    *, session: Session, now: datetime, notifier_of: Callable[[int], Notifier]
) -> list[int]:
    """Tell each channel that heard a pending alert, once, when every case it named has its
    attention tag in Shopify (or was closed): whoever was told of the outage learns it is
    over. Keyed on the alert it answers, so it is staged once (`outbox.stage`) and sent as
    the alert was. Returns the cases of the alerts answered."""
    alerts: dict[str, tuple[int, list[int]]] = {}
    for effect in session.scalars(
        select(OutboundEffect).where(
            OutboundEffect.key.like("pending:%"), OutboundEffect.staged_at >= now - FOLLOWED_FOR
        )
    ):
        alert = effect.key.rsplit(":", 1)[0]  # one alert, sent to each of the shop's channels
        cases = [int(c) for c in ((effect.payload or {}).get("trail") or {}).get("cases", [])]
        alerts[alert] = (effect.shop_id, cases)
    answered: list[int] = []
    for alert, (shop_id, cases) in alerts.items():
        if not cases or session.scalar(
            select(func.count()).select_from(Incident).where(Incident.id.in_(cases), is_pending())
        ):
            continue
        shop = session.get(Shop, shop_id)
        domain = shop.domain if shop else str(shop_id)
        one = len(cases) == 1
        notice = {
            "subject": f"Clout: the attention tag{'' if one else 's'} "
            f"{'has' if one else 'have'} reached Shopify ({domain})",
            "message": (
                f"The unhappy customer of {domain} Clout said was not tagged in Shopify is "
                "tagged now (or their case was closed)."
                if one
                else f"The {len(cases)} unhappy customers of {domain} Clout said were not "
                "tagged in Shopify are tagged now (or their cases closed)."
            ),
            "data": {"shop": domain, "landed": len(cases)},
        }
        if any(
            _stage_to_each(
                session=session,
                shop_id=shop_id,
                channels=notifier_of(shop_id).channels(),
                alert=f"landed:{alert.removeprefix('pending:')}",
                notice=notice,
                now=now,
            )
        ):
            answered += cases
    return answered


def _stage_to_each(
    *,
    session: Session,
    shop_id: int,
    channels: Iterable[EffectKind],
    alert: str,
    notice: dict[str, Any],
    now: datetime,
) -> list[bool]:
    """Stage one store-wide notice (no case of its own) for each channel, keyed
    `<alert>:<channel>` so that each channel hears it once whatever the beat repeats."""
    return [
        outbox.stage(
            session=session,
            shop_id=shop_id,
            incident_id=None,
            kind=kind,
            key=f"{alert}:{kind}",
            payload=notice,
            now=now,
        )
        for kind in channels
    ]
