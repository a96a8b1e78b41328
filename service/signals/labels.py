"""What the support desk taught the complaint detector: the customers' own words behind every
closed case, labelled by the person who closed it, for the next training run
(`clout text export-labels`, read by `tools/train_complaint_model.py --labels`).

A case an agent closed as "not a complaint" says its words were read wrongly: those texts are
labelled not a complaint. A case resolved as a real one says the customer was unhappy: its
texts are labelled a complaint, except a "check the rating" case (a low rating over glowing
words), whose words were never the complaint, and a review edited into praise (or deleted)
after it opened the case, whose row holds other words than the label is about. Only words
Clout still holds are exported: a customer's redaction erases their reviews and notes, so
they are never in an export, and a redacted customer's cases are skipped whole. No name,
email or Shopify id is exported: a text, its stars, where it came from and the label are all a
training run needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.core.models import Customer, Incident, Order, Refund, Review, Shop, Signal
from service.core.vocabulary import IncidentStatus, SignalKind
from service.signals.incidents import NOT_A_COMPLAINT
from service.signals.reviews import WORDS_CHANGED, review_reading

# The rating, not the words, was the case: the words say nothing about a complaint.
RATING_ONLY = {"rating_text_disagree"}


@dataclass(frozen=True)
class LabelledText:
    text: str
    stars: float | None
    complaint: bool  # the person's label: True resolved as a complaint, False "not a complaint"
    outcome: str  # "resolved" or "not_a_complaint", as the desk recorded it
    source: str  # "review", "order_note" or "refund_note"
    signal_reason: str  # why Clout raised it (hidden_complaint, note_complaint, …)
    shop: str
    closed_at: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _words(session: Session, signal: Signal) -> tuple[str, str, float | None] | None:
    """The customer's own words behind a signal, where it came from, and the stars."""
    if signal.kind == SignalKind.REVIEW and signal.source_ref.startswith("review:"):
        if (signal.detail or {}).get(WORDS_CHANGED):
            return None  # edited since (into praise, or deleted): not the words the case was
        review = session.scalar(
            select(Review).where(
                Review.shop_id == signal.shop_id,
                Review.provider == signal.source,
                Review.platform_review_id == signal.source_ref.removeprefix("review:"),
            )
        )
        if review is None:
            return None
        words, stars = review_reading(review.title, review.body, review.rating)
        return words, "review", stars
    if signal.kind == SignalKind.NOTE and signal.order_id is not None:
        order = session.get(Order, signal.order_id)
        return (order.note, "order_note", None) if order is not None and order.note else None
    if signal.kind == SignalKind.REFUND:
        refund = session.scalar(
            select(Refund).where(
                Refund.shop_id == signal.shop_id, Refund.shopify_id == signal.source_ref
            )
        )
        return (refund.note, "refund_note", None) if refund is not None and refund.note else None
    return None


def labelled_texts(
    *, session: Session, shop: Shop | None = None, since: datetime | None = None
) -> Iterator[LabelledText]:
    """Every closed case's texts with the desk's label, oldest closure first."""
    query = (
        select(Incident, Shop.domain)
        .join(Shop, Shop.id == Incident.shop_id)
        .join(Customer, Customer.id == Incident.customer_id)
        .where(
            Incident.status == IncidentStatus.RESOLVED,
            Incident.resolution.is_not(None),
            Customer.redacted_at.is_(None),
        )
        .order_by(Incident.resolved_at, Incident.id)
    )
    if shop is not None:
        query = query.where(Incident.shop_id == shop.id)
    if since is not None:
        query = query.where(Incident.resolved_at >= since)
    for incident, domain in session.execute(query):
        not_one = incident.resolution == NOT_A_COMPLAINT
        seen: set[str] = set()
        for signal in incident.signals:
            if not not_one and signal.reason in RATING_ONLY:
                continue
            found = _words(session, signal)
            if found is None:
                continue
            words, source, stars = found
            if not words.strip() or words in seen:
                continue  # one text once, however many signals it raised
            seen.add(words)
            yield LabelledText(
                text=words,
                stars=stars,
                complaint=not not_one,
                outcome=incident.resolution or "resolved",
                source=source,
                signal_reason=signal.reason,
                shop=domain,
                closed_at=incident.resolved_at.isoformat() if incident.resolved_at else None,
            )
