"""What happens to an order, read as signs of an unhappy customer: refunds, cancellations,
disputes, returns, failed deliveries, late deliveries and complaint notes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from service.core.errors import PermanentError
from service.core.models import Customer, Order, Refund, Shop
from service.core.vocabulary import Severity, ShopStatus, SignalKind
from service.shopify.ids import event_ref
from service.shopify.payloads import parse_time
from service.signals import text
from service.signals.incidents import Raised, SignalDraft, raise_signal

# Shopify's cancel reasons: only the customer's own, or the store's failure, mean unhappiness.
CANCEL_REASONS = {
    "customer": ("customer_cancelled", Severity.NORMAL, "cancelled the order"),
    "inventory": ("store_cancelled", Severity.NORMAL, "had the order cancelled: out of stock"),
    "declined": ("store_cancelled", Severity.NORMAL, "had the order cancelled: payment declined"),
    "other": ("store_cancelled", Severity.NORMAL, "had the order cancelled"),
    "staff": ("store_cancelled", Severity.NORMAL, "had the order cancelled by staff"),
}
# What a refund's note can say that makes it the shop's failure or a harm, not a change of mind: as
# serious as a full refund (a size that did not suit stays normal, as a return for size does).
SHOP_FAILURES = frozenset({"broken", "wrong_item", "late_delivery", "missing_item", "unsafe"})
RETURN_REASONS = {  # Shopify's ReturnReason values
    "DEFECTIVE": (Severity.HIGH, "returned it as defective"),
    "WRONG_ITEM": (Severity.HIGH, "returned it: wrong item sent"),
    "NOT_AS_DESCRIBED": (Severity.HIGH, "returned it: not as described"),
    "SIZE_TOO_LARGE": (Severity.NORMAL, "returned it: too large"),
    "SIZE_TOO_SMALL": (Severity.NORMAL, "returned it: too small"),
    "STYLE": (Severity.LOW, "returned it: did not like the style"),
    "COLOR": (Severity.LOW, "returned it: did not like the colour"),
    "UNWANTED": (Severity.LOW, "returned it: no longer wanted"),
    "OTHER": (Severity.NORMAL, "returned it"),
    "UNKNOWN": (Severity.NORMAL, "returned it"),
}


def _event_ref(payload: dict[str, Any]) -> str:
    try:
        return event_ref(payload.get("admin_graphql_api_id") or payload.get("id"))
    except ValueError as error:
        raise PermanentError("the event has no usable id") from error


@dataclass(frozen=True)
class LateDeliveryRule:
    unfulfilled_days: float = 3.0  # not shipped this long after the order
    no_update_days: float = 5.0  # shipped, no carrier news this long, not delivered


def customer_of(*, session: Session, shop: Shop, order: Order) -> Customer:
    """The order's customer; a guest checkout gets one keyed by the order, so the signal (and
    the order's tag) still happen."""
    if order.customer is not None:
        return order.customer
    guest_ref = f"guest:{order.shopify_id}"
    customer = session.scalar(
        select(Customer).where(Customer.shop_id == shop.id, Customer.shopify_id == guest_ref)
    )
    if customer is None:
        customer = Customer(shop_id=shop.id, shopify_id=guest_ref, email=order.email)
        session.add(customer)
        session.flush()
    order.customer_id = customer.id
    return customer


def _raise(
    *, session: Session, shop: Shop, order: Order, draft: SignalDraft, now: datetime
) -> Raised:
    """A signal about an order, on the order's customer (or its guest)."""
    return raise_signal(
        session=session,
        shop=shop,
        customer=customer_of(session=session, shop=shop, order=order),
        order=order,
        draft=draft,
        now=now,
    )


def refund_signal(
    *, session: Session, shop: Shop, order: Order, refund: Refund, now: datetime
) -> Raised | None:
    """A refund that gave the customer money back, sized by what actually moved: in full once
    the order's refunds add up to its total, otherwise partial. A refund that moved nothing (a
    restock, a zero refund) is no sign of unhappiness by itself, only through its note."""
    moved = refund.amount or Decimal(0)
    currency = refund.currency or order.currency or ""
    verdict = note_complaint(refund.note) if refund.note else None
    complaint = verdict is not None
    if moved <= 0 and not complaint:
        return None
    refunded_so_far = session.scalar(
        select(func.coalesce(func.sum(Refund.amount), 0)).where(
            Refund.shop_id == shop.id, Refund.order_shopify_id == order.shopify_id
        )
    ) or Decimal(0)
    full = (
        moved > 0
        and order.total_price is not None
        and order.total_price > 0
        and Decimal(refunded_so_far) >= order.total_price - Decimal("0.01")
    )
    if moved <= 0:
        reason, sentence = "refund_note", "had a refund recorded with no money back"
    elif full:
        reason, sentence = (
            "refund_full",
            f"was refunded in full ({_amount(order.total_price, currency)})",
        )
    else:
        reason = "refund_partial"
        of_total = f" of {_amount(order.total_price, currency)}" if order.total_price else ""
        sentence = f"was refunded {_amount(moved, currency)}{of_total}"
    severity = Severity.HIGH if full else Severity.NORMAL
    sentences = [sentence]
    reasons: list[str] = []
    if verdict is not None:
        reasons = verdict.reasons
        sentences += verdict.sentences
        if SHOP_FAILURES & set(verdict.reasons):
            severity = Severity.HIGH
    return _raise(
        session=session,
        shop=shop,
        order=order,
        now=now,
        draft=SignalDraft(
            kind=SignalKind.REFUND,
            reason=reason,
            severity=severity,
            sentences=tuple(sentences),
            source="shopify",
            source_ref=refund.shopify_id,
            occurred_at=refund.shopify_created_at or now,
            extra={"reasons": reasons, "amount": str(moved), "currency": currency or None},
            # Partial until the order's total is known; one refund stays one signal.
            revisable=True,
        ),
    )


def _text_severity(value: str) -> Severity:
    """The complaint detector's severity as a signal's ("none": a complaint read only from
    the stars)."""
    return Severity(value) if value != "none" else Severity.LOW


def _amount(value: Decimal | None, currency: str) -> str:
    return f"{value or 0:.2f} {currency}".strip()


def cancellation_signal(
    *, session: Session, shop: Shop, order: Order, now: datetime
) -> Raised | None:
    known = CANCEL_REASONS.get((order.cancel_reason or "").lower())
    if order.cancelled_at is None or known is None:
        return None  # not cancelled, or cancelled as fraud: not an unhappy customer
    reason, severity, sentence = known
    return _raise(
        session=session,
        shop=shop,
        order=order,
        now=now,
        draft=SignalDraft(
            kind=SignalKind.CANCELLATION,
            reason=reason,
            severity=severity,
            sentences=(sentence,),
            source="shopify",
            source_ref=f"{order.shopify_id}:cancel",
            occurred_at=order.cancelled_at,
        ),
    )


def note_complaint(note: str) -> text.Verdict | None:
    """The reading of a note — an order's, a refund's, a return's — that tells of an unhappy
    customer; None for any other. Measured on order notes written blind
    (`bench/complaint_detector.py`, "order notes")."""
    verdict = text.analyse(note)
    # Only a reason the rules read (a listed cue) counts. A note is mostly an instruction or a
    # record ("no card", "leave at door", "not needed anymore"), a genre the trained model never
    # saw and reads darkly: on order notes written blind it alone opened a case for one harmless
    # note in six. A dim tone alone is no signal either ("a bit worried it won't fit").
    if not verdict.complaint or not verdict.reasons:
        return None
    # Harm told as why this order was placed is no complaint about the shop ("my wife got food
    # poisoning last week, so I'm ordering the plain broth").
    if set(verdict.reasons) <= {"unsafe", *text.GENERIC} and text.harm_told_as_why_ordered(note):
        return None
    return verdict


def note_signal(*, session: Session, shop: Shop, order: Order, now: datetime) -> Raised | None:
    verdict = note_complaint(order.note) if order.note else None
    if verdict is None:
        return None
    severity = _text_severity(verdict.severity)
    if verdict.reasons == ["unsafe"]:
        # Written at checkout, before this order reached anyone: harm told there is most often
        # why the customer asks for something ("no nuts please, he had an allergic reaction
        # last time"). A case still (it may be a past order's), not one at the top of the queue.
        severity = Severity.NORMAL
    return _raise(
        session=session,
        shop=shop,
        order=order,
        now=now,
        draft=SignalDraft(
            kind=SignalKind.NOTE,
            reason="note_complaint",
            severity=Severity.NORMAL.worse(severity),
            sentences=("wrote in the order note: " + ", ".join(verdict.sentences),),
            source="shopify",
            source_ref=f"{order.shopify_id}:note",
            occurred_at=order.shopify_updated_at or now,
            extra={"reasons": verdict.reasons, "model": verdict.model},
        ),
    )


def dispute_signal(
    *, session: Session, shop: Shop, order: Order, payload: dict[str, Any], now: datetime
) -> Raised:
    kind = str(payload.get("type") or "chargeback").lower()
    why = str(payload.get("reason") or "").replace("_", " ")
    return _raise(
        session=session,
        shop=shop,
        order=order,
        now=now,
        draft=SignalDraft(
            kind=SignalKind.DISPUTE,
            reason="chargeback" if kind == "chargeback" else "payment_inquiry",
            severity=Severity.CRITICAL if kind == "chargeback" else Severity.HIGH,
            sentences=(
                # Shopify's dispute types are these two; the bank's own word stays in `extra`.
                ("opened a chargeback" if kind == "chargeback" else "opened an inquiry")
                + " with their bank"
                + (f" ({why})" if why else ""),
            ),
            source="shopify",
            source_ref=_event_ref(payload),
            occurred_at=parse_time(payload.get("initiated_at")) or now,
            # The bank's words, kept apart for the agents' page (the sentence runs them in).
            extra={"type": kind, "why": why or None},
        ),
    )


def return_signal(
    *, session: Session, shop: Shop, order: Order, payload: dict[str, Any], now: datetime
) -> Raised:
    severity, sentences = Severity.LOW, []
    items = payload.get("return_line_items")
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        code = str(item.get("return_reason") or "UNKNOWN").upper()
        level, sentence = RETURN_REASONS.get(code, RETURN_REASONS["OTHER"])
        severity = severity.worse(level)
        sentences.append(sentence)
        note = item.get("customer_note")
        verdict = note_complaint(note) if isinstance(note, str) else None
        if verdict is not None:
            severity = severity.worse(Severity.NORMAL)
            if "unsafe" in verdict.reasons:
                # Whatever reason the customer picked, harm told in the note comes first.
                severity = severity.worse(Severity.HIGH)
                sentences.append(f"wrote in the return note: {text.INTENTS['unsafe'][0]}")
    return _raise(
        session=session,
        shop=shop,
        order=order,
        now=now,
        draft=SignalDraft(
            kind=SignalKind.RETURN,
            reason="return_requested",
            severity=severity,
            sentences=tuple(sorted(set(sentences))) or ("asked to return the order",),
            source="shopify",
            source_ref=_event_ref(payload),
            occurred_at=now,
        ),
    )


def fulfillment_event_signal(
    *, session: Session, shop: Shop, order: Order, payload: dict[str, Any], now: datetime
) -> Raised | None:
    status = str(payload.get("status") or "").lower()
    happened = parse_time(payload.get("happened_at")) or now
    order.last_carrier_update_at = max(filter(None, (order.last_carrier_update_at, happened)))
    if status == "delivered":
        order.delivered_at = happened
        return None
    if status not in {"failure", "attempted_delivery"}:
        return None
    failed = status == "failure"
    return _raise(
        session=session,
        shop=shop,
        order=order,
        now=now,
        draft=SignalDraft(
            kind=SignalKind.DELIVERY,
            reason="delivery_failed" if failed else "delivery_attempted",
            severity=Severity.HIGH if failed else Severity.NORMAL,
            sentences=(
                "the carrier could not deliver the order"
                if failed
                else "a delivery attempt failed",
            ),
            source="shopify",
            source_ref=_event_ref(payload),
            occurred_at=happened,
        ),
    )


def late_delivery_signals(
    *, session: Session, shop: Shop, rule: LateDeliveryRule, now: datetime
) -> list[Raised]:
    """The periodic check: orders not shipped in time, or shipped with no carrier news."""
    unshipped_before = now - timedelta(days=rule.unfulfilled_days)
    silent_before = now - timedelta(days=rule.no_update_days)
    late = session.scalars(
        select(Order).where(
            Order.shop_id == shop.id,
            Order.cancelled_at.is_(None),
            Order.delivered_at.is_(None),
            # Only recent orders: Shopify lets apps read 60 days of orders by default.
            Order.shopify_created_at >= now - timedelta(days=60),
            or_(
                and_(
                    Order.fulfilled_at.is_(None),
                    or_(
                        Order.fulfillment_status.is_(None),
                        Order.fulfillment_status.not_in(("fulfilled", "partial", "restocked")),
                    ),
                    Order.shopify_created_at <= unshipped_before,
                ),
                and_(
                    Order.fulfilled_at.is_not(None),
                    Order.fulfilled_at <= silent_before,
                    or_(
                        Order.last_carrier_update_at.is_(None),
                        Order.last_carrier_update_at <= silent_before,
                    ),
                ),
            ),
        )
    ).all()
    raised = []
    for order in late:
        shipped = order.fulfilled_at is not None
        raised.append(
            _raise(
                session=session,
                shop=shop,
                order=order,
                now=now,
                draft=SignalDraft(
                    kind=SignalKind.DELIVERY,
                    reason="late_delivery",
                    severity=Severity.NORMAL,
                    sentences=(
                        f"has had no carrier update for over {rule.no_update_days:g} days"
                        if shipped
                        else f"is still waiting: not shipped {rule.unfulfilled_days:g} days on",
                    ),
                    source="clout",
                    source_ref=f"{order.shopify_id}:late:{'silent' if shipped else 'unshipped'}",
                    occurred_at=now,
                ),
            )
        )
    return raised


def late_deliveries(*, session: Session, now: datetime, rule: LateDeliveryRule) -> set[int]:
    touched: set[int] = set()
    for shop in session.scalars(select(Shop).where(Shop.status == ShopStatus.ACTIVE)):
        for raised in late_delivery_signals(session=session, shop=shop, rule=rule, now=now):
            if raised.new_signal:
                touched.add(raised.incident.id)
    return touched
