"""A store that looks like a real one, reproducible from a seed.

Repeat buyers and one-time buyers (a long-tailed order count), gift orders shipped to other
people, referral discount codes redeemed by others, "how did you hear about us" answers,
colleagues sharing a company email domain, households sharing an address, refunds,
cancellations, and fulfillments in every state.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from faker import Faker

from service.dev.devstore.store import (
    Address,
    Customer,
    DevStore,
    Fulfillment,
    LineItem,
    Order,
    Refund,
)

FREEMAIL = ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com")
PRODUCTS = [
    ("Linen apron", Decimal("38.00")),
    ("Stoneware mug", Decimal("24.00")),
    ("Cast iron skillet", Decimal("89.00")),
    ("Beeswax candle", Decimal("18.50")),
    ("Wool throw", Decimal("129.00")),
    ("Herb seed kit", Decimal("22.00")),
    ("Ceramic planter", Decimal("46.00")),
    ("Tea sampler", Decimal("31.00")),
]
HEARD_FROM = ("Instagram", "Google", "A friend", "Podcast", "Newsletter")
CANCEL_REASONS = ("CUSTOMER", "FRAUD", "INVENTORY", "DECLINED", "OTHER")


@dataclass(frozen=True)
class SeedSummary:
    customers: int
    orders: int
    gift_orders: int
    referral_redemptions: int
    refunds: int
    cancellations: int


def person_address(fake: Faker, first: str, last: str) -> Address:
    return Address(
        first_name=first,
        last_name=last,
        address1=fake.street_address(),
        city=fake.city(),
        zip=fake.postcode(),
        province_code=fake.state_abbr(),
        phone=fake.numerify("555-###-####"),
    )


def seed_store(
    store: DevStore,
    *,
    customers: int = 300,
    orders: int = 2000,
    seed: int = 1,
    start: datetime | None = None,
    days: int = 365,
) -> SeedSummary:
    """Fill `store` with `customers` and about `orders` orders over `days` days."""
    rng = random.Random(seed)
    fake = Faker("en_US")
    fake.seed_instance(seed)
    start = start or datetime.now(UTC) - timedelta(days=days)
    companies = [fake.domain_name() for _ in range(max(2, customers // 40))]

    people: list[Customer] = []
    for _ in range(customers):
        first, last = fake.first_name(), fake.last_name()
        domain = rng.choice(companies) if rng.random() < 0.12 else rng.choice(FREEMAIL)
        created = start + timedelta(seconds=rng.uniform(0, days * 86400 * 0.8))
        email = f"{first}.{last}.{rng.randrange(10_000)}@{domain}".lower()
        customer = Customer(
            id=store.next_id(),
            email=email,
            first_name=first,
            last_name=last,
            phone=fake.numerify("555-###-####"),
            created_at=created,
            updated_at=created,
            addresses=[person_address(fake, first, last)],
            predicted_spend_tier=rng.choice(("LOW", "MEDIUM", "HIGH")),
        )
        people.append(store.add_customer(customer))

    # Households: a few customers share their address with another.
    for a, b in zip(people[::17], people[5::17], strict=False):
        shared = b.addresses[0]
        a.addresses.insert(
            0,
            Address(
                a.first_name or "",
                a.last_name or "",
                shared.address1,
                shared.city,
                shared.zip,
                shared.country_code,
                shared.province_code,
                a.phone,
            ),
        )

    # A long tail: most people buy once, a few buy often.
    weights = [rng.paretovariate(1.3) for _ in people]
    referral_owners = rng.sample(people, k=max(1, customers // 15))
    codes = {}
    for owner in referral_owners:
        code = f"{(owner.first_name or 'FRIEND').upper()}{rng.randrange(10, 99)}"
        codes[code] = owner.id
        store.discount_code_owners[code] = owner.id

    gifts = redemptions = refunds = cancels = 0
    made = 0
    while made < orders:
        buyer = rng.choices(people, weights=weights)[0]
        created = max(buyer.created_at, start) + timedelta(
            seconds=rng.uniform(
                0, max(1.0, (datetime.now(UTC) - max(buyer.created_at, start)).total_seconds())
            )
        )
        items = [rng.choice(PRODUCTS) for _ in range(rng.randint(1, 3))]
        total = sum((price for _, price in items), Decimal(0))
        first, last = buyer.first_name or "", buyer.last_name or ""
        shipping = buyer.addresses[0]
        note_attributes: list[tuple[str, str]] = []
        if rng.random() < 0.15:  # a gift, shipped to someone else
            gifts += 1
            recipient = rng.choice(people) if rng.random() < 0.3 else None
            if recipient is not None and recipient.id != buyer.id:
                shipping = recipient.addresses[0]
            else:
                shipping = person_address(fake, fake.first_name(), fake.last_name())
            note_attributes.append(("gift_message", "Happy birthday!"))
        discount_codes = []
        if rng.random() < 0.08:
            code, owner_id = rng.choice(list(codes.items()))
            if owner_id != buyer.id:
                discount_codes.append(code)
                redemptions += 1
        if rng.random() < 0.2:
            note_attributes.append(("how_did_you_hear", rng.choice(HEARD_FROM)))
        order = Order(
            id=store.next_id(),
            number=store.next_order_number(),
            customer_id=buyer.id,
            email=buyer.email,
            created_at=created,
            updated_at=created,
            total=total,
            currency=store.currency,
            shipping_address=shipping,
            billing_address=Address(
                first,
                last,
                buyer.addresses[0].address1,
                buyer.addresses[0].city,
                buyer.addresses[0].zip,
            ),
            line_items=[
                LineItem(title, 1, 9_000 + i, price) for i, (title, price) in enumerate(items)
            ],
            custom_attributes=note_attributes,
            discount_codes=discount_codes,
        )
        roll = rng.random()
        if roll < 0.03:
            order.cancelled_at = created + timedelta(hours=rng.uniform(1, 48))
            order.cancel_reason = rng.choice(CANCEL_REASONS)
            order.financial_status = "VOIDED"
            cancels += 1
        else:
            shipped = created + timedelta(days=rng.uniform(0.5, 4))
            if shipped < datetime.now(UTC):
                delivered = shipped + timedelta(days=rng.uniform(1, 6))
                state = "DELIVERED" if delivered < datetime.now(UTC) else "IN_TRANSIT"
                if rng.random() < 0.02:
                    state = rng.choice(("ATTEMPTED_DELIVERY", "FAILURE"))
                order.fulfillments.append(
                    Fulfillment(
                        id=store.next_id(),
                        created_at=shipped,
                        status="SUCCESS",
                        display_status=state,
                        delivered_at=delivered if state == "DELIVERED" else None,
                        tracking_company="UPS",
                    )
                )
                order.fulfillment_status = "FULFILLED"
            if roll > 0.95:
                amount = total if rng.random() < 0.5 else (total / 2).quantize(Decimal("0.01"))
                refund = Refund(
                    id=store.next_id(),
                    created_at=created + timedelta(days=rng.uniform(3, 20)),
                    note=rng.choice(("Arrived damaged", "Wrong item", "Changed mind", None)),
                    amount=amount,
                )
                # A refund yet to come is not in a real store (nor its order's updatedAt).
                if refund.created_at < datetime.now(UTC):
                    order.refunds.append(refund)
                    order.financial_status = "REFUNDED" if amount == total else "PARTIALLY_REFUNDED"
                    refunds += 1
        order.updated_at = max(
            [
                created,
                *(r.created_at for r in order.refunds),
                *(f.created_at for f in order.fulfillments),
            ]
        )
        store.add_order(order)
        made += 1
    return SeedSummary(
        customers=customers,
        orders=made,
        gift_orders=gifts,
        referral_redemptions=redemptions,
        refunds=refunds,
        cancellations=cancels,
    )
