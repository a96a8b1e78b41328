"""Signals that were kept on a stand-in move to the real customer once Shopify names them.

A dispute or refund on an order Clout has not seen, or a review naming an order or an email
Clout does not know, still raises a signal at once: on a stand-in customer (`guest:<order>`,
`reviewer:<hash>`), so the order is tagged without waiting. When the order arrives with its
customer (its own webhook, reconciliation, the history backfill), or a customer with the
reviewer's email does, the signals move to that customer — into their open case if they have
one — so the case, its priority and the profile are about the person, not a placeholder.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session

from service.core.logs import get_logger
from service.core.models import Customer, Incident, InfluenceProfile, Order, Review, Shop, Signal
from service.core.people import GUEST_PREFIX, REVIEWER_PREFIX
from service.core.vocabulary import IncidentStatus
from service.signals.incidents import locked_incident

log = get_logger(__name__)


def is_stand_in(customer: Customer | None) -> bool:
    return customer is not None and customer.shopify_id.startswith((GUEST_PREFIX, REVIEWER_PREFIX))


def _stand_in() -> ColumnElement[bool]:
    return or_(
        Customer.shopify_id.startswith(GUEST_PREFIX),
        Customer.shopify_id.startswith(REVIEWER_PREFIX),
    )


def relink_order(*, session: Session, shop: Shop, order: Order, now: datetime) -> set[int]:
    """The order is now stored with its real customer: its signals that sit on a stand-in move
    to that customer. Returns the incidents to attend again."""
    customer = session.get(Customer, order.customer_id) if order.customer_id else None
    if customer is None or is_stand_in(customer):
        return set()
    signals = session.scalars(
        select(Signal)
        .join(Customer, Customer.id == Signal.customer_id)
        .where(
            Signal.shop_id == shop.id,
            Signal.order_id == order.id,
            Signal.customer_id != customer.id,
            _stand_in(),
        )
    ).all()
    moved = move_signals(session=session, shop=shop, signals=signals, to=customer, now=now)
    if moved:
        session.execute(
            update(Review)
            .where(Review.shop_id == shop.id, Review.order_id == order.id)
            .values(customer_id=customer.id, link_method="order_reference", link_confidence=1.0)
        )
    return moved


def relink_reviewer(*, session: Session, shop: Shop, customer: Customer, now: datetime) -> set[int]:
    """A customer Shopify knows now has the email a review came from: the reviews (and their
    signals) kept on a stand-in for that email move to them, as a review matched by email on
    arrival would have been."""
    if is_stand_in(customer) or not customer.email or customer.redacted_at is not None:
        return set()
    email = customer.email.strip().lower()
    stand_ins = session.scalars(
        select(Customer.id).where(
            Customer.shop_id == shop.id,
            Customer.shopify_id.startswith(REVIEWER_PREFIX),
            func.lower(Customer.email) == email,
        )
    ).all()
    if not stand_ins:
        return set()
    signals = session.scalars(
        select(Signal).where(Signal.shop_id == shop.id, Signal.customer_id.in_(stand_ins))
    ).all()
    moved = move_signals(session=session, shop=shop, signals=signals, to=customer, now=now)
    session.execute(
        update(Review)
        .where(Review.shop_id == shop.id, Review.customer_id.in_(stand_ins))
        .values(customer_id=customer.id, link_method="email_customer", link_confidence=0.6)
    )
    return moved


def relink_shop(*, session: Session, shop: Shop, now: datetime) -> set[int]:
    """Every stand-in Shopify has since named, at once (after a history backfill)."""
    touched: set[int] = set()
    orders = session.scalars(
        select(Order)
        .join(Signal, Signal.order_id == Order.id)
        .join(Customer, Customer.id == Signal.customer_id)
        .where(
            Order.shop_id == shop.id,
            Order.customer_id.is_not(None),
            Order.customer_id != Signal.customer_id,
            _stand_in(),
        )
        .distinct()
    ).all()
    for order in orders:
        touched |= relink_order(session=session, shop=shop, order=order, now=now)
    emails = session.scalars(
        select(func.lower(Customer.email))
        .where(
            Customer.shop_id == shop.id,
            Customer.shopify_id.startswith(REVIEWER_PREFIX),
            Customer.email.is_not(None),
        )
        .distinct()
    ).all()
    for email in emails:
        known = session.scalars(
            select(Customer).where(
                Customer.shop_id == shop.id,
                Customer.shopify_id.startswith("gid://shopify/Customer/"),
                func.lower(Customer.email) == email,
            )
        ).all()
        if len(known) == 1:  # two customers with one email: too unsure to choose
            touched |= relink_reviewer(session=session, shop=shop, customer=known[0], now=now)
    return touched


def move_signals(
    *, session: Session, shop: Shop, signals: Sequence[Signal], to: Customer, now: datetime
) -> set[int]:
    """Move signals to `to`: a stand-in's case whose every signal moves goes whole (merged
    into `to`'s open case if there is one); otherwise the moved signals join `to`'s open case
    or open one that keeps the stand-in case's clock. Returns the incidents to attend."""
    if not signals:
        return set()
    touched: set[int] = set()
    by_incident: dict[int, list[Signal]] = {}
    for signal in signals:
        by_incident.setdefault(signal.incident_id, []).append(signal)
    # What Clout wrote on each record (`tag_state`) is merged from one case into another: read
    # under both cases' locks (in id order), or a worker's record written meanwhile is lost.
    joining = _open_case_of(session, shop, to)
    for incident_id in sorted({*by_incident, *([joining.id] if joining else [])}):
        locked_incident(session, incident_id)
    for incident_id, moving in by_incident.items():
        incident = session.get(Incident, incident_id)
        if incident is None:
            continue
        whole = {s.id for s in moving} == {s.id for s in incident.signals}
        target = (
            _open_case_of(session, shop, to) if incident.status == IncidentStatus.OPEN else None
        )
        if whole and (target is None or target.id == incident.id):
            incident.customer_id = to.id  # the case itself changes hands
            _retarget(moving, incident=incident, customer=to)
            if incident.status == IncidentStatus.OPEN:
                incident.needs_attention = True
                touched.add(incident.id)
        elif whole and target is not None:
            _merge(session, source=incident, into=target, signals=moving, customer=to)
            touched.add(target.id)
        else:
            if incident.status != IncidentStatus.OPEN:
                _retarget(moving, incident=incident, customer=to)
                continue
            if target is None:
                target = Incident(
                    shop_id=shop.id,
                    customer_id=to.id,
                    status=IncidentStatus.OPEN,
                    severity=max((s.severity for s in moving), key=lambda v: v.rank),
                    opened_at=incident.opened_at,  # the customer has waited since then
                    deadline_at=incident.deadline_at,
                )
                session.add(target)
                session.flush()
            _retarget(moving, incident=target, customer=to)
            _absorb(target, incident, moving)
            touched |= {target.id, incident.id}
            incident.needs_attention = True
        log.info(
            "signals_relinked",
            shop=shop.domain,
            incident_id=incident_id,
            to_incident=(target.id if target is not None else incident_id),
            signals=len(moving),
        )
    session.flush()
    _profile_stale(session, customer_ids=[to.id], now=now)
    return touched


def _open_case_of(session: Session, shop: Shop, customer: Customer) -> Incident | None:
    return session.scalar(
        select(Incident).where(
            Incident.shop_id == shop.id,
            Incident.customer_id == customer.id,
            Incident.status == IncidentStatus.OPEN,
        )
    )


def _retarget(signals: Iterable[Signal], *, incident: Incident, customer: Customer) -> None:
    for signal in signals:
        signal.incident_id = incident.id
        signal.customer_id = customer.id


def _absorb(target: Incident, source: Incident, signals: Sequence[Signal]) -> None:
    """What the moved signals bring: their severity, the earlier clock and deadline (a case
    never waits longer for having moved), and what Clout wrote on their orders."""
    for signal in signals:
        target.severity = target.severity.worse(signal.severity)
    target.opened_at = min(target.opened_at, source.opened_at)
    deadlines = [d for d in (target.deadline_at, source.deadline_at) if d is not None]
    target.deadline_at = min(deadlines) if deadlines else None
    target.escalations = max(target.escalations, source.escalations)
    overdue = [d for d in (target.overdue_at, source.overdue_at) if d is not None]
    target.overdue_at = min(overdue) if overdue else None
    target.tag_state = {**(source.tag_state or {}), **(target.tag_state or {})}
    target.needs_attention = True


def _merge(
    session: Session,
    *,
    source: Incident,
    into: Incident,
    signals: Sequence[Signal],
    customer: Customer,
) -> None:
    _retarget(signals, incident=into, customer=customer)
    _absorb(into, source, signals)
    session.flush()
    session.expire(source, ["signals"])
    session.delete(source)  # nothing of it is left: its signals and tags now belong to `into`


def _profile_stale(session: Session, *, customer_ids: Sequence[int], now: datetime) -> None:
    # The customer's profile counts their complaints: recompute it with the moved signals.
    session.execute(
        update(InfluenceProfile)
        .where(
            InfluenceProfile.customer_id.in_(customer_ids),
            InfluenceProfile.stale_since.is_(None),
        )
        .values(stale_since=now)
    )
