"""Reviews from any platform: kept once, linked to a customer and an order, turned into signals.

Linking, most certain first: an explicit order reference in the review; the Shopify customer id
the platform passed along; the reviewer's email (a customer Clout knows, or one found through
the Admin API), then their most recent order before the review that contains the product. A
review that cannot be linked to an order still raises a signal on the customer.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.core.audit import record_event
from service.core.errors import PermanentError
from service.core.models import Customer, Incident, Order, Review, Shop, Signal
from service.core.vocabulary import CaseEvent, Severity, SignalKind
from service.signals import text
from service.signals.incidents import Raised, SignalDraft, raise_signal


@dataclass(frozen=True)
class ReviewInput:
    platform_review_id: str
    event: str  # created, updated, deleted
    status: str  # published, pending, hidden, deleted
    rating: Decimal | None  # normalised to 1–5
    rating_raw: str | None
    title: str | None
    body: str | None
    reviewer_email: str | None
    reviewer_name: str | None
    reviewer_customer_id: str | None
    product_ref: str | None
    product_title: str | None
    order_ref: str | None
    verified_buyer: bool | None
    created_at: datetime | None
    updated_at: datetime | None
    rating_scale: str = "1-5"


# A platform's own id longer than this is kept as its digest: the same id always names the same
# review, and "review:<id>" still fits a signal's source_ref (128).
_LONGEST_ID = 100
# A Shopify order id: ASCII digits within 64 bits (longer is no order Clout could tag).
_ORDER_GID = re.compile(r"(?:gid://shopify/Order/)?([1-9][0-9]{0,18})")


def _fit(value: str | None, length: int) -> str | None:
    """Free text a platform sent, cut to its column (PostgreSQL refuses anything longer)."""
    return value[:length] if value is not None else None


def review_key(platform_review_id: str) -> str:
    if len(platform_review_id) <= _LONGEST_ID:
        return platform_review_id
    return "sha256:" + hashlib.sha256(platform_review_id.encode()).hexdigest()


def record_review(*, session: Session, shop: Shop, provider: str, review: ReviewInput) -> Review:
    if not review.platform_review_id:
        raise PermanentError("review has no id")
    platform_review_id = review_key(review.platform_review_id)
    # A long id kept whole before (SQLite checks no length) still names its review.
    row = session.scalar(
        select(Review)
        .where(
            Review.shop_id == shop.id,
            Review.provider == provider,
            Review.platform_review_id.in_({platform_review_id, review.platform_review_id}),
        )
        .order_by(Review.id)
        .limit(1)
    )
    if row is None:
        row = Review(shop_id=shop.id, provider=provider, platform_review_id=platform_review_id)
        session.add(row)
    elif (
        row.platform_updated_at is not None
        and review.updated_at is not None
        and review.updated_at < row.platform_updated_at
    ):
        return row  # an older version of the review, delivered late
    row.status = "deleted" if review.event == "deleted" else review.status
    if review.event != "deleted":
        row.rating = review.rating
        row.rating_raw = _fit(review.rating_raw, 16)
        row.rating_scale = _fit(review.rating_scale, 16) or "1-5"
        row.title = review.title
        row.body = review.body
        row.reviewer_email = _fit(
            review.reviewer_email.strip().lower() if review.reviewer_email else None, 320
        )
        row.reviewer_name = _fit(review.reviewer_name, 255)
        row.product_ref = _fit(review.product_ref, 128)
        row.product_title = review.product_title
        row.order_ref = _fit(review.order_ref, 128)
        row.verified_buyer = review.verified_buyer
        row.platform_created_at = review.created_at or row.platform_created_at
    row.platform_updated_at = review.updated_at or review.created_at or row.platform_updated_at
    session.flush()
    return row


def _order_by_reference(session: Session, shop: Shop, reference: str) -> Order | None:
    reference = reference.strip()
    candidates = []
    if reference.startswith("gid://shopify/Order/"):
        candidates.append(Order.shopify_id == reference)
    elif reference.isdigit():
        candidates += [
            Order.shopify_id == f"gid://shopify/Order/{reference}",
            Order.name == f"#{reference}",
        ]
    else:
        candidates.append(
            Order.name == (reference if reference.startswith("#") else f"#{reference}")
        )
    for condition in candidates:
        order = session.scalar(select(Order).where(Order.shop_id == shop.id, condition))
        if order is not None:
            return order
    return None


def _latest_order_with_product(
    session: Session, customer: Customer, product: str | None, before: datetime | None
) -> tuple[Order | None, float]:
    orders = session.scalars(
        select(Order)
        .where(Order.customer_id == customer.id)
        .order_by(Order.shopify_created_at.desc())
    ).all()
    dated = [
        o
        for o in orders
        if before is None or o.shopify_created_at is None or o.shopify_created_at <= before
    ]
    if product:
        for order in dated:
            if product in ((order.product_ids or {}).get("ids") or []):
                return order, 0.8
    if dated:
        return dated[0], 0.5
    return None, 0.0


def _order_not_seen_yet(*, session: Session, shop: Shop, review: Review) -> Order | None:
    """A review can arrive before its order's webhook (and before Shopify answered the lookup
    made for it): an order id is enough to tag the order; keep its id until the order's own
    webhook fills it in."""
    found = _ORDER_GID.fullmatch((review.order_ref or "").strip())
    if found is None:
        return None
    gid = f"gid://shopify/Order/{found.group(1)}"
    key = f"{review.provider}:{review.reviewer_email or review.platform_review_id}"
    customer = pseudo_customer(session=session, shop=shop, key=key, email=review.reviewer_email)
    order = Order(shop_id=shop.id, shopify_id=gid, customer_id=customer.id)
    session.add(order)
    session.flush()
    return order


def pseudo_customer(*, session: Session, shop: Shop, key: str, email: str | None) -> Customer:
    """A reviewer Shopify does not know (a guest, or no email given): a customer Clout keeps
    for the incident, keyed by what identifies them, never guessed from a name."""
    ref = "reviewer:" + hashlib.sha256(key.encode()).hexdigest()[:24]
    customer = session.scalar(
        select(Customer).where(Customer.shop_id == shop.id, Customer.shopify_id == ref)
    )
    if customer is None:
        customer = Customer(shop_id=shop.id, shopify_id=ref, email=email)
        session.add(customer)
        session.flush()
    return customer


def link_review(*, session: Session, shop: Shop, review: Review) -> Customer:
    """Find the review's order and customer among what Clout has (what the review names was
    looked up in Shopify before this transaction); records how, and how sure Clout is."""
    if review.order_ref:
        order = _order_by_reference(session, shop, review.order_ref)
        if order is None:
            order = _order_not_seen_yet(session=session, shop=shop, review=review)
        if order is not None and order.customer is not None:
            review.order_id, review.customer_id = order.id, order.customer.id
            review.link_method, review.link_confidence = "order_reference", 1.0
            return order.customer
    customer = None
    if review.reviewer_email:
        customer = session.scalar(
            select(Customer).where(
                Customer.shop_id == shop.id, func.lower(Customer.email) == review.reviewer_email
            )
        )
    if customer is not None:
        order, confidence = _latest_order_with_product(
            session, customer, review.product_ref, review.platform_created_at
        )
        review.customer_id = customer.id
        if order is not None:
            review.order_id = order.id
            review.link_method, review.link_confidence = "email_order_match", confidence
        else:
            review.link_method, review.link_confidence = "email_customer", 0.6
        return customer
    key = f"{review.provider}:{review.reviewer_email or review.platform_review_id}"
    customer = pseudo_customer(session=session, shop=shop, key=key, email=review.reviewer_email)
    review.customer_id = customer.id
    review.link_method, review.link_confidence = "unmatched", 0.0
    return customer


def review_reading(
    title: str | None, body: str | None, rating: Decimal | None
) -> tuple[str, float | None]:
    """What the detector reads of a review: its words, and its stars as stored (2 decimals)."""
    words = " ".join(part for part in (title, body) if part)
    stars = float(rating.quantize(Decimal("0.01"))) if rating is not None else None
    return words, stars


def review_signal(
    *, session: Session, shop: Shop, review: Review, customer: Customer, now: datetime
) -> Raised | None:
    """The complaint detector's verdict on the review, as a signal when it is unhappy."""
    was_complaint = bool((review.analysis or {}).get("complaint"))
    if review.status == "deleted":
        if was_complaint:
            _note_change(session=session, shop=shop, review=review, stars=None, now=now)
        review.analysis = None  # nothing of it is read any more: a second deletion says nothing
        return None
    words, stars = review_reading(review.title, review.body, review.rating)
    verdict = text.analyse(words, stars=stars)
    review.analysis = verdict.as_dict()
    if not verdict.complaint:
        if was_complaint:
            _note_change(session=session, shop=shop, review=review, stars=stars, now=now)
        return None
    if verdict.hidden_complaint:
        reason = "hidden_complaint"
    elif verdict.disagreement:
        reason = "rating_text_disagree"
    elif stars is not None and stars <= 2:
        reason = "low_rating"
    else:
        reason = "review_complaint"
    order = session.get(Order, review.order_id) if review.order_id else None
    # The detector says "none" for a complaint it reads only from the stars.
    severity = Severity(verdict.severity) if verdict.severity != "none" else Severity.LOW
    return raise_signal(
        session=session,
        shop=shop,
        customer=customer,
        order=order,
        draft=SignalDraft(
            kind=SignalKind.REVIEW,
            reason=reason,
            severity=severity,
            sentences=tuple(verdict.sentences),
            source=review.provider,
            source_ref=f"review:{review.platform_review_id}",
            occurred_at=review.platform_created_at or now,
            extra={"reasons": verdict.reasons, "stars": stars, "link": review.link_method},
        ),
        now=now,
    )


# Set on a review's signal once the review no longer reads as the complaint it raised.
WORDS_CHANGED = "words_changed"


def _note_change(
    *, session: Session, shop: Shop, review: Review, stars: float | None, now: datetime
) -> None:
    """The customer edited a review that opened a case into one that reads as no complaint, or
    deleted it: the case's trail says so. The case stays as it is (priority, deadline, tags):
    whether it is over is a person's call, and the agent now reads why they might think so."""
    signal = session.scalar(
        select(Signal)
        .where(
            Signal.shop_id == shop.id,
            Signal.source == review.provider,
            Signal.source_ref == f"review:{review.platform_review_id}",
        )
        .order_by(Signal.id.desc())
        .limit(1)
    )
    incident = session.get(Incident, signal.incident_id) if signal is not None else None
    if signal is None or incident is None:
        return
    # The row now holds the edited words, not the ones the signal read: a label a person puts
    # on the case is not theirs (`labels.labelled_texts` leaves them out).
    signal.detail = {**(signal.detail or {}), WORDS_CHANGED: True}
    record_event(
        session=session,
        incident=incident,
        kind=CaseEvent.REVIEW_CHANGED,
        by=review.provider,
        at=now,
        detail={"deleted": review.status == "deleted", "stars": stars, "complaint": False},
    )
