"""Influence profiles on hand-built shops where the right answer is known."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import click
import pytest
import redis
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from service.cli import main
from service.core.db import session_scope
from service.core.models import Customer, InfluenceProfile, Order, Shop, utcnow
from service.core.shop_settings import change
from service.influence.facts import gather_facts
from service.influence.klout import HttpKloutProvider
from service.influence.profiles import (
    NORMS_MAX_AGE,
    SMALL_SHOP,
    compute_norms,
    keep_norms,
    mark_stale_after_order,
    rebuild_shop,
    refresh_due_profiles,
    refresh_profile,
    shops_due_for_norms,
)
from service.influence.scoring import Distribution, shop_norms, shrunk
from tests.support.clout import RunningDevStore, state
from tests.support.helpers import SHOP
from tests.support.waiting_writer import WaitingWriter

START = datetime(2025, 1, 1, tzinfo=UTC)


class ShopBuilder:
    def __init__(self, session: Session, shop: Shop) -> None:
        self.session, self.shop, self.next = session, shop, 1000

    def customer(
        self,
        first: str,
        last: str,
        email: str,
        *,
        tags: str | None = None,
        address: str | None = None,
        note: str | None = None,
    ) -> Customer:
        self.next += 1
        customer = Customer(
            shop_id=self.shop.id,
            shopify_id=f"gid://shopify/Customer/{self.next}",
            email=email,
            first_name=first,
            last_name=last,
            tags=tags,
            note=note,
            default_address={
                "address1": address or f"{self.next} Main St",
                "zip": "90210",
                "name": f"{first} {last}",
            },
        )
        self.session.add(customer)
        self.session.flush()
        return customer

    def order(
        self,
        customer: Customer,
        *,
        total: str = "30.00",
        ship_to: tuple[str, str] | None = None,
        codes: list[str] | None = None,
        attributes: list[dict[str, str]] | None = None,
    ) -> Order:
        self.next += 1
        address = customer.default_address or {}
        shipping = (
            {"name": ship_to[0], "address1": ship_to[1], "zip": "10001"}
            if ship_to
            else {
                "name": f"{customer.first_name} {customer.last_name}",
                "address1": address.get("address1"),
                "zip": "90210",
            }
        )
        order = Order(
            shop_id=self.shop.id,
            shopify_id=f"gid://shopify/Order/{self.next}",
            customer_id=customer.id,
            name=f"#{self.next}",
            total_price=Decimal(total),
            shipping_address=shipping,
            discount_codes={"codes": [{"code": c} for c in codes or []]},
            note_attributes={"attributes": attributes or []},
            shopify_created_at=START + timedelta(days=self.next % 300),
        )
        self.session.add(order)
        return order


@pytest.fixture
def built(app: Flask, shop: Shop) -> Any:
    clout = state(app)
    with session_scope(clout.sessions) as session:
        stored = session.scalars(select(Shop)).one()
        yield ShopBuilder(session, stored)


def everyone_else(b: ShopBuilder, count: int = 60) -> list[Customer]:
    """An ordinary shop around them: one or two orders each, nothing more."""
    people = []
    for i in range(count):
        person = b.customer(f"Person{i}", "Smith", f"p{i}@gmail.com")
        for _ in range(1 + i % 2):
            b.order(person, total=str(20 + i % 50))
        people.append(person)
    return people


def profile_of(b: ShopBuilder, customer: Customer) -> InfluenceProfile:
    profile = b.session.scalar(
        select(InfluenceProfile).where(InfluenceProfile.customer_id == customer.id)
    )
    assert profile is not None
    return profile


def test_the_mother_without_social_presence_has_clout_and_unknown_klout(
    built: ShopBuilder, devstore: RunningDevStore, redis_url: str
) -> None:
    b = built
    others = everyone_else(b)
    # the mother: 12 orders, gifts to 9 friends, 5 friends redeemed her code
    maya = b.customer("Maya", "Ortiz", "maya@gmail.com")
    for i in range(12):
        b.order(maya, ship_to=(f"Friend {i % 9}", f"{i % 9} Elm St") if i < 9 else None)
    for friend in others[:5]:
        b.order(friend, codes=["MAYA15"], total="45.00")
    # the influencer: one order, a big Instagram following
    ivy = b.customer("Ivy", "Star", "ivy@gmail.com")
    b.order(ivy, attributes=[{"name": "instagram", "value": "@ivy.star"}])
    devstore.store.social[("instagram", "ivy.star")] = {
        "followers": 850_000,
        "engagement_rate": 0.03,
        "authenticity": 0.9,
    }
    b.session.flush()
    with redis.Redis.from_url(redis_url) as cache:
        klout = HttpKloutProvider(url=f"{devstore.url}/social", key=None, cache=cache)

        rebuild_shop(
            session=b.session, shop=b.shop, klout=klout, opt_out_tag="clout-opt-out", now=utcnow()
        )

    mother, influencer = profile_of(b, maya), profile_of(b, ivy)
    assert mother.clout_score is not None
    assert mother.clout_score >= 80
    assert mother.klout_score is None  # unknown, never zero
    assert "no social handle shared: Klout unknown" in (mother.unknown or {})["inputs"]
    sentences = " | ".join((mother.reasons or {})["clout"])
    assert "brought 5 new customers through referrals" in sentences
    assert "ships gifts to 9 different people" in sentences
    assert influencer.klout_score is not None
    assert influencer.klout_score >= 80
    assert influencer.clout_score is not None
    assert influencer.clout_score < mother.clout_score
    assert "850,000 followers on Instagram (@ivy.star)" in (influencer.reasons or {})["klout"][0]
    ranked = [
        p.customer_id
        for p in b.session.scalars(
            select(InfluenceProfile).order_by(InfluenceProfile.clout_score.desc())
        )
    ]
    assert ranked[0] == maya.id


def test_colleagues_and_households_count_and_contagion_is_seen(built: ShopBuilder) -> None:
    b = built
    everyone_else(b, 30)
    lead = b.customer("Ana", "Lee", "ana@acme-school.org")
    colleagues = [b.customer(f"C{i}", "Lee", f"c{i}@acme-school.org") for i in range(4)]
    for person in [lead, *colleagues]:
        b.order(person)
    b.session.flush()

    profile = refresh_profile(
        session=b.session,
        shop=b.shop,
        customer=lead,
        klout=None,
        opt_out_tag="clout-opt-out",
        now=utcnow(),
    )

    assert "4 colleagues at their workplace shop here too" in (profile.reasons or {})["clout"]
    assert (profile.components or {})["circles"]["colleagues"] == 4


def test_a_customer_who_opted_out_gets_no_profile(built: ShopBuilder) -> None:
    b = built
    everyone_else(b, 10)
    private = b.customer("Pat", "Roe", "pat@gmail.com", tags="vip, clout-opt-out")
    for _ in range(10):
        b.order(private, total="500.00")
    b.session.flush()

    profile = refresh_profile(
        session=b.session,
        shop=b.shop,
        customer=private,
        klout=None,
        opt_out_tag="clout-opt-out",
        now=utcnow(),
    )

    assert profile.opted_out
    assert (profile.clout_score, profile.klout_score, profile.reasons) == (None, None, None)


def test_a_failed_klout_lookup_is_unknown_and_incomplete(built: ShopBuilder) -> None:
    b = built
    person = b.customer("Zed", "Q", "zed@gmail.com", note="instagram: @zed_q")
    b.order(person)
    b.session.flush()
    down = HttpKloutProvider(url="http://127.0.0.1:9/social", key=None, cache=None, timeout=1)

    profile = refresh_profile(
        session=b.session,
        shop=b.shop,
        customer=person,
        klout=down,
        opt_out_tag="clout-opt-out",
        now=utcnow(),
    )

    assert profile.klout_score is None
    assert not profile.complete
    assert profile.clout_score is not None


def test_percentiles_are_log_scaled_and_thin_records_shrink_toward_the_median() -> None:
    spend = Distribution([0, 10, 20, 30, 40, 50, 60, 70, 80, 100_000])

    assert spend.percentile(0) == 0.0
    assert spend.percentile(100_000) == 0.9
    # one order of evidence pulls a top percentile well back toward the median
    assert shrunk(0.9, 1, spend.median) < shrunk(0.9, 12, spend.median) < 0.9


def test_profile_cost_grows_with_the_shop_not_faster(built: ShopBuilder) -> None:
    b = built
    everyone_else(b, 40)
    b.session.flush()

    facts = gather_facts(session=b.session, shop=b.shop)
    norms = shop_norms(facts)

    assert norms.customers == 40
    assert sum(facts.orders.values()) == 60


def test_clout_profiles_rebuild_shows_a_progress_bar(
    settings: dict[str, Any], built: ShopBuilder
) -> None:
    everyone_else(built, 12)
    built.session.commit()
    env = {k: str(v) for k, v in settings.items() if k != "TESTING"}

    result = CliRunner(env=env).invoke(main, ["profiles", "rebuild", "--shop", SHOP])
    shown = CliRunner(env=env).invoke(main, ["profiles", "show", "--shop", SHOP, "--top", "3"])
    # with one store connected, it need not be named
    unnamed = CliRunner(env=env).invoke(main, ["profiles", "show", "--top", "3"])

    assert result.exit_code == 0, result.output
    assert "12 profiles rebuilt" in result.output
    assert shown.exit_code == 0
    assert shown.output.count("clout ") == 3
    assert (unnamed.exit_code, unnamed.output) == (0, shown.output)


def test_clout_profiles_rebuild_lets_a_waiting_writer_in_between_batches(
    settings: dict[str, Any], built: ShopBuilder, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock")
    # given a shop of 1,001 customers (three batches of 500) and, once the first batch is
    # done, a delivery waiting for the write lock
    everyone_else(built, 1001)
    built.session.commit()
    env = {k: str(v) for k, v in settings.items() if k != "TESTING"}
    batches: list[int] = []
    waiter = WaitingWriter(database_url, progress=lambda: len(batches))
    bar = click.progressbar

    def watching(*args: Any, **kwargs: Any) -> Any:
        shown = bar(*args, **kwargs)
        update = shown.update

        def batch(count: int, current_item: Any = None) -> None:
            batches.append(count)
            if len(batches) == 1:
                waiter.ask()
            update(count, current_item)

        shown.update = batch  # type: ignore[method-assign]
        return shown

    # when `clout profiles rebuild` runs
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(click, "progressbar", watching)
            result = CliRunner(env=env).invoke(main, ["profiles", "rebuild", "--shop", SHOP])
    finally:
        waiter.done()

    # then the writer got in before the last batch: the rebuild was one transaction, holding
    # SQLite's write lock from intake for as long as it ran (seconds on a large shop)
    assert result.exit_code == 0, result.output
    assert "1001 profiles rebuilt" in result.output
    assert batches == [500, 500, 1]
    assert waiter.got_in_after in (1, 2)


def a_customer_with_a_large_following(
    b: ShopBuilder, devstore: RunningDevStore
) -> tuple[Customer, HttpKloutProvider]:
    """Ivy, one order and an Instagram handle in her note that the store's social-data
    provider (the emulator's) knows for 850,000 followers; ten other customers around her."""
    everyone_else(b, 10)
    ivy = b.customer("Ivy", "Star", "ivy@gmail.com", note="instagram: @ivy.star")
    b.order(ivy)
    devstore.store.social[("instagram", "ivy.star")] = {
        "followers": 850_000,
        "engagement_rate": 0.03,
        "authenticity": 0.9,
    }
    b.session.flush()
    return ivy, HttpKloutProvider(url=f"{devstore.url}/social", key=None, cache=None, timeout=2)


def test_an_incomplete_profile_is_retried_later_and_completes_when_the_provider_is_back(
    built: ShopBuilder, devstore: RunningDevStore
) -> None:
    # given a customer who shared a handle while the social-data provider was down
    b = built
    ivy, klout = a_customer_with_a_large_following(b, devstore)
    devstore.admin.set_faults(error_rate=1.0)
    first = utcnow()
    refresh_profile(
        session=b.session, shop=b.shop, customer=ivy, klout=klout, opt_out_tag="x", now=first
    )
    assert not profile_of(b, ivy).complete
    devstore.admin.set_faults(error_rate=0.0)

    def sweep(at: datetime) -> None:
        refresh_due_profiles(
            session=b.session,
            klout=klout,
            opt_out_tag="x",
            now=at,
            retry_after=timedelta(minutes=5),
        )

    # when the sweep runs too soon, and again once the retry interval has passed
    sweep(first + timedelta(minutes=1))
    too_soon = profile_of(b, ivy).klout_score
    sweep(first + timedelta(minutes=6))

    # then the profile waited, then completed with the lookup it missed
    assert too_soon is None
    profile = profile_of(b, ivy)
    assert profile.complete
    assert profile.klout_score is not None
    assert profile.klout_score >= 80


def test_a_new_order_makes_the_buyers_and_the_referrers_profiles_stale_until_the_sweep(
    built: ShopBuilder,
) -> None:
    # given the mother and a friend, both profiled
    b = built
    everyone_else(b, 20)
    maya = b.customer("Maya", "Ortiz", "maya@gmail.com")
    b.order(maya)
    friend = b.customer("Noor", "Haddad", "noor@gmail.com")
    b.session.flush()
    for person in (maya, friend):
        refresh_profile(
            session=b.session, shop=b.shop, customer=person, klout=None, opt_out_tag="x", now=START
        )
    referrals_before = (profile_of(b, maya).components or {})["referrals"]

    # when the friend places an order with Maya's referral code
    order = b.order(friend, codes=["MAYA15"], total="45.00")
    b.session.flush()
    flagged = mark_stale_after_order(session=b.session, shop=b.shop, order=order, now=utcnow())

    # then both profiles are stale, and the sweep brings Maya's referral count up to date
    assert flagged == 2
    assert profile_of(b, maya).stale_since is not None
    assert profile_of(b, friend).stale_since is not None
    refresh_due_profiles(
        session=b.session, klout=None, opt_out_tag="x", now=utcnow(), retry_after=timedelta(0)
    )
    maya_now = profile_of(b, maya)
    assert maya_now.stale_since is None
    assert (maya_now.components or {})["referrals"] != referrals_before
    assert "brought 1 new customer through referrals" in " ".join((maya_now.reasons or {})["clout"])


def test_a_profile_ranks_against_the_shops_summary_until_the_scheduled_refresh(
    built: ShopBuilder,
) -> None:
    # given a shop whose norms were summarised when Lena was its biggest spender
    b = built
    everyone_else(b, 30)
    lena = b.customer("Lena", "Park", "lena@gmail.com")
    b.order(lena, total="400.00")
    b.session.flush()
    refresh_profile(
        session=b.session, shop=b.shop, customer=lena, klout=None, opt_out_tag="x", now=START
    )
    before = profile_of(b, lena).components or {}

    # when fifty bigger spenders arrive, and her profile is refreshed before the summary is
    for i in range(50):
        b.order(b.customer(f"Big{i}", "Spender", f"big{i}@gmail.com"), total="5000.00")
    b.session.flush()
    later = START + timedelta(minutes=10)
    refresh_profile(
        session=b.session, shop=b.shop, customer=lena, klout=None, opt_out_tag="x", now=later
    )
    between = profile_of(b, lena).components or {}
    due_early = shops_due_for_norms(session=b.session, now=later, max_age=NORMS_MAX_AGE)
    due_late = shops_due_for_norms(
        session=b.session, now=START + NORMS_MAX_AGE + timedelta(seconds=1), max_age=NORMS_MAX_AGE
    )
    keep_norms(
        session=b.session,
        shop=b.shop,
        norms=compute_norms(session=b.session, shop=b.shop),
        now=later,
    )
    refresh_profile(
        session=b.session, shop=b.shop, customer=lena, klout=None, opt_out_tag="x", now=later
    )
    after = profile_of(b, lena).components or {}

    # then the summary, not a scan, ranked her until it was an hour old and refreshed
    assert between["value"]["percentile"] == before["value"]["percentile"]
    assert due_early == []
    assert due_late == [b.shop.id]
    assert after["value"]["percentile"] < before["value"]["percentile"]


def test_a_large_shop_without_norms_yet_leaves_clout_unknown_not_zero(built: ShopBuilder) -> None:
    # given a shop larger than Clout ranks on the spot, whose norms were never summarised
    b = built
    b.session.execute(
        insert(Customer),
        [
            {"shop_id": b.shop.id, "shopify_id": f"gid://shopify/Customer/{900000 + i}"}
            for i in range(SMALL_SHOP + 1)
        ],
    )
    maya = b.customer("Maya", "Ortiz", "maya@gmail.com")
    b.order(maya)
    b.session.flush()

    # when her profile is refreshed on the attendance path
    refresh_profile(
        session=b.session, shop=b.shop, customer=maya, klout=None, opt_out_tag="x", now=START
    )

    # then clout is unknown (never zero), said so, and the sweep will compute it again
    profile = profile_of(b, maya)
    assert profile.clout_score is None
    assert not profile.complete
    assert any("still reading" in line for line in (profile.unknown or {})["inputs"])


def test_what_shopify_counts_shows_even_when_clout_saw_one_order(built: ShopBuilder) -> None:
    # given a customer Shopify says has 12 orders and 960.00 spent, of which Clout holds one
    b = built
    everyone_else(b, 10)
    maya = b.customer("Maya", "Ortiz", "maya@gmail.com")
    maya.number_of_orders, maya.amount_spent, maya.currency = 12, Decimal("960.00"), "EUR"
    b.order(maya, total="80.00")
    b.session.flush()

    # when her profile is computed
    refresh_profile(
        session=b.session, shop=b.shop, customer=maya, klout=None, opt_out_tag="x", now=START
    )

    # then the reasons tell Shopify's figures, in her currency
    reasons = " ".join((profile_of(b, maya).reasons or {})["clout"])
    assert "12 orders, 960 EUR spent" in reasons


def test_a_shop_that_switched_klout_off_is_never_looked_up_by_the_sweep_or_a_rebuild(
    app: Flask, built: ShopBuilder, devstore: RunningDevStore
) -> None:
    # given a shop that turned online-reach lookups off (`clout settings set SHOP klout=off`),
    # though the install has a social-data provider, and a customer who shared a handle
    b = built
    clout = state(app)
    change(
        session=b.session,
        shop_id=b.shop.id,
        changes={"klout": "off"},
        by="test",
        defaults=clout.settings,
        vault=clout.vault,
        now=utcnow(),
    )
    ivy, klout = a_customer_with_a_large_following(b, devstore)

    # when the profile sweep and a rebuild (a history import's end) compute her profile
    refresh_profile(
        session=b.session, shop=b.shop, customer=ivy, klout=None, opt_out_tag="x", now=utcnow()
    )
    mark_stale_after_order(session=b.session, shop=b.shop, order=ivy.orders[0], now=utcnow())
    refresh_due_profiles(
        session=b.session,
        klout=klout,
        opt_out_tag="x",
        now=utcnow(),
        retry_after=timedelta(minutes=5),
    )
    swept = profile_of(b, ivy).klout_score
    rebuild_shop(session=b.session, shop=b.shop, klout=klout, opt_out_tag="x", now=utcnow())

    # then her handle went to no provider: Klout stays unknown, as the shop asked
    assert swept is None
    profile = profile_of(b, ivy)
    assert profile.klout_score is None
    assert "no social-data provider configured: Klout unknown" in (profile.unknown or {})["inputs"]
