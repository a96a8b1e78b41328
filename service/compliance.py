"""Shopify's mandatory privacy webhooks: what Clout holds about a customer, and forgetting it.

`customers/data_request` assembles everything held about the customer into an export the
merchant retrieves with `clout data-requests show`. `customers/redact` erases the customer's
personal data wherever Clout keeps it — rows, raw payloads, earlier exports — while keeping
the anonymous facts (an order existed, was refunded) that other customers' records rely on.
`shop/redact` erases everything of the shop.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from service.core.models import (
    Customer,
    DataRequest,
    Delivery,
    FlowRun,
    Incident,
    IncidentEvent,
    InfluenceProfile,
    Order,
    Refund,
    Review,
    ReviewSecret,
    Shop,
    Signal,
    SpentFlowRun,
)
from service.core.people import GUEST_PREFIX, REVIEWER_PREFIX
from service.shopify.ids import legacy_id, to_gid


def _order_gids(ids: Iterable[object]) -> list[str]:
    gids = []
    for value in ids:
        try:
            gids.append(to_gid("Order", value))
        except ValueError:
            continue
    return gids


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _stand_ins(
    *, session: Session, shop: Shop, order_gids: Iterable[str], emails: Iterable[str]
) -> list[Customer]:
    """The stand-ins Clout kept for a customer before Shopify named them: a guest checkout's
    (`guest:<order>`) and an unknown reviewer's with their email (`reviewer:…`)."""
    emails = list(emails)
    kept_for_them = or_(
        Customer.shopify_id.in_([f"{GUEST_PREFIX}{gid}" for gid in order_gids]),
        Customer.shopify_id.startswith(REVIEWER_PREFIX) & func.lower(Customer.email).in_(emails),
    )
    return list(session.scalars(select(Customer).where(Customer.shop_id == shop.id, kept_for_them)))


def assemble_customer_export(
    *,
    session: Session,
    shop: Shop,
    customer_gid: str,
    order_ids: Iterable[object] = (),
    email: str | None = None,
) -> dict[str, Any]:
    """Everything Clout holds about one customer, as plain JSON: what it keeps on their own
    row and on the stand-ins a redaction of them would erase too (`email` is the one
    Shopify's request names)."""
    customer = session.scalar(
        select(Customer).where(Customer.shop_id == shop.id, Customer.shopify_id == customer_gid)
    )
    order_gids = _order_gids(order_ids)
    order_filter: list[ColumnElement[bool]] = [Order.shopify_id.in_(order_gids)]
    if customer is not None:
        order_filter.append(Order.customer_id == customer.id)
    orders = session.scalars(
        select(Order).where(Order.shop_id == shop.id, or_(*order_filter)).order_by(Order.id)
    ).all()
    emails = {e.strip().lower() for e in (customer.email if customer else None, email) if e}
    people = [] if customer is None else [customer]
    people += [
        p
        for p in _stand_ins(
            session=session,
            shop=shop,
            order_gids={o.shopify_id for o in orders} | set(order_gids),
            emails=emails,
        )
        if customer is None or p.id != customer.id
    ]
    ids = [p.id for p in people]
    refunds = session.scalars(
        select(Refund).where(
            Refund.shop_id == shop.id,
            Refund.order_shopify_id.in_([o.shopify_id for o in orders]),
        )
    ).all()
    # Their own, and those they wrote under their email of an order someone else bought.
    reviews = session.scalars(
        select(Review).where(
            Review.shop_id == shop.id,
            or_(Review.customer_id.in_(ids), func.lower(Review.reviewer_email).in_(emails)),
        )
    ).all()
    signals = session.scalars(select(Signal).where(Signal.customer_id.in_(ids))).all()
    # The cases' trails: what Clout and the store's people did about the customer, and when.
    trail = session.scalars(
        select(IncidentEvent)
        .join(Incident, Incident.id == IncidentEvent.incident_id)
        .where(Incident.customer_id.in_(ids))
        .order_by(IncidentEvent.at, IncidentEvent.id)
    ).all()
    profile = (
        session.scalar(select(InfluenceProfile).where(InfluenceProfile.customer_id == customer.id))
        if customer is not None
        else None
    )
    return {
        "shop": shop.domain,
        "influence_profile": None
        if profile is None
        else {
            "clout_score": profile.clout_score,
            "klout_score": profile.klout_score,
            "reasons": profile.reasons,
            "components": profile.components,
            "unknown": profile.unknown,
            "computed_at": _iso(profile.computed_at),
        },
        "reviews": [
            {
                "platform": r.provider,
                "id": r.platform_review_id,
                "rating": str(r.rating) if r.rating is not None else None,
                "title": r.title,
                "body": r.body,
                # Someone else's review of their order (a gift's recipient): not theirs to see.
                **(
                    {"reviewer_email": r.reviewer_email, "reviewer_name": r.reviewer_name}
                    if r.reviewer_email is None or r.reviewer_email.lower() in emails
                    else {"reviewer_email": None, "reviewer_name": None}
                ),
                "created_at": _iso(r.platform_created_at),
            }
            for r in reviews
        ],
        "case_events": [
            {
                "case": e.incident_id,
                "at": _iso(e.at),
                "what": e.kind,
                "by": e.by,
                "detail": e.detail,
            }
            for e in trail
        ],
        "signals": [
            {
                "kind": s.kind,
                "reason": s.reason,
                "severity": s.severity,
                "why": (s.detail or {}).get("sentences"),
                "occurred_at": _iso(s.occurred_at),
            }
            for s in signals
        ],
        "customer": None
        if customer is None
        else {
            "id": customer.shopify_id,
            "email": customer.email,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "phone": customer.phone,
            "default_address": customer.default_address,
            "state": customer.state,
            "note": customer.note,
            "tags": customer.tags,
            "number_of_orders": customer.number_of_orders,
            "amount_spent": str(customer.amount_spent) if customer.amount_spent else None,
            "created_at": _iso(customer.shopify_created_at),
            "updated_at": _iso(customer.shopify_updated_at),
            "redacted_at": _iso(customer.redacted_at),
        },
        "orders": [
            {
                "id": o.shopify_id,
                "name": o.name,
                "email": o.email,
                "phone": o.phone,
                "financial_status": o.financial_status,
                "fulfillment_status": o.fulfillment_status,
                "cancel_reason": o.cancel_reason,
                "total_price": str(o.total_price) if o.total_price is not None else None,
                "currency": o.currency,
                "note": o.note,
                "note_attributes": o.note_attributes,
                "discount_codes": o.discount_codes,
                "shipping_address": o.shipping_address,
                "created_at": _iso(o.shopify_created_at),
            }
            for o in orders
        ],
        "refunds": [
            {
                "id": r.shopify_id,
                "order_id": r.order_shopify_id,
                "note": r.note,
                "amount": str(r.amount) if r.amount is not None else None,
                "created_at": _iso(r.shopify_created_at),
            }
            for r in refunds
        ],
    }


def record_data_request(
    *,
    session: Session,
    shop: Shop,
    request_id: str,
    customer_gid: str,
    order_ids: Iterable[object],
    now: datetime,
    email: str | None = None,
) -> DataRequest:
    request = session.scalar(
        select(DataRequest).where(
            DataRequest.shop_id == shop.id, DataRequest.request_id == request_id
        )
    )
    if request is None:
        request = DataRequest(shop_id=shop.id, request_id=request_id, created_at=now)
        session.add(request)
    request.customer_ref = customer_gid
    request.export = assemble_customer_export(
        session=session, shop=shop, customer_gid=customer_gid, order_ids=order_ids, email=email
    )
    return request


def redact_customer(
    *,
    session: Session,
    shop: Shop,
    customer_gid: str,
    order_ids: Iterable[object],
    now: datetime,
    email: str | None = None,
) -> None:
    """Erase the customer's personal data from every table, and their raw payloads. `email`
    is the one Shopify's request names, for what Clout kept under it before it knew them."""
    customer = session.scalar(
        select(Customer).where(Customer.shop_id == shop.id, Customer.shopify_id == customer_gid)
    )
    if customer is None:
        # Remember the redaction so a late delivery cannot bring the data back.
        customer = Customer(shop_id=shop.id, shopify_id=customer_gid)
        session.add(customer)
        session.flush()
    emails = {e.strip().lower() for e in (customer.email, email) if e and e.strip()}

    order_gids = _order_gids(order_ids)
    orders = session.scalars(
        select(Order).where(
            Order.shop_id == shop.id,
            or_(Order.customer_id == customer.id, Order.shopify_id.in_(order_gids)),
        )
    ).all()
    for order in orders:
        order.email = order.phone = order.note = None
        order.note_attributes = order.shipping_address = order.discount_codes = None
        order.redacted_at = now
    all_order_gids = {o.shopify_id for o in orders} | set(order_gids)
    # The stand-ins Clout kept for them before Shopify named them: a guest checkout's
    # (`guest:<order>`, holding the order's email) and an unknown reviewer's with their email
    # (`reviewer:…`). Their words and addresses are this customer's too.
    found = _stand_ins(session=session, shop=shop, order_gids=all_order_gids, emails=emails)
    people = [customer, *(p for p in found if p.id != customer.id)]
    for person in people:
        _erase_person(session=session, shop=shop, customer=person, now=now)
    # Reviews they wrote under their email of an order someone else bought (a gift, a shared
    # order) are linked to the buyer: their words and name are still theirs.
    if emails:
        session.execute(
            update(Review)
            .where(Review.shop_id == shop.id, func.lower(Review.reviewer_email).in_(emails))
            .values(title=None, body=None, reviewer_email=None, reviewer_name=None, analysis=None)
            .execution_options(synchronize_session=False)
        )
    session.execute(
        update(Refund)
        .where(Refund.shop_id == shop.id, Refund.order_shopify_id.in_(all_order_gids))
        .values(note=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(DataRequest)
        .where(DataRequest.shop_id == shop.id, DataRequest.customer_ref == customer_gid)
        .values(export=None)
        .execution_options(synchronize_session=False)
    )
    _erase_payloads(
        session=session,
        shop=shop,
        customer_gid=customer_gid,
        refs=[p.shopify_id for p in people],
        needles=[legacy_id(g).encode() for g in (customer_gid, *all_order_gids)],
        emails=[e.encode() for e in emails],
    )


def _erase_person(*, session: Session, shop: Shop, customer: Customer, now: datetime) -> None:
    """One customer row's personal data, their profile, their reviews' words and the notes
    written on their cases."""
    for attr in ("email", "first_name", "last_name", "phone", "default_address", "note", "tags"):
        setattr(customer, attr, None)
    customer.redacted_at = now
    session.flush()
    session.execute(delete(InfluenceProfile).where(InfluenceProfile.customer_id == customer.id))
    # Reviews they wrote: the words and the name are theirs; the rating stays, anonymous.
    session.execute(
        update(Review)
        .where(Review.shop_id == shop.id, Review.customer_id == customer.id)
        .values(title=None, body=None, reviewer_email=None, reviewer_name=None, analysis=None)
        .execution_options(synchronize_session=False)
    )
    # An agent's note may quote the customer: it goes with their other words.
    their_cases = select(Incident.id).where(Incident.customer_id == customer.id)
    session.execute(
        update(Incident)
        .where(Incident.id.in_(their_cases))
        .values(resolution_note=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(IncidentEvent)
        .where(
            IncidentEvent.incident_id.in_(their_cases),
            IncidentEvent.kind.in_(("resolved", "not_a_complaint")),
        )
        .values(detail=None)
        .execution_options(synchronize_session=False)
    )


def _erase_payloads(
    *,
    session: Session,
    shop: Shop,
    customer_gid: str,
    refs: list[str],
    needles: list[bytes],
    emails: list[bytes],
) -> None:
    """Empty every raw body that is about the customer: those attributed to them, and those
    not yet read (queued, failed) that name their ids or — a review platform's, which know
    a reviewer only by email — their email, in any case."""
    session.execute(
        update(Delivery)
        .where(Delivery.shop_domain == shop.domain, Delivery.customer_ref.in_(refs))
        .values(body=None)
        .execution_options(synchronize_session="fetch")
    )
    # Deliveries not yet attributed to a customer (still queued, or failed) may mention them too.
    candidates = session.scalars(
        select(Delivery)
        .where(
            Delivery.shop_domain == shop.domain,
            Delivery.body.is_not(None),
            Delivery.customer_ref.is_(None),
        )
        .execution_options(yield_per=500)
    )
    # The whole address, not a part of another ("ann@shop.co" in "joann@shop.com"): erasing
    # someone else's waiting review would lose it.
    addresses = [
        re.compile(rb"(?<![\w.+-])" + re.escape(email) + rb"(?![\w.-])") for email in emails
    ]
    for delivery in candidates:
        body = delivery.body or b""
        if any(needle in body for needle in needles) or (
            addresses and any(a.search(body.lower()) for a in addresses)
        ):
            delivery.body = None
            delivery.customer_ref = customer_gid


def redact_shop(*, session: Session, shop: Shop) -> None:
    """Erase everything of the shop: its deliveries and every row that hangs off it. Of its
    Flow action runs a digest stays (`SpentFlowRun`): one sent again after a reinstall is no
    new run."""
    session.execute(delete(Delivery).where(Delivery.shop_domain == shop.domain))
    for run_id in session.scalars(select(FlowRun.run_id).where(FlowRun.shop_id == shop.id)):
        key = SpentFlowRun.key_of(shop_domain=shop.domain, run_id=run_id)
        if session.get(SpentFlowRun, key) is None:
            session.add(SpentFlowRun(run_key=key))
    session.flush()
    for model in (
        InfluenceProfile,
        Signal,
        Incident,
        Review,
        ReviewSecret,
        DataRequest,
        FlowRun,
        Refund,
        Order,
        Customer,
    ):
        session.execute(delete(model).where(model.shop_id == shop.id))
    session.delete(shop)
