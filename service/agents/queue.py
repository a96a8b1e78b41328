"""The agents' view of the attention floor: who is waiting, why, for how long, and how much
influence they carry — read from the database, one shop at a time.

Plain functions over a session; the page and its JSON live in `service.agents.views`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from service.attention.fairness import BANDS, BandFigures, fairness
from service.attention.pending import tag_state
from service.core.models import Customer, Incident, InfluenceProfile, Order, Shop, Signal
from service.core.vocabulary import IncidentStatus, Priority
from service.signals.incidents import resolve_incident

PAGE = "page:"  # resolved_by prefix of a resolution made on the agents' page
REASONS = ("review", "refund", "dispute", "return", "delivery", "cancellation", "note")
# The chart's dividing line: above it a score beats most of the shop's customers.
QUADRANT_SPLIT = 50.0
QUADRANTS = {
    "word-of-mouth": "Word-of-mouth influencers: real pull, no follower count",
    "everywhere": "Influential everywhere: online and among your customers",
    "online-only": "Online reach only: followers, little pull among your customers",
    "everyday": "Everyday customers: the attention floor still holds",
}


class FilterError(ValueError):
    """A filter value the queue does not know."""


@dataclass(frozen=True)
class QueueFilters:
    priority: str | None = None
    reason: str | None = None
    overdue: bool | None = None
    band: str | None = None

    def __post_init__(self) -> None:
        for name, value, allowed in (
            ("priority", self.priority, tuple(Priority)),
            ("reason", self.reason, REASONS),
            ("band", self.band, BANDS),
        ):
            if value is not None and value not in allowed:
                raise FilterError(f"{name} must be one of {', '.join(allowed)}")


def admin_link(shop_domain: str, gid: str | None) -> str | None:
    """The order or customer page in the Shopify admin (the store's own admin address, which
    Shopify forwards to admin.shopify.com)."""
    if not gid or not gid.startswith("gid://shopify/"):
        return None
    kind, _, number = gid.removeprefix("gid://shopify/").partition("/")
    section = {"Order": "orders", "Customer": "customers"}.get(kind)
    if section is None or not number.isdigit():
        return None
    return f"https://{shop_domain}/admin/{section}/{number}"


def quadrant(clout: float | None, klout: float | None) -> str | None:
    """Where a customer sits on the Klout-versus-clout picture; None while clout is unknown.
    An unknown Klout counts as none: the customer follower counts miss."""
    if clout is None:
        return None
    online = klout is not None and klout >= QUADRANT_SPLIT
    offline = clout >= QUADRANT_SPLIT
    if offline:
        return "everywhere" if online else "word-of-mouth"
    return "online-only" if online else "everyday"


def _name(customer: Customer | None) -> str:
    if customer is None or customer.redacted_at is not None:
        return "(erased customer)"
    full = " ".join(p for p in (customer.first_name, customer.last_name) if p)
    if full or customer.email:
        return full or customer.email or ""
    if customer.shopify_id.startswith("gid://shopify/Customer/"):
        return f"Customer {customer.shopify_id.rsplit('/', 1)[-1]} (no name on file)"
    return "Guest checkout (no customer account)"


def _order_name(order: Order) -> str:
    return order.name or f"order {order.shopify_id.rsplit('/', 1)[-1]}"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _profile_view(profile: InfluenceProfile | None, incident: Incident) -> dict[str, Any]:
    decided = incident.influence or {}
    if profile is None:
        return {
            "band": decided.get("band", "unknown"),
            "clout": None,
            "klout": None,
            "clout_reasons": [],
            "klout_reasons": [],
            "unknown": ["no profile yet"],
            "complete": False,
            "opted_out": False,
            "contagion": 0,
            "computed_at": None,
            "raised_by": decided.get("raised_by", []),
            "quadrant": None,
        }
    reasons = profile.reasons or {}
    return {
        "band": decided.get("band", "unknown"),
        "clout": profile.clout_score,
        "klout": profile.klout_score,
        "clout_reasons": list(reasons.get("clout", [])),
        "klout_reasons": list(reasons.get("klout", [])),
        "unknown": list((profile.unknown or {}).get("inputs", [])),
        "complete": profile.complete,
        "opted_out": profile.opted_out,
        "contagion": profile.contagion,
        "computed_at": _iso(profile.computed_at),
        "raised_by": decided.get("raised_by", []),
        "quadrant": None
        if profile.opted_out
        else quadrant(profile.clout_score, profile.klout_score),
    }


def _open_incidents(*, session: Session, shop_id: int, filters: QueueFilters, now: datetime) -> Any:
    query = select(Incident).where(
        Incident.shop_id == shop_id, Incident.status == IncidentStatus.OPEN
    )
    if filters.priority is not None:
        query = query.where(Incident.priority == filters.priority)
    if filters.overdue is True:
        query = query.where(Incident.deadline_at < now)
    elif filters.overdue is False:
        query = query.where(or_(Incident.deadline_at.is_(None), Incident.deadline_at >= now))
    if filters.band is not None:
        band = func.coalesce(Incident.influence["band"].as_string(), "unknown")
        query = query.where(band == filters.band)
    if filters.reason is not None:
        query = query.where(
            exists().where(Signal.incident_id == Incident.id, Signal.kind == filters.reason)
        )
    # Soonest deadline first; a case not yet decided (no deadline) is the most urgent of all.
    return query.order_by(
        Incident.deadline_at.is_not(None), Incident.deadline_at, Incident.opened_at, Incident.id
    )


def attention_queue(
    *, session: Session, shop: Shop, now: datetime, filters: QueueFilters, limit: int = 500
) -> list[dict[str, Any]]:
    """Open incidents of one shop, soonest deadline first, each with everything an agent needs
    to act: who, why (the signal timeline), both scores and their reasons, time left."""
    incidents = list(
        session.scalars(
            _open_incidents(session=session, shop_id=shop.id, filters=filters, now=now)
            .options(selectinload(Incident.signals))
            .limit(limit)
        )
    )
    customers = _by_id(session, Customer, {i.customer_id for i in incidents})
    profiles = {
        p.customer_id: p
        for p in session.scalars(
            select(InfluenceProfile).where(
                InfluenceProfile.customer_id.in_({i.customer_id for i in incidents})
            )
        )
    }
    orders = _by_id(
        session, Order, {s.order_id for i in incidents for s in i.signals if s.order_id is not None}
    )
    return [
        _entry(
            incident,
            shop=shop,
            customer=customers.get(incident.customer_id),
            profile=profiles.get(incident.customer_id),
            orders=orders,
            now=now,
        )
        for incident in incidents
    ]


def _by_id(session: Session, model: Any, ids: Iterable[int]) -> dict[int, Any]:
    wanted = set(ids)
    if not wanted:
        return {}
    return {row.id: row for row in session.scalars(select(model).where(model.id.in_(wanted)))}


def _entry(
    incident: Incident,
    *,
    shop: Shop,
    customer: Customer | None,
    profile: InfluenceProfile | None,
    orders: dict[int, Order],
    now: datetime,
) -> dict[str, Any]:
    timeline = []
    incident_orders: dict[int, Order] = {}
    for signal in incident.signals:
        order = orders.get(signal.order_id) if signal.order_id is not None else None
        if order is not None:
            incident_orders[order.id] = order
        timeline.append(
            {
                "kind": signal.kind,
                "reason": signal.reason,
                "severity": signal.severity,
                "occurred_at": _iso(signal.occurred_at),
                "sentences": list((signal.detail or {}).get("sentences", [])),
                "order": _order_name(order) if order is not None else None,
            }
        )
    left = (incident.deadline_at - now).total_seconds() if incident.deadline_at else None
    return {
        "id": incident.id,
        "customer": {
            "name": _name(customer),
            "email": customer.email if customer and customer.redacted_at is None else None,
            "admin_url": admin_link(shop.domain, customer.shopify_id if customer else None),
        },
        "severity": incident.severity,
        "priority": incident.priority,
        "deadline_at": _iso(incident.deadline_at),
        "seconds_left": left,
        "overdue": left is not None and left < 0,
        "opened_at": _iso(incident.opened_at),
        "escalations": incident.escalations,
        "tagged": incident.tagged_at is not None,
        # landed, pending (not in Shopify yet: Clout keeps trying) or none (nothing to tag)
        "tag_state": tag_state(
            incident,
            pending=any(
                o.shopify_id.startswith("gid://shopify/Order/") for o in incident_orders.values()
            )
            or bool(customer and customer.shopify_id.startswith("gid://shopify/Customer/")),
        ),
        "reasons": sorted({s.kind for s in incident.signals}),
        "timeline": timeline,
        "orders": [
            {"name": _order_name(o), "admin_url": admin_link(shop.domain, o.shopify_id)}
            for o in incident_orders.values()
        ],
        "influence": _profile_view(profile, incident),
    }


@dataclass(frozen=True)
class Picture:
    points: list[dict[str, Any]]
    not_placed: int  # unhappy customers whose clout is not known (opted out, not yet computed)
    quadrants: dict[str, int]
    fairness: list[BandFigures]


def influence_picture(*, session: Session, shop: Shop, now: datetime) -> Picture:
    """Unhappy customers (open incidents) placed by Klout and clout, and how long each influence
    band waited over the last 90 days."""
    rows = session.execute(
        select(Incident, Customer, InfluenceProfile)
        .join(Customer, Customer.id == Incident.customer_id)
        .outerjoin(InfluenceProfile, InfluenceProfile.customer_id == Incident.customer_id)
        .where(Incident.shop_id == shop.id, Incident.status == IncidentStatus.OPEN)
    ).all()
    points: list[dict[str, Any]] = []
    counts = dict.fromkeys(QUADRANTS, 0)
    not_placed = 0
    for incident, customer, profile in rows:
        place = (
            None
            if profile is None or profile.opted_out
            else quadrant(profile.clout_score, profile.klout_score)
        )
        if place is None or profile is None:
            not_placed += 1
            continue
        counts[place] += 1
        points.append(
            {
                "incident_id": incident.id,
                "name": _name(customer),
                "clout": round(profile.clout_score or 0.0, 1),
                "klout": None if profile.klout_score is None else round(profile.klout_score, 1),
                "priority": incident.priority,
                "quadrant": place,
                "overdue": incident.deadline_at is not None and incident.deadline_at < now,
            }
        )
    return Picture(
        points=points,
        not_placed=not_placed,
        quadrants=counts,
        fairness=fairness(session=session, since=now - timedelta(days=90), shop_id=shop.id),
    )


def resolve_from_page(
    *, session: Session, shop: Shop, incident_id: int, by: str, now: datetime
) -> Incident | None:
    """An agent resolved the case on the page: the same as the resolved tag. None when the
    incident is not this shop's (another shop's ids are not even acknowledged)."""
    if not by.startswith(PAGE):
        raise ValueError("a resolution from the page is recorded as page:<who>")
    incident = session.scalar(
        select(Incident).where(Incident.id == incident_id, Incident.shop_id == shop.id)
    )
    if incident is None:
        return None
    if resolve_incident(session=session, incident=incident, by=by[:32], now=now):
        # The worker writes the resolved tag to Shopify and takes Clout's other tags off.
        incident.needs_attention = True
    return incident
