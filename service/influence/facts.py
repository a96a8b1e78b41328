"""What the shop knows about each customer, read from its orders: spend, gifts, referrals,
word of mouth, workplace and household circles, and the social handles customers gave.

Two halves: row readers (`customer_rows`, `order_rows`) stream from the database, and
`facts_from` turns rows into facts without touching it (tested on plain rows).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.core.models import Customer, Order, Shop
from service.influence.social import SOCIAL_NETWORKS, clean_handle

FREEMAIL = {
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "live.com",
    "icloud.com",
    "me.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "gmx.com",
    "mail.com",
    "msn.com",
    "yandex.com",
    "zoho.com",
}
HEARD_FROM_KEYS = ("referred_by", "how_did_you_hear", "heard_about_us_from", "referrer")


@dataclass
class Facts:
    """Per customer raw figures for the whole shop, built from one scan of its orders."""

    spend: dict[int, float] = field(default_factory=lambda: defaultdict(float))
    orders: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    gift_recipients: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    gift_recipients_who_buy: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    referred: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    referred_revenue: dict[int, float] = field(default_factory=lambda: defaultdict(float))
    named_by: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    colleagues: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    household: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    domain_of: dict[int, str] = field(default_factory=dict)
    handles: dict[int, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    customers: list[int] = field(default_factory=list)


def _norm_address(address: dict[str, Any] | None) -> str | None:
    if not address or not address.get("address1"):
        return None
    return re.sub(
        r"\W+", " ", f"{address.get('address1')} {address.get('zip') or ''}".lower()
    ).strip()


def _person(address: dict[str, Any] | None) -> str | None:
    if not address:
        return None
    name = (
        address.get("name") or f"{address.get('first_name') or ''} {address.get('last_name') or ''}"
    )
    return re.sub(r"\s+", " ", str(name).lower()).strip() or None


def referral_first_name(code: str) -> str | None:
    """A referral code is a customer's own when it is their first name and two to four digits
    and exactly one customer has that first name (no guessing between two Annas)."""
    match = re.fullmatch(r"([A-Z]+)\d{2,4}", code.upper())
    return match.group(1) if match else None


class CustomerRow(NamedTuple):
    id: int
    email: str | None
    first_name: str | None
    last_name: str | None
    default_address: dict[str, Any] | None
    note: str | None


class OrderRow(NamedTuple):
    customer_id: int
    total_price: Decimal | None
    shipping_address: dict[str, Any] | None
    discount_codes: dict[str, Any] | None
    note_attributes: dict[str, Any] | None
    created_at: datetime | None
    cancelled_at: datetime | None


def customer_rows(*, session: Session, shop: Shop) -> Iterator[CustomerRow]:
    """The shop's customers, streamed in batches (memory stays flat as the shop grows)."""
    rows = session.execute(
        select(
            Customer.id,
            Customer.email,
            Customer.first_name,
            Customer.last_name,
            Customer.default_address,
            Customer.note,
        )
        .where(Customer.shop_id == shop.id)
        .execution_options(yield_per=2000)
    )
    for row in rows:
        yield CustomerRow(*row)


def order_rows(*, session: Session, shop: Shop) -> Iterator[OrderRow]:
    """The shop's orders that have a customer, streamed in batches."""
    rows = session.execute(
        select(
            Order.customer_id,
            Order.total_price,
            Order.shipping_address,
            Order.discount_codes,
            Order.note_attributes,
            Order.shopify_created_at,
            Order.cancelled_at,
        )
        .where(Order.shop_id == shop.id, Order.customer_id.is_not(None))
        .execution_options(yield_per=5000)
    )
    for row in rows:
        yield OrderRow(*row)


def gather_facts(*, session: Session, shop: Shop) -> Facts:
    """The whole shop's facts: its rows, read as `facts_from` reads them."""
    return facts_from(
        customer_rows(session=session, shop=shop), order_rows(session=session, shop=shop)
    )


def facts_from(customers: Iterable[CustomerRow], orders: Iterable[OrderRow]) -> Facts:
    """What the rows say about each customer: spend, gifts, referrals, word of mouth, circles
    and handles. Pure, and one pass over each iterable (they may be streamed from the
    database): cost grows linearly with the shop. Customers first: orders are read against
    who the customers are (a gift is an order shipped to someone else's name and address)."""
    reading = _Reading()
    for customer in customers:
        reading.customer(customer)
    for order in orders:
        if order.cancelled_at is None:
            reading.order(order)
    return reading.finish()


class _Reading:
    """The state of one `facts_from` pass: indexes of who is who, filled as rows go by."""

    def __init__(self) -> None:
        self.facts = Facts()
        self.by_email: dict[str, int] = {}
        self.by_name: dict[str, int] = {}
        self.by_first_name: dict[str, list[int]] = defaultdict(list)
        self.home: dict[int, str] = {}
        self.own_name: dict[int, str] = {}
        self.addresses: dict[str, set[int]] = defaultdict(set)
        self.redemptions: list[tuple[int, str, float]] = []

    def customer(self, row: CustomerRow) -> None:
        cid, facts = row.id, self.facts
        facts.customers.append(cid)
        if row.email:
            self.by_email[row.email.lower()] = cid
            domain = row.email.lower().rsplit("@", 1)[-1]
            if domain not in FREEMAIL:
                facts.domain_of[cid] = domain
        full = f"{row.first_name or ''} {row.last_name or ''}".strip().lower()
        if full:
            self.by_name[full] = cid
            self.own_name[cid] = full
        if row.first_name:
            self.by_first_name[row.first_name.upper()].append(cid)
        spot = _norm_address(row.default_address)
        if spot:
            self.home[cid] = spot
        for network, handle in _handles_in_text(row.note or ""):
            facts.handles[cid].append((network, handle))

    def order(self, row: OrderRow) -> None:
        cid, facts = row.customer_id, self.facts
        amount = float(row.total_price or Decimal(0))
        facts.spend[cid] += amount
        facts.orders[cid] += 1
        self._shipping(cid, row.shipping_address)
        for code in (row.discount_codes or {}).get("codes") or []:
            text = str(code.get("code") if isinstance(code, dict) else code).upper()
            self.redemptions.append((cid, text, amount))
        for attribute in (row.note_attributes or {}).get("attributes") or []:
            if isinstance(attribute, dict):
                self._attribute(cid, attribute)

    def _shipping(self, cid: int, shipping: dict[str, Any] | None) -> None:
        recipient, spot = _person(shipping), _norm_address(shipping)
        own = self.own_name.get(cid)
        gift = bool(recipient and own and recipient != own and spot != self.home.get(cid))
        if spot and not gift:
            self.addresses[spot].add(cid)  # where they live: a gift's address is someone else's
        if gift and recipient:
            self.facts.gift_recipients[cid].add(recipient)
            other = self.by_name.get(recipient)
            if other is not None and other != cid:
                self.facts.gift_recipients_who_buy[cid].add(other)

    def _attribute(self, cid: int, attribute: dict[str, Any]) -> None:
        key = str(attribute.get("name") or attribute.get("key") or "").lower()
        value = str(attribute.get("value") or "").strip()
        if not value:
            return
        if key in HEARD_FROM_KEYS:
            named = self.by_email.get(value.lower()) or self.by_name.get(value.lower())
            if named is not None and named != cid:
                self.facts.named_by[named].add(cid)
        if key in SOCIAL_NETWORKS:
            handle = clean_handle(key, value)
            if handle is not None:
                self.facts.handles[cid].append((key, handle))

    def finish(self) -> Facts:
        facts = self.facts
        for cid, code, amount in self.redemptions:
            name = referral_first_name(code)
            owners = self.by_first_name.get(name, []) if name else []
            if len(owners) == 1 and owners[0] != cid:
                facts.referred[owners[0]].add(cid)
                facts.referred_revenue[owners[0]] += amount
        by_domain: dict[str, set[int]] = defaultdict(set)
        for cid, domain in facts.domain_of.items():
            by_domain[domain].add(cid)
        for members in by_domain.values():
            for cid in members:
                facts.colleagues[cid] = members - {cid}
        for cid, spot in self.home.items():
            self.addresses[spot].add(cid)
        for members in self.addresses.values():
            if 1 < len(members) <= 8:  # a household, not a warehouse or a pick-up point
                for cid in members:
                    facts.household[cid] |= members - {cid}
        return facts


def _handles_in_text(text: str) -> Iterable[tuple[str, str]]:
    for network, handle in re.findall(
        r"\b(instagram|tiktok|youtube|twitter|facebook|pinterest)\s*[:=]\s*@?([A-Za-z0-9_.]{2,40})",
        text,
        re.I,
    ):
        cleaned = clean_handle(network, handle)
        if cleaned is not None:
            yield network.lower(), cleaned
