"""The agents' view of the attention floor: who is waiting, why, for how long, and how much
influence they carry — read from the database, one shop at a time.

Plain functions over a session; the page and its JSON live in `service.agents.views`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, not_, or_, select
from sqlalchemy.orm import Session, selectinload

from service.attention.fairness import BANDS, BandFigures, fairness
from service.attention.pending import refusals, tag_state
from service.core.audit import case_events
from service.core.models import (
    Customer,
    Incident,
    InfluenceProfile,
    Order,
    Refund,
    Review,
    Shop,
    Signal,
)
from service.core.vocabulary import IncidentStatus, Priority, Severity

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


MAX_PER_PAGE = 100
# How many of a case's signals the page carries. A customer can add signals without limit (a
# review app that takes unverified reviews lets anyone add them): 300 reviews made one queue
# page 60 KB and the case 140 KB, read again at every poll. The page shows the worst and the
# latest, and how many there are in all; `clout incidents show` prints every one.
QUEUE_TIMELINE_MOST = 10
CASE_TIMELINE_MOST = 100
MAX_SEARCH = 100
ASSIGNED = ("me", "nobody")


@dataclass(frozen=True)
class QueueFilters:
    priority: str | None = None
    reason: str | None = None
    overdue: bool | None = None
    band: str | None = None
    # Words to find in the customer's name or email, or an order's name ("#1001").
    search: str | None = None
    # None: waiting now (snoozed cases out of the way); True: only the snoozed ones.
    snoozed: bool | None = None
    assigned: str | None = None  # "me" or "nobody"
    me: str | None = None  # who "me" is

    def __post_init__(self) -> None:
        for name, value, allowed in (
            ("priority", self.priority, tuple(Priority)),
            ("reason", self.reason, REASONS),
            ("band", self.band, BANDS),
            ("assigned", self.assigned, ASSIGNED),
        ):
            if value is not None and value not in allowed:
                raise FilterError(f"{name} must be one of {', '.join(allowed)}")
        if self.search is not None and len(self.search) > MAX_SEARCH:
            raise FilterError(f"search is at most {MAX_SEARCH} characters")
        # PostgreSQL refuses NUL in a query (a 500), and no name or order stored holds one.
        if self.search is not None and "\x00" in self.search:
            raise FilterError("search cannot hold NUL")

    @property
    def any(self) -> bool:
        """Whether anything narrows the queue (an empty queue then says so)."""
        return any(
            v is not None
            for v in (self.priority, self.reason, self.overdue, self.band, self.search)
        ) or bool(self.snoozed or self.assigned)


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


def quadrant(
    clout: float | None,
    klout: float | None,
    *,
    clout_split: float = QUADRANT_SPLIT,
    klout_split: float = QUADRANT_SPLIT,
) -> str | None:
    """Where a customer sits on the Klout-versus-clout picture; None while clout is unknown.
    An unknown Klout counts as none: the customer follower counts miss."""
    if clout is None:
        return None
    online = klout is not None and klout >= klout_split
    offline = clout >= clout_split
    if offline:
        return "everywhere" if online else "word-of-mouth"
    return "online-only" if online else "everyday"


def customer_name(customer: Customer | None) -> str:
    """A customer as agents and operators see them named (a guest is no Shopify id)."""
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


def _like(words: str) -> str:
    escaped = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def _overdue(now: datetime) -> Any:
    """A case that missed a deadline stays overdue while it is open, as the overdue tag on its
    orders in Shopify does: escalation gives it a new, shorter deadline, not a clean slate."""
    return or_(Incident.overdue_at.is_not(None), Incident.deadline_at < now)


def _matching(*, shop_id: int, filters: QueueFilters, now: datetime) -> Any:
    """The open cases the filters let through, before snoozing is considered."""
    query = select(Incident).where(
        Incident.shop_id == shop_id, Incident.status == IncidentStatus.OPEN
    )
    if filters.priority is not None:
        query = query.where(Incident.priority == filters.priority)
    if filters.overdue is True:
        query = query.where(_overdue(now))
    elif filters.overdue is False:
        query = query.where(not_(func.coalesce(_overdue(now), False)))
    if filters.band is not None:
        # A case not decided yet has no band stored: it is "unknown", as its card says.
        band = func.coalesce(Incident.influence["band"].as_string(), "unknown")
        query = query.where(band == filters.band)
    if filters.reason is not None:
        query = query.where(
            exists().where(Signal.incident_id == Incident.id, Signal.kind == filters.reason)
        )
    if filters.assigned == "nobody":
        query = query.where(Incident.assigned_to.is_(None))
    elif filters.assigned == "me":
        query = query.where(Incident.assigned_to == (filters.me or ""))
    words = (filters.search or "").strip()
    if words:
        like = _like(words)
        name = func.lower(
            func.coalesce(Customer.first_name, "") + " " + func.coalesce(Customer.last_name, "")
        )
        query = query.where(
            or_(
                exists().where(
                    Customer.id == Incident.customer_id,
                    Customer.redacted_at.is_(None),
                    or_(
                        name.like(like, escape="\\"),
                        func.lower(Customer.email).like(like, escape="\\"),
                    ),
                ),
                exists().where(
                    Signal.incident_id == Incident.id,
                    Order.id == Signal.order_id,
                    func.lower(Order.name).like(like, escape="\\"),
                ),
            )
        )
    return query


def _snoozed(now: datetime) -> Any:
    return and_(Incident.snoozed_until.is_not(None), Incident.snoozed_until > now)


def _open_incidents(*, session: Session, shop_id: int, filters: QueueFilters, now: datetime) -> Any:
    query = _matching(shop_id=shop_id, filters=filters, now=now)
    query = query.where(_snoozed(now) if filters.snoozed else not_(_snoozed(now)))
    # Soonest deadline first; a case not yet decided (no deadline) is the most urgent of all.
    return query.order_by(
        Incident.deadline_at.is_not(None), Incident.deadline_at, Incident.opened_at, Incident.id
    )


@dataclass(frozen=True)
class QueuePage:
    entries: list[dict[str, Any]]
    page: int
    per_page: int
    # Counts that follow the filters: the cases shown over all pages, how many of them are
    # overdue, how many the filters match but are snoozed; and every open case of the shop.
    matching: int
    overdue: int
    snoozed: int
    open_total: int
    filtered: bool


def queue_page(
    *,
    session: Session,
    shop: Shop,
    now: datetime,
    filters: QueueFilters,
    page: int = 1,
    per_page: int = 25,
) -> QueuePage:
    """One page of the queue, and counts that agree with what the filters show."""
    if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
        raise FilterError(f"page starts at 1; per_page is 1 to {MAX_PER_PAGE}")
    listed = _open_incidents(session=session, shop_id=shop.id, filters=filters, now=now)
    counted = listed.order_by(None).subquery()
    matching, overdue = session.execute(
        select(
            func.count(),
            func.count().filter(
                or_(counted.c.overdue_at.is_not(None), counted.c.deadline_at < now)
            ),
        ).select_from(counted)
    ).one()
    other = _matching(shop_id=shop.id, filters=filters, now=now).where(
        not_(_snoozed(now)) if filters.snoozed else _snoozed(now)
    )
    snoozed = session.scalar(select(func.count()).select_from(other.subquery())) or 0
    if filters.snoozed:
        snoozed = matching
    open_total = session.scalar(
        select(func.count())
        .select_from(Incident)
        .where(Incident.shop_id == shop.id, Incident.status == IncidentStatus.OPEN)
    )
    entries = attention_queue(
        session=session,
        shop=shop,
        now=now,
        filters=filters,
        limit=per_page,
        offset=(page - 1) * per_page,
    )
    return QueuePage(
        entries=entries,
        page=page,
        per_page=per_page,
        matching=matching or 0,
        overdue=overdue or 0,
        snoozed=snoozed,
        open_total=open_total or 0,
        filtered=filters.any,
    )


def attention_queue(
    *,
    session: Session,
    shop: Shop,
    now: datetime,
    filters: QueueFilters,
    limit: int = 500,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Open incidents of one shop, soonest deadline first, each with everything an agent needs
    to act: who, why (the signal timeline), both scores and their reasons, time left."""
    incidents = list(
        session.scalars(
            _open_incidents(session=session, shop_id=shop.id, filters=filters, now=now)
            .options(selectinload(Incident.signals))
            .limit(limit)
            .offset(offset)
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
    refused = {case for case, _ in refusals(session=session, shop_id=shop.id)}
    return [
        _entry(
            incident,
            shop=shop,
            customer=customers.get(incident.customer_id),
            profile=profiles.get(incident.customer_id),
            orders=orders,
            refused=refused,
            now=now,
            timeline_most=QUEUE_TIMELINE_MOST,
        )
        for incident in incidents
    ]


def shown_signals(signals: list[Signal], *, most: int | None) -> list[Signal]:
    """At most `most` of a case's signals, oldest first (None: every one): the newest — what
    just brought the case back to the top — and the worst of the rest, the latest of those
    as bad."""
    if most is None or len(signals) <= most:
        return signals
    newest = max(range(len(signals)), key=lambda i: (signals[i].occurred_at, i))
    ranked = sorted(
        (i for i in range(len(signals)) if i != newest),
        key=lambda i: (Severity(signals[i].severity).rank, signals[i].occurred_at, i),
        reverse=True,
    )
    return [signals[i] for i in sorted([newest, *ranked[: most - 1]])]


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
    refused: set[int],
    now: datetime,
    timeline_most: int | None,
) -> dict[str, Any]:
    incident_orders = {
        s.order_id: orders[s.order_id] for s in incident.signals if s.order_id in orders
    }
    timeline = []
    for signal in shown_signals(incident.signals, most=timeline_most):
        order = orders.get(signal.order_id) if signal.order_id is not None else None
        timeline.append(
            {
                "id": signal.id,
                "kind": signal.kind,
                "reason": signal.reason,
                "severity": signal.severity,
                "occurred_at": _iso(signal.occurred_at),
                "sentences": list((signal.detail or {}).get("sentences", [])),
                "order": _order_name(order) if order is not None else None,
            }
        )
    left = (incident.deadline_at - now).total_seconds() if incident.deadline_at else None
    present = customer is not None and customer.redacted_at is None
    return {
        "id": incident.id,
        "customer": {
            "name": customer_name(customer),
            "email": customer.email if customer and present else None,
            "orders_count": customer.number_of_orders if customer and present else None,
            "admin_url": admin_link(shop.domain, customer.shopify_id if customer else None),
        },
        # The band the decision used: what the influence filter matches.
        "band": (incident.influence or {}).get("band", "unknown"),
        "assigned_to": incident.assigned_to,
        "snoozed_until": _iso(incident.snoozed_until),
        "severity": incident.severity,
        "priority": incident.priority,
        "deadline_at": _iso(incident.deadline_at),
        "seconds_left": left,
        # Past its deadline, or escalated past an earlier one (`_overdue`).
        "overdue": (left is not None and left < 0) or incident.overdue_at is not None,
        "opened_at": _iso(incident.opened_at),
        "escalations": incident.escalations,
        "tagged": incident.tagged_at is not None,
        # landed, pending (not in Shopify yet: Clout keeps trying), refused (Shopify refused
        # it: the store can make it land, waiting will not) or none (nothing to tag)
        "tag_state": tag_state(
            incident,
            pending=any(
                o.shopify_id.startswith("gid://shopify/Order/") for o in incident_orders.values()
            )
            or bool(customer and customer.shopify_id.startswith("gid://shopify/Customer/")),
            refused=incident.id in refused,
        ),
        "reasons": sorted({s.kind for s in incident.signals}),
        "signal_count": len(incident.signals),
        "timeline": timeline,
        "orders": [
            {
                "name": _order_name(o),
                "admin_url": admin_link(shop.domain, o.shopify_id),
                "total": None if o.total_price is None else f"{o.total_price:.2f}",
                "currency": o.currency,
            }
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
    clout_split: float  # where "real pull" starts, derived from the shop's unhappy customers
    filtered: bool = False


# The line between real pull and not: the top quarter of the shop's unhappy customers by clout,
# never below the middle of the scale. A fixed 50 called 20 of 34 unhappy customers of a real
# shop "word-of-mouth influencers": a name that fits most of them tells an agent nothing.
TOP_SHARE = 0.25
FEWEST_TO_DERIVE = 4  # below this many known scores there is no distribution to speak of


def clout_split(scores: Iterable[float]) -> float:
    """The clout at and above which a customer is among the top quarter of these (at least
    QUADRANT_SPLIT). Ties never let more than the quarter through: the line moves up past them."""
    known = sorted(scores)
    allowed = int(len(known) * TOP_SHARE)
    if len(known) < FEWEST_TO_DERIVE:
        return QUADRANT_SPLIT
    split = known[-1] + 0.1 if allowed == 0 else known[len(known) - allowed]
    while sum(1 for s in known if s >= split) > allowed:
        higher = [s for s in known if s > split]
        split = higher[0] if higher else known[-1] + 0.1
    return round(max(split, QUADRANT_SPLIT), 1)


def influence_picture(
    *, session: Session, shop: Shop, now: datetime, filters: QueueFilters | None = None
) -> Picture:
    """Unhappy customers (the open cases the queue's filters let through, as the queue shows
    them) placed by clout against how long they have waited, Klout as their mark; the
    clout line derived from all the shop's unhappy customers, so a filter does not move it;
    and how long each influence band waited over the last 90 days."""
    filters = filters or QueueFilters()
    every_open = (Incident.shop_id == shop.id, Incident.status == IncidentStatus.OPEN)
    split = clout_split(
        score
        for score in session.scalars(
            select(InfluenceProfile.clout_score)
            .join(Incident, Incident.customer_id == InfluenceProfile.customer_id)
            .where(
                *every_open,
                InfluenceProfile.opted_out.is_(False),
                InfluenceProfile.clout_score.is_not(None),
            )
        )
        if score is not None
    )
    shown = (
        _open_incidents(session=session, shop_id=shop.id, filters=filters, now=now)
        .with_only_columns(Incident.id)
        .order_by(None)
    )
    rows = session.execute(
        select(Incident, Customer, InfluenceProfile)
        .join(Customer, Customer.id == Incident.customer_id)
        .outerjoin(InfluenceProfile, InfluenceProfile.customer_id == Incident.customer_id)
        .where(*every_open, Incident.id.in_(shown))
        .order_by(Incident.id)
    ).all()
    points: list[dict[str, Any]] = []
    counts = dict.fromkeys(QUADRANTS, 0)
    not_placed = 0
    for incident, customer, profile in rows:
        place = (
            None
            if profile is None or profile.opted_out
            else quadrant(profile.clout_score, profile.klout_score, clout_split=split)
        )
        if place is None or profile is None:
            not_placed += 1
            continue
        counts[place] += 1
        waiting_since = incident.first_seen_at or incident.opened_at
        points.append(
            {
                "incident_id": incident.id,
                "name": customer_name(customer),
                "clout": round(profile.clout_score or 0.0, 1),
                "klout": None if profile.klout_score is None else round(profile.klout_score, 1),
                "hours_waiting": round(max(0.0, (now - waiting_since).total_seconds()) / 3600, 2),
                "priority": incident.priority,
                "quadrant": place,
                "overdue": incident.overdue_at is not None
                or (incident.deadline_at is not None and incident.deadline_at < now),
            }
        )
    return Picture(
        points=points,
        not_placed=not_placed,
        quadrants=counts,
        fairness=fairness(session=session, since=now - timedelta(days=90), shop_id=shop.id),
        clout_split=split,
        filtered=filters.any,
    )


def _signal_words(
    signal: Signal, *, order: Order | None, reviews: dict[str, Review], refunds: dict[str, Refund]
) -> dict[str, Any]:
    """The customer's own words behind a signal, and where they came from. Redaction has
    already emptied what was theirs; what is left (a rating, an amount) is not personal."""
    detail = signal.detail or {}
    words: dict[str, Any] = {"source": signal.source}
    if signal.kind == "review":
        review = reviews.get(signal.source_ref.removeprefix("review:"))
        if review is not None:
            words |= {
                "platform": review.provider,
                "stars": None if review.rating is None else float(review.rating),
                "title": review.title,
                "text": review.body,
                "product": review.product_title,
            }
        elif detail.get("stars") is not None:
            words["stars"] = detail["stars"]
    elif signal.kind == "refund":
        refund = refunds.get(signal.source_ref)
        words |= {
            "amount": detail.get("amount"),
            "currency": detail.get("currency"),
            "note": refund.note if refund is not None else None,
        }
    elif signal.kind == "dispute":
        words |= {"dispute_type": detail.get("type"), "dispute_reason": detail.get("why")}
    elif signal.kind == "note" and order is not None:
        words["note"] = order.note
    elif signal.kind == "cancellation" and order is not None:
        words["cancel_reason"] = order.cancel_reason
    return words


def case_in_full(
    *,
    session: Session,
    shop: Shop,
    incident_id: int,
    now: datetime,
    timeline_most: int | None = CASE_TIMELINE_MOST,
) -> dict[str, Any] | None:
    """One case with everything behind it: its signals (at most `timeline_most`, None: all)
    with the customer's own words, the orders with their value, and the trail of what Clout
    and people did. None when it is not this shop's."""
    incident = session.scalar(
        select(Incident)
        .where(Incident.id == incident_id, Incident.shop_id == shop.id)
        .options(selectinload(Incident.signals))
    )
    if incident is None:
        return None
    customer = session.get(Customer, incident.customer_id)
    profile = session.scalar(
        select(InfluenceProfile).where(InfluenceProfile.customer_id == incident.customer_id)
    )
    orders = _by_id(session, Order, {s.order_id for s in incident.signals if s.order_id})
    entry = _entry(
        incident,
        shop=shop,
        customer=customer,
        profile=profile,
        orders=orders,
        refused={
            case for case, _ in refusals(session=session, shop_id=shop.id, incident_id=incident.id)
        },
        now=now,
        timeline_most=timeline_most,
    )
    by_id = {s.id: s for s in incident.signals}
    shown = [by_id[item["id"]] for item in entry["timeline"]]
    review_ids = [s.source_ref.removeprefix("review:") for s in shown if s.kind == "review"]
    reviews = {
        r.platform_review_id: r
        for r in session.scalars(
            select(Review).where(
                Review.shop_id == shop.id, Review.platform_review_id.in_(review_ids)
            )
        )
    }
    refunds = {
        r.shopify_id: r
        for r in session.scalars(
            select(Refund).where(
                Refund.shop_id == shop.id, Refund.shopify_id.in_([s.source_ref for s in shown])
            )
        )
    }
    for item, signal in zip(entry["timeline"], shown, strict=True):
        order = orders.get(signal.order_id) if signal.order_id else None
        item["words"] = _signal_words(signal, order=order, reviews=reviews, refunds=refunds)
    entry |= {
        "status": incident.status,
        "resolution": incident.resolution,
        "resolution_note": incident.resolution_note,
        "resolved_at": _iso(incident.resolved_at),
        "resolved_by": incident.resolved_by,
        "trail": [
            {"at": _iso(e.at), "what": e.kind, "by": e.by, "detail": e.detail or {}}
            for e in case_events(session=session, incident_ids=[incident.id])[incident.id]
        ],
    }
    return entry


def resolved_cases(
    *, session: Session, shop: Shop, page: int = 1, per_page: int = 25
) -> tuple[list[dict[str, Any]], int]:
    """Closed cases, latest first, with how long each took to resolve; and how many in all."""
    if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
        raise FilterError(f"page starts at 1; per_page is 1 to {MAX_PER_PAGE}")
    closed = (Incident.shop_id == shop.id, Incident.status == IncidentStatus.RESOLVED)
    total = session.scalar(select(func.count()).select_from(Incident).where(*closed)) or 0
    rows = session.execute(
        select(Incident, Customer)
        .join(Customer, Customer.id == Incident.customer_id)
        .where(*closed)
        .order_by(Incident.resolved_at.desc(), Incident.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    cases = []
    for incident, customer in rows:
        started = incident.first_seen_at or incident.opened_at
        took = (
            (incident.resolved_at - started).total_seconds() / 3600
            if incident.resolved_at is not None
            else None
        )
        cases.append(
            {
                "id": incident.id,
                "customer": {"name": customer_name(customer)},
                "severity": incident.severity,
                "priority": incident.priority,
                "resolution": incident.resolution or "resolved",
                "note": incident.resolution_note,
                "resolved_at": _iso(incident.resolved_at),
                "resolved_by": incident.resolved_by,
                "hours_to_resolve": None if took is None else round(took, 2),
                "met_deadline": (
                    None
                    if incident.deadline_at is None or incident.resolved_at is None
                    else incident.resolved_at <= incident.deadline_at
                ),
            }
        )
    return cases, total
