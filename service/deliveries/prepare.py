"""Before a handler's transaction: read from Shopify what a delivery names and Clout lacks.

Shopify's deliveries are unordered and review apps know nothing of Shopify: a chargeback, a
refund, a return or a review can arrive before the order it is about, or name a reviewer only
by email. One quick read gives the case its real customer. It happens here, before the
handler's transaction opens — no database lock is held across a network call (on SQLite that
would be the write lock intake needs) — and whatever it finds is stored in its own short
transaction. If Shopify cannot answer now, the handler goes on with what Clout has (the order's
tags still land; reconciliation fills the rest in later).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from service.core.db import session_scope
from service.core.errors import PermanentError, TransientError
from service.core.logs import get_logger
from service.core.models import Customer, Order, Shop
from service.core.vocabulary import ShopStatus
from service.shopify.admin import ShopifyAdmin, ShopifyUnauthorized
from service.shopify.ids import to_gid
from service.shopify.payloads import upsert_customer, upsert_order_from_admin
from service.signals import platforms

log = get_logger(__name__)


@dataclass(frozen=True)
class Lookups:
    """What a payload names that Clout may not have yet."""

    order_gids: tuple[str, ...] = ()
    customer_emails: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.order_gids or self.customer_emails)


def _order_gid(value: object) -> tuple[str, ...]:
    if isinstance(value, dict):
        value = value.get("admin_graphql_api_id") or value.get("id")
    try:
        return (to_gid("Order", value),)
    except ValueError:
        return ()


def _names_order_id(payload: Mapping[str, Any]) -> Lookups:
    return Lookups(order_gids=_order_gid(payload.get("order_id")))


def _names_return_order(payload: Mapping[str, Any]) -> Lookups:
    return Lookups(order_gids=_order_gid(payload.get("order") or payload.get("order_id")))


def _review_lookups(provider: str) -> Callable[[Mapping[str, Any]], Lookups]:
    def names(payload: Mapping[str, Any]) -> Lookups:
        body: Any = payload
        if "_raw" in payload:
            try:
                body = platforms.loads_lenient(str(payload["_raw"]).encode())
            except ValueError:
                return Lookups()
        reviews = platforms.read_reviews(provider, body)
        if reviews is None:
            return Lookups()  # the handler says what is wrong with it
        orders: list[str] = []
        emails: list[str] = []
        for review in reviews:
            reference = (review.order_ref or "").strip()
            if reference.startswith("gid://shopify/Order/") or reference.isdigit():
                orders += _order_gid(reference)
            elif review.reviewer_email:
                emails.append(review.reviewer_email)
        return Lookups(order_gids=tuple(orders), customer_emails=tuple(emails))

    return names


# The topics whose payload may name an order or a customer Clout has not seen.
LOOKUPS: Mapping[str, Callable[[Mapping[str, Any]], Lookups]] = {
    "refunds/create": _names_order_id,
    "disputes/create": _names_order_id,
    "disputes/update": _names_order_id,
    "returns/request": _names_return_order,
    "fulfillment_events/create": _names_order_id,
    **{f"reviews/{provider}": _review_lookups(provider) for provider in platforms.NORMALISERS},
}


# Shopify is asked about at most this many orders and people for one delivery. A review
# platform's batch (Trustpilot sends a list) could name hundreds: looked up one by one before
# the handler runs, they outlast the task's time limit, and whoever holds the store's review
# URL could spend its Admin API budget at will. What is past the bound lands on what Clout
# knows (a stand-in, linked later when the customer's own webhooks arrive).
LOOKUPS_PER_DELIVERY = 20
NAMES_READ = 10 * LOOKUPS_PER_DELIVERY  # names checked against the database, known or not


def missing(*, session: Session, shop_id: int, wanted: Lookups) -> Lookups:
    """The orders Clout has never read from Shopify, and the emails of no customer.

    An order is asked for once: a row made only to hang a signal on (a placeholder, whose
    signals sit on `guest:<order>`) is asked for again, but one Clout has read — from its
    webhook or an earlier lookup — is not, even when its buyer is a guest: Shopify would only
    say so again."""
    orders: list[str] = []
    # Each name costs a query here too: a batch's first NAMES_READ are looked at, no more.
    for gid in list(dict.fromkeys(wanted.order_gids))[:NAMES_READ]:
        if len(orders) >= LOOKUPS_PER_DELIVERY:
            break
        read = session.scalar(
            select(Order.id).where(
                Order.shop_id == shop_id,
                Order.shopify_id == gid,
                Order.shopify_created_at.is_not(None),
            )
        )
        if read is None:
            orders.append(gid)
    emails: list[str] = []
    for email in list(dict.fromkeys(e.lower() for e in wanted.customer_emails))[:NAMES_READ]:
        if len(orders) + len(emails) >= LOOKUPS_PER_DELIVERY:
            break
        found = session.scalar(
            select(Customer.id).where(
                Customer.shop_id == shop_id, func.lower(Customer.email) == email.lower()
            )
        )
        if found is None:
            emails.append(email)
    return Lookups(order_gids=tuple(orders), customer_emails=tuple(emails))


@dataclass(frozen=True)
class Found:
    orders: tuple[dict[str, Any], ...] = ()
    # A customer found by email, with their recent orders (to link a review to one).
    customers: tuple[tuple[dict[str, Any], tuple[dict[str, Any], ...]], ...] = ()


def fetch(*, client: ShopifyAdmin, lookups: Lookups, delivery_id: int) -> Found:
    """Ask Shopify, briefly: an unwell Shopify delays the signal by seconds, never more."""
    quick = dataclasses.replace(client, max_attempts=2, max_wait=5.0)
    orders: list[dict[str, Any]] = []
    customers: list[tuple[dict[str, Any], tuple[dict[str, Any], ...]]] = []
    try:
        for gid in lookups.order_gids:
            node = quick.order(gid)
            if node is not None:
                orders.append(node)
        for email in lookups.customer_emails:
            person = quick.customer_by_email(email)
            if person is not None:
                customers.append((person, tuple(quick.customer_recent_orders(person["id"]))))
    except (TransientError, PermanentError) as error:
        log.info("lookup_not_done", delivery_id=delivery_id, error=type(error).__name__)
    return Found(orders=tuple(orders), customers=tuple(customers))


def store(*, session: Session, shop: Shop, found: Found) -> None:
    for node in found.orders:
        upsert_order_from_admin(session=session, shop=shop, node=node, customer=None)
    for person, recent in found.customers:
        customer = upsert_customer(
            session=session,
            shop=shop,
            payload={
                "id": person["id"],
                "email": (person.get("defaultEmailAddress") or {}).get("emailAddress"),
                "first_name": person.get("firstName"),
                "last_name": person.get("lastName"),
                "created_at": person.get("createdAt"),
            },
            authoritative=False,
        )
        session.flush()
        for order in recent:
            upsert_order_from_admin(session=session, shop=shop, node=order, customer=customer)


def prepare_delivery(
    *,
    sessions: sessionmaker[Session],
    delivery_id: int,
    shop_id: int,
    topic_key: str,
    payload: Mapping[str, Any],
    admin_for: Callable[[Shop], ShopifyAdmin] | None,
) -> None:
    """Look up in Shopify what the delivery names and Clout lacks, and keep it, each step in its
    own short transaction and none across the network call."""
    names = LOOKUPS.get(topic_key)
    if names is None or admin_for is None:
        return
    wanted = names(payload)
    if not wanted:
        return
    with session_scope(sessions) as session:
        shop = session.get(Shop, shop_id)
        if shop is None:
            return
        lookups = missing(session=session, shop_id=shop_id, wanted=wanted)
        if not lookups:
            return
        client = admin_for(shop)
    found = fetch(client=client, lookups=lookups, delivery_id=delivery_id)
    if not (found.orders or found.customers):
        return
    with session_scope(sessions) as session:
        shop = session.get(Shop, shop_id)
        if shop is not None:
            store(session=session, shop=shop, found=found)


# Topics that end a store's connection or erase it. Shopify signs a webhook's body and nothing
# else, and its signature never expires: the same bytes re-sent with a delivery id of one's own
# are a new delivery. A captured `app/uninstalled` or `shop/redact` sent again after the
# merchant reinstalled would disconnect or erase a store that is using Clout. Shopify revokes
# the app's token when it is uninstalled (and never sends `shop/redact` to a store that
# reinstalled), so a token Shopify still takes says the body is stale.
ASK_IF_INSTALLED = frozenset({"app/uninstalled", "shop/redact"})


def still_installed(
    *,
    sessions: sessionmaker[Session],
    shop_id: int,
    topic_key: str,
    admin_for: Callable[[Shop], ShopifyAdmin] | None,
) -> bool | None:
    """For a delivery that would disconnect or erase a connected store: whether Shopify still
    takes the store's token (True: the app is installed there now; False: refused). None when
    there is nothing to ask (another topic, a store not connected) or no answer."""
    if topic_key not in ASK_IF_INSTALLED or admin_for is None:
        return None
    with session_scope(sessions) as session:
        shop = session.get(Shop, shop_id)
        if shop is None or shop.status != ShopStatus.ACTIVE:
            return None
        try:
            client = admin_for(shop)
        except ShopifyUnauthorized:
            return False  # connected without a token Clout can use: nothing to keep calling
    try:
        dataclasses.replace(client, max_attempts=2, max_wait=5.0).shop_info()
    except ShopifyUnauthorized as error:
        if not error.revoked:
            # A 403 refuses the call, not the token (Shopify's docs: a scope the app lacks): no
            # word that the app is gone, and a replayed body must not disconnect the store.
            log.warning("install_not_confirmed", shop_id=shop_id, error="forbidden")
        return False if error.revoked else None
    except (TransientError, PermanentError) as error:
        log.info("install_not_confirmed", shop_id=shop_id, error=type(error).__name__)
        return None
    return True
