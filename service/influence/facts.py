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

from sqlalchemy import and_, func, not_, or_, select
from sqlalchemy.orm import Session

from service.core.models import Customer, Order, OrderMention, Shop
from service.core.people import (
    HEARD_FROM,
    REFERRAL,
    address_key,
    attributes_of,
    email_key,
    first_name_key,
    is_gift,
    mentions,
    name_key,
    recipient_key,
    workplace_domain,
)
from service.influence.social import SOCIAL_NETWORKS, clean_handle

HOUSEHOLD_MOST = 8  # more people at one address is a warehouse or a pick-up point, not a home
# More customers at one email domain are a mailbox provider the free-mail list does not name
# (web.de, btinternet.com) or an organisation too large to be a circle, not colleagues who
# talk. Counted, every customer there held each of the others: anyone can open accounts at
# one domain, and the shop's facts grew with the square of them (12,000 took 6 GB).
COLLEAGUES_MOST = 50


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
    currency: dict[int, str] = field(default_factory=dict)  # the one their money is told in
    customers: list[int] = field(default_factory=list)


class CustomerRow(NamedTuple):
    id: int
    email: str | None
    first_name: str | None
    last_name: str | None
    default_address: dict[str, Any] | None
    note: str | None
    # What Shopify counts (numberOfOrders, amountSpent), which includes orders Clout never saw.
    number_of_orders: int | None = None
    amount_spent: Decimal | None = None
    currency: str | None = None


class OrderRow(NamedTuple):
    customer_id: int
    total_price: Decimal | None
    shipping_address: dict[str, Any] | None
    discount_codes: dict[str, Any] | None
    note_attributes: dict[str, Any] | None
    created_at: datetime | None
    cancelled_at: datetime | None
    currency: str | None = None


CUSTOMER_COLUMNS = (
    Customer.id,
    Customer.email,
    Customer.first_name,
    Customer.last_name,
    Customer.default_address,
    Customer.note,
    Customer.number_of_orders,
    Customer.amount_spent,
    Customer.currency,
)
ORDER_COLUMNS = (
    Order.customer_id,
    Order.total_price,
    Order.shipping_address,
    Order.discount_codes,
    Order.note_attributes,
    Order.shopify_created_at,
    Order.cancelled_at,
    Order.currency,
)


def customer_rows(*, session: Session, shop: Shop) -> Iterator[CustomerRow]:
    """The shop's customers, streamed in batches (memory stays flat as the shop grows)."""
    rows = session.execute(
        select(*CUSTOMER_COLUMNS)
        .where(Customer.shop_id == shop.id)
        .execution_options(yield_per=2000)
    )
    for row in rows:
        yield CustomerRow(*row)


def order_rows(*, session: Session, shop: Shop) -> Iterator[OrderRow]:
    """The shop's orders that have a customer, streamed in batches."""
    rows = session.execute(
        select(*ORDER_COLUMNS)
        .where(Order.shop_id == shop.id, Order.customer_id.is_not(None))
        .execution_options(yield_per=5000)
    )
    for row in rows:
        yield OrderRow(*row)


def gather_facts(*, session: Session, shop: Shop) -> Facts:
    """The whole shop's facts: its rows, read as `facts_from` reads them. For the shop's norms
    and a rebuild of every profile; one customer's profile reads `customer_facts`."""
    return facts_from(
        customer_rows(session=session, shop=shop), order_rows(session=session, shop=shop)
    )


def facts_from(customers: Iterable[CustomerRow], orders: Iterable[OrderRow]) -> Facts:
    """What the rows say about each customer: spend, gifts, referrals, word of mouth, circles
    and handles. Pure, and one pass over each iterable (they may be streamed from the
    database): cost grows linearly with the shop. Customers first: orders are read against
    who the customers are (a gift is an order shipped to someone else's name and address).

    A name, an email or a first name points at a customer only when exactly one customer has
    it: Clout does not guess between two Annas."""
    reading = _Reading()
    for customer in customers:
        reading.customer(customer)
    for order in orders:
        if order.cancelled_at is None:
            reading.order(order)
    return reading.finish()


def _only(ids: list[int] | None) -> int | None:
    return ids[0] if ids and len(ids) == 1 else None


class _Reading:
    """The state of one `facts_from` pass: indexes of who is who, filled as rows go by."""

    def __init__(self) -> None:
        self.facts = Facts()
        self.by_email: dict[str, list[int]] = defaultdict(list)
        self.by_name: dict[str, list[int]] = defaultdict(list)
        self.by_first_name: dict[str, list[int]] = defaultdict(list)
        self.home: dict[int, str] = {}
        self.own_name: dict[int, str] = {}
        self.addresses: dict[str, set[int]] = defaultdict(set)
        self.redemptions: list[tuple[int, str, float]] = []
        self.heard: list[tuple[int, str]] = []
        self.shopify: dict[int, tuple[int, float]] = {}

    def customer(self, row: CustomerRow) -> None:
        cid, facts = row.id, self.facts
        facts.customers.append(cid)
        email = email_key(row.email)
        if email:
            self.by_email[email].append(cid)
        domain = workplace_domain(row.email)
        if domain:
            facts.domain_of[cid] = domain
        full = name_key(row.first_name, row.last_name)
        if full:
            self.by_name[full].append(cid)
            self.own_name[cid] = full
        first = first_name_key(row.first_name)
        if first:
            self.by_first_name[first].append(cid)
        spot = address_key(row.default_address)
        if spot:
            self.home[cid] = spot
        for network, handle in handles_in_note(row.note or ""):
            facts.handles[cid].append((network, handle))
        if row.currency:
            facts.currency[cid] = row.currency
        if row.number_of_orders or row.amount_spent:
            self.shopify[cid] = (row.number_of_orders or 0, float(row.amount_spent or 0))

    def order(self, row: OrderRow) -> None:
        cid, facts = row.customer_id, self.facts
        amount = float(row.total_price or Decimal(0))
        facts.spend[cid] += amount
        facts.orders[cid] += 1
        if row.currency:
            facts.currency.setdefault(cid, row.currency)
        self._shipping(cid, row.shipping_address)
        for kind, key in mentions(
            discount_codes=row.discount_codes, note_attributes=row.note_attributes
        ):
            if kind == "referral":
                self.redemptions.append((cid, key, amount))
            else:
                self.heard.append((cid, key))
        facts.handles[cid].extend(handles_in_attributes(row.note_attributes))
        if not facts.handles[cid]:
            del facts.handles[cid]

    def _shipping(self, cid: int, shipping: dict[str, Any] | None) -> None:
        recipient, spot = recipient_key(shipping), address_key(shipping)
        gift = is_gift(
            recipient=recipient, spot=spot, own_name=self.own_name.get(cid), home=self.home.get(cid)
        )
        if spot and not gift:
            self.addresses[spot].add(cid)  # where they live: a gift's address is someone else's
        if gift and recipient:
            self.facts.gift_recipients[cid].add(recipient)
            other = _only(self.by_name.get(recipient))
            if other is not None and other != cid:
                self.facts.gift_recipients_who_buy[cid].add(other)

    def _named(self, value: str) -> int | None:
        if value in self.by_email:
            return _only(self.by_email[value])
        return _only(self.by_name.get(value))

    def finish(self) -> Facts:
        facts = self.facts
        for cid, name, amount in self.redemptions:
            owner = _only(self.by_first_name.get(name))
            if owner is not None and owner != cid:
                facts.referred[owner].add(cid)
                facts.referred_revenue[owner] += amount
        for cid, value in self.heard:
            named = self._named(value)
            if named is not None and named != cid:
                facts.named_by[named].add(cid)
        self._circles()
        for cid, (count, spent) in self.shopify.items():
            facts.orders[cid] = max(facts.orders.get(cid, 0), count)
            facts.spend[cid] = max(facts.spend.get(cid, 0.0), spent)
        return facts

    def _circles(self) -> None:
        facts = self.facts
        by_domain: dict[str, set[int]] = defaultdict(set)
        for cid, domain in facts.domain_of.items():
            by_domain[domain].add(cid)
        for members in by_domain.values():
            if 1 < len(members) <= COLLEAGUES_MOST:
                for cid in members:
                    facts.colleagues[cid] = members - {cid}
        for cid, spot in self.home.items():
            self.addresses[spot].add(cid)
        for members in self.addresses.values():
            if 1 < len(members) <= HOUSEHOLD_MOST:
                for cid in members:
                    facts.household[cid] |= members - {cid}


def handles_in_note(text: str) -> Iterable[tuple[str, str]]:
    for network, handle in re.findall(
        r"\b(instagram|tiktok|youtube|twitter|facebook|pinterest)\s*[:=]\s*@?([A-Za-z0-9_.]{2,40})",
        text,
        re.I,
    ):
        cleaned = clean_handle(network, handle)
        if cleaned is not None:
            yield network.lower(), cleaned


def handles_in_attributes(note_attributes: dict[str, Any] | None) -> list[tuple[str, str]]:
    found = []
    for attribute in attributes_of(note_attributes):
        key = str(attribute.get("name") or attribute.get("key") or "").lower()
        value = str(attribute.get("value") or "").strip()
        if key in SOCIAL_NETWORKS and value:
            handle = clean_handle(key, value)
            if handle is not None:
                found.append((key, handle))
    return found


# --- one customer, from indexed queries ----------------------------------------------------------


def customer_facts(*, session: Session, customer: Customer) -> Facts:
    """The same facts `facts_from` finds for this customer in a pass over the whole shop, read
    with indexed queries on the customer's own orders and on the keys that point at them
    (`core.people`): the cost follows the customer's circle, not the shop's size."""
    cid, shop_id = customer.id, customer.shop_id
    facts = Facts(customers=[cid])
    home = customer.home_key
    spots = {home} if home else set()
    recipients = _own_orders(session=session, customer=customer, facts=facts, spots=spots)
    if recipients:
        facts.gift_recipients[cid] = recipients
        for recipient in recipients:
            other = _only_holder(session, shop_id, Customer.name_key, recipient)
            if other is not None and other != cid:
                facts.gift_recipients_who_buy[cid].add(other)
    _referrals(session=session, customer=customer, facts=facts)
    _named_by(session=session, customer=customer, facts=facts)
    if customer.workplace_domain:
        facts.domain_of[cid] = customer.workplace_domain
        colleagues = set(
            session.scalars(
                select(Customer.id)
                .where(
                    Customer.shop_id == shop_id,
                    Customer.workplace_domain == customer.workplace_domain,
                    Customer.id != cid,
                )
                .limit(COLLEAGUES_MOST)  # one more than a circle holds, with the customer
            )
        )
        if 0 < len(colleagues) < COLLEAGUES_MOST:
            facts.colleagues[cid] = colleagues
    for spot in spots:
        members = _living_at(session=session, shop_id=shop_id, spot=spot)
        if 1 < len(members) <= HOUSEHOLD_MOST and cid in members:
            facts.household[cid] |= members - {cid}
    return facts


def _own_orders(*, session: Session, customer: Customer, facts: Facts, spots: set[str]) -> set[str]:
    """Spend, orders and handles from the customer's own orders; the places they ship to in
    their own name join `spots`; returns the people they send gifts to."""
    cid, own_name, home = customer.id, customer.name_key, customer.home_key
    recipients: set[str] = set()
    for handle in handles_in_note(customer.note or ""):
        facts.handles[cid].append(handle)
    own = session.execute(
        select(
            Order.total_price,
            Order.ship_key,
            Order.ship_name,
            Order.note_attributes,
            Order.currency,
        )
        .where(Order.customer_id == cid, Order.cancelled_at.is_(None))
        .order_by(Order.id)
    )
    if customer.currency:
        facts.currency[cid] = customer.currency
    for total, spot, recipient, attributes, currency in own:
        facts.spend[cid] += float(total or Decimal(0))
        facts.orders[cid] += 1
        if currency:
            facts.currency.setdefault(cid, currency)
        if is_gift(recipient=recipient, spot=spot, own_name=own_name, home=home):
            recipients.add(recipient)
        elif spot:
            spots.add(spot)
        facts.handles[cid].extend(handles_in_attributes(attributes))
    if customer.number_of_orders or customer.amount_spent:
        facts.orders[cid] = max(facts.orders.get(cid, 0), customer.number_of_orders or 0)
        facts.spend[cid] = max(facts.spend.get(cid, 0.0), float(customer.amount_spent or 0))
    if not facts.handles[cid]:
        del facts.handles[cid]
    return recipients


def _only_holder(session: Session, shop_id: int, column: Any, key: str) -> int | None:
    """The one customer whose `column` is `key`; None for nobody or more than one."""
    found = session.scalars(
        select(Customer.id).where(Customer.shop_id == shop_id, column == key).limit(2)
    ).all()
    return found[0] if len(found) == 1 else None


def _mentioning(*, shop_id: int, kind: str, keys: list[str], cid: int) -> Any:
    return (
        select(Order.customer_id, Order.total_price)
        .join(OrderMention, OrderMention.order_id == Order.id)
        .where(
            OrderMention.shop_id == shop_id,
            OrderMention.kind == kind,
            OrderMention.key.in_(keys),
            Order.cancelled_at.is_(None),
            Order.customer_id.is_not(None),
            Order.customer_id != cid,
        )
    )


def _referrals(*, session: Session, customer: Customer, facts: Facts) -> None:
    first = customer.first_name_key
    if not first or _only_holder(session, customer.shop_id, Customer.first_name_key, first) is None:
        return
    cid = customer.id
    for buyer, total in session.execute(
        _mentioning(shop_id=customer.shop_id, kind=REFERRAL, keys=[first], cid=cid)
    ):
        facts.referred[cid].add(buyer)
        facts.referred_revenue[cid] += float(total or Decimal(0))


def _named_by(*, session: Session, customer: Customer, facts: Facts) -> None:
    """Who named this customer when asked how they heard of the shop: by email when only they
    have it, else by name when only they have it and it is nobody's email."""
    shop_id, keys = customer.shop_id, []
    if (
        customer.email_key
        and _only_holder(session, shop_id, Customer.email_key, customer.email_key) is not None
    ):
        keys.append(customer.email_key)
    if (
        customer.name_key
        and _only_holder(session, shop_id, Customer.name_key, customer.name_key) is not None
        and not session.scalar(
            select(func.count())
            .select_from(Customer)
            .where(Customer.shop_id == shop_id, Customer.email_key == customer.name_key)
        )
    ):
        keys.append(customer.name_key)
    if keys:
        named = session.execute(
            _mentioning(shop_id=shop_id, kind=HEARD_FROM, keys=keys, cid=customer.id)
        )
        for buyer, _total in named:
            facts.named_by[customer.id].add(buyer)


def _living_at(*, session: Session, shop_id: int, spot: str) -> set[int]:
    """Who lives at a place, up to one more than a household can hold: customers whose home it
    is, and customers who ship there in their own name or to their own home."""
    enough = HOUSEHOLD_MOST + 1
    homes = set(
        session.scalars(
            select(Customer.id)
            .where(Customer.shop_id == shop_id, Customer.home_key == spot)
            .limit(enough)
        )
    )
    gift = and_(
        Order.ship_name.is_not(None),
        Order.ship_name != "",
        Customer.name_key.is_not(None),
        Customer.name_key != "",
        Order.ship_name != Customer.name_key,
        or_(Customer.home_key.is_(None), Customer.home_key != spot),
    )
    shippers = {
        cid
        for cid in session.scalars(
            select(Order.customer_id)
            .join(Customer, Customer.id == Order.customer_id)
            .where(
                Order.shop_id == shop_id,
                Order.ship_key == spot,
                Order.cancelled_at.is_(None),
                not_(gift),
            )
            .distinct()
            .limit(enough)
        )
        if cid is not None
    }
    return homes | shippers
