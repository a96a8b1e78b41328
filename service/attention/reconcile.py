"""Reconciliation: what a missed webhook would have told Clout, read back from Shopify.

Shopify says apps should not rely on webhooks alone. Every shop's orders updated since the last
watermark are read back and run through the same rules a webhook would; what was already seen
raises nothing new. Each page is fetched with no transaction open and applied in its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.core.db import session_scope
from service.core.models import Order, Refund, Shop
from service.shopify.admin import ShopifyAdmin
from service.shopify.payloads import parse_time, upsert_order_from_admin
from service.signals import events, relink

RECONCILE_OVERLAP = timedelta(minutes=10)  # Shopify's updated_at and ours are not one clock


@dataclass
class Reconciled:
    """What one shop's reconciliation did: the incidents that gained a signal, and whether it
    read up to now or stopped at its time limit with more to read (`behind`: how far its
    watermark is from now)."""

    touched: set[int] = field(default_factory=set)
    caught_up: bool = True
    behind: timedelta = timedelta(0)


def reconcile_shop(
    *,
    sessions: sessionmaker[Session],
    shop_id: int,
    admin: ShopifyAdmin,
    now: datetime,
    first_window: timedelta = timedelta(days=2),
    stop_at: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Reconciled:
    """Read back every order Shopify says changed since the watermark and run it through the
    same signal rules a webhook would: an unhappy customer is caught even if the webhook never
    came. Pages come oldest change first, so the watermark moves on after each one (a crash
    costs at most a page of rework). A busy shop changes orders faster than one run can read
    them back (a page of 20 costs ~780 points of its API budget): at `stop_at` (on `clock`)
    the run ends between pages and says how far behind it is, and the next run goes on from
    the watermark."""
    with session_scope(sessions) as session:
        shop = session.get(Shop, shop_id)
        if shop is None:
            return Reconciled()
        # Mid-pass, on from exactly where the last run stopped: an overlap there would read the
        # same page again and again whenever more than a page of orders changed within it.
        since = shop.reconcile_resume_at or (
            (shop.reconciled_until or now - first_window) - RECONCILE_OVERLAP
        )
    done = Reconciled()
    after: str | None = None
    while True:
        nodes, after = admin.orders_updated_page(since, after=after)
        with session_scope(sessions) as session:
            shop = session.get(Shop, shop_id)
            if shop is None:
                return done
            newest = since
            for node in nodes:
                done.touched |= _apply(session=session, shop=shop, node=node, now=now)
                updated = parse_time(node.get("updatedAt"))
                newest = max(newest, updated) if updated else newest
            shop.reconciled_until = max(
                shop.reconciled_until or newest, newest, since + RECONCILE_OVERLAP
            )
            if after is None:
                shop.reconcile_resume_at = None
                return done
            if stop_at is not None and clock() >= stop_at:
                # The pages are read oldest change first: everything before the newest change
                # of this page has been read. A second back, for orders changed in the same
                # second beyond the page (Shopify's filter is "after"); never back to where this
                # run began, which would read the same page for ever.
                tie = newest - timedelta(seconds=1)
                shop.reconcile_resume_at = tie if tie > since else newest
                done.caught_up = False
                done.behind = max(timedelta(0), now - newest)
                return done


def _apply(*, session: Session, shop: Shop, node: dict[str, Any], now: datetime) -> set[int]:
    """One order as the Admin API has it, through the rules its webhooks would have run."""
    order = upsert_order_from_admin(session=session, shop=shop, node=node, customer=None)
    session.flush()
    moved = relink.relink_order(session=session, shop=shop, order=order, now=now)
    raised = [
        events.cancellation_signal(session=session, shop=shop, order=order, now=now),
        events.note_signal(session=session, shop=shop, order=order, now=now),
    ]
    for refund_node in node.get("refunds") or []:
        refund = _refund_from_admin(session=session, shop=shop, order=order, node=refund_node)
        raised.append(
            events.refund_signal(session=session, shop=shop, order=order, refund=refund, now=now)
        )
    for fulfillment in node.get("fulfillments") or []:
        status = str(fulfillment.get("displayStatus") or "").lower()
        if status in {"failure", "attempted_delivery"}:
            raised.append(
                events.fulfillment_event_signal(
                    session=session,
                    shop=shop,
                    order=order,
                    now=now,
                    payload={
                        "id": fulfillment.get("id"),
                        "status": status,
                        "happened_at": fulfillment.get("createdAt"),
                    },
                )
            )
    return moved | {r.incident.id for r in raised if r is not None and r.new_signal}


def _refund_from_admin(
    *, session: Session, shop: Shop, order: Order, node: dict[str, Any]
) -> Refund:
    refund = session.scalar(
        select(Refund).where(Refund.shop_id == shop.id, Refund.shopify_id == node["id"])
    )
    if refund is None:
        money = ((node.get("totalRefundedSet") or {}).get("shopMoney")) or {}
        refund = Refund(
            shop_id=shop.id,
            shopify_id=node["id"],
            order_shopify_id=order.shopify_id,
            note=node.get("note"),
            amount=Decimal(str(money.get("amount") or 0)),
            currency=money.get("currencyCode"),
            shopify_created_at=parse_time(node.get("createdAt")),
        )
        session.add(refund)
        session.flush()
    return refund
