"""A customer the merchant tags with the opt-out tag after Clout has read them is no longer
profiled. Since API 2025-01 a customer's own webhooks carry no tags: Shopify says so in
`customer.tags_added` / `customer.tags_removed`. Against the emulator over HTTP, with a real
Redis and database, the deliveries worked on as a worker works on them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from service.attention.retag import change_settings
from service.core import shop_settings
from service.core.db import session_scope
from service.core.models import Customer, InfluenceProfile, Shop, utcnow
from service.dev.devstore.webhooks import order_payload
from service.influence import profiles
from tests.support.clout import RunningDevStore, record_delivery_now, state, work_on


def a_profiled_customer_with_a_case(app: Flask, devstore: RunningDevStore) -> Any:
    person = devstore.store.add_person("pat@example.org", "Pat", "Roe")
    order = devstore.store.add_purchase(person)
    for topic, payload in (
        ("orders/create", order_payload(devstore.store, order)),
        ("disputes/create", {"id": 702, "order_id": order.id, "type": "chargeback"}),
    ):
        assert work_on(app, record_delivery_now(app, topic=topic, payload=payload)).status == (
            "done"
        )
    assert profile_of(app, person.gid).clout_score is not None
    return person


def profile_of(app: Flask, gid: str) -> InfluenceProfile:
    with session_scope(state(app).sessions) as session:
        customer = session.scalars(select(Customer).where(Customer.shopify_id == gid)).one()
        profile = session.scalars(
            select(InfluenceProfile).where(InfluenceProfile.customer_id == customer.id)
        ).one()
        session.expunge(profile)
        return profile


def tags_changed(app: Flask, topic: str, gid: str, tags: list[str]) -> str:
    payload = {"customerId": gid, "tags": tags, "occurredAt": utcnow().isoformat()}
    return work_on(app, record_delivery_now(app, topic=topic, payload=payload)).status


def test_an_opt_out_tag_added_later_erases_the_customers_profile_at_once(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a customer Clout has profiled (a case on their order)
    person = a_profiled_customer_with_a_case(clout, devstore)

    # when the merchant tags them `clout-opt-out` in Shopify
    assert tags_changed(clout, "customer.tags_added", person.gid, ["clout-opt-out"]) == "done"

    # then their profile is gone: no scores, no reasons, said to be their choice
    profile = profile_of(clout, person.gid)
    assert profile.opted_out
    assert (profile.clout_score, profile.klout_score, profile.reasons) == (None, None, None)
    assert profile.unknown == {"inputs": ["opted out of profiling"]}


def test_an_opt_out_taken_off_again_profiles_the_customer_at_the_next_sweep(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a customer who opted out after Clout profiled them
    person = a_profiled_customer_with_a_case(clout, devstore)
    tags_changed(clout, "customer.tags_added", person.gid, ["clout-opt-out"])

    # when the merchant takes the tag off, and the profile sweep runs
    assert tags_changed(clout, "customer.tags_removed", person.gid, ["clout-opt-out"]) == "done"
    sweep(clout)

    # then they are profiled again
    profile = profile_of(clout, person.gid)
    assert not profile.opted_out
    assert profile.clout_score is not None


def test_clouts_own_tags_echoed_back_leave_the_profile_alone(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a profiled customer
    person = a_profiled_customer_with_a_case(clout, devstore)
    before = profile_of(clout, person.gid)

    # when Shopify tells Clout of the tags Clout itself put on them
    assert tags_changed(clout, "customer.tags_added", person.gid, list(person.tags)) == "done"

    # then the profile is as it was, and not queued to be computed again
    after = profile_of(clout, person.gid)
    assert (after.clout_score, after.computed_at, after.stale_since) == (
        before.clout_score,
        before.computed_at,
        None,
    )


def sweep(app: Flask) -> None:
    with session_scope(state(app).sessions) as session:
        profiles.refresh_due_profiles(
            session=session,
            klout=None,
            opt_out_tag="clout-opt-out",
            now=utcnow(),
            retry_after=timedelta(minutes=10),
        )


def tags_changed_at(app: Flask, topic: str, gid: str, tags: list[str], at: Any) -> str:
    payload = {"customerId": gid, "tags": tags, "occurredAt": at.isoformat()}
    return work_on(app, record_delivery_now(app, topic=topic, payload=payload)).status


def test_an_opt_out_put_back_stays_when_shopify_tells_it_out_of_order(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a customer who opted out after Clout profiled them
    person = a_profiled_customer_with_a_case(clout, devstore)
    start = utcnow()
    tags_changed_at(clout, "customer.tags_added", person.gid, ["clout-opt-out"], start)

    # when the merchant takes the tag off and puts it straight back, and Shopify delivers the
    # putting back first (it promises no order), then the profile sweep runs
    back_on, taken_off = start + timedelta(seconds=20), start + timedelta(seconds=10)
    tags_changed_at(clout, "customer.tags_added", person.gid, ["clout-opt-out"], back_on)
    tags_changed_at(clout, "customer.tags_removed", person.gid, ["clout-opt-out"], taken_off)
    sweep(clout)

    # then they are still not profiled: the tag is on them in Shopify
    profile = profile_of(clout, person.gid)
    assert profile.opted_out
    assert profile.clout_score is None


def test_an_opt_out_taken_off_after_a_late_told_adding_is_heard(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a profiled customer the merchant tags `clout-opt-out` and untags again at once
    person = a_profiled_customer_with_a_case(clout, devstore)
    start = utcnow()

    # when Shopify tells the taking off first, and the adding after it
    tags_changed_at(
        clout, "customer.tags_removed", person.gid, ["clout-opt-out"], start + timedelta(seconds=5)
    )
    tags_changed_at(clout, "customer.tags_added", person.gid, ["clout-opt-out"], start)
    sweep(clout)

    # then they are profiled: the tag is not on them in Shopify
    profile = profile_of(clout, person.gid)
    assert not profile.opted_out
    assert profile.clout_score is not None


def test_an_opt_out_tag_in_other_letters_is_the_same_tag(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a customer Clout has profiled
    person = a_profiled_customer_with_a_case(clout, devstore)

    # when the merchant types the tag as `Clout-Opt-Out` (Shopify's tags ignore case: its
    # search and segments find it as `clout-opt-out`)
    assert tags_changed(clout, "customer.tags_added", person.gid, ["Clout-Opt-Out"]) == "done"
    sweep(clout)

    # then their profile is gone
    profile = profile_of(clout, person.gid)
    assert profile.opted_out
    assert profile.clout_score is None


def a_shop_opting_out_with(app: Flask, tag: str) -> None:
    with session_scope(state(app).sessions) as session:
        shop = session.scalars(select(Shop)).one()
        shop_settings.change(
            session=session,
            shop_id=shop.id,
            changes={"opt_out_tag": tag},
            by="test",
            defaults=state(app).settings,
            vault=state(app).vault,
            now=utcnow(),
        )


def test_the_sweep_keeps_out_a_customer_with_the_shops_own_opt_out_tag(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a shop whose opt-out tag is its own (`clout settings set SHOP opt_out_tag=…`), and
    # a profiled customer the merchant then tags with it
    person = a_profiled_customer_with_a_case(clout, devstore)
    a_shop_opting_out_with(clout, "no-profiling")
    assert tags_changed(clout, "customer.tags_added", person.gid, ["no-profiling"]) == "done"
    assert profile_of(clout, person.gid).opted_out

    # when the customer orders again (their profile is due again) and the profile sweep runs
    # with the install-wide tag, as the beat's sweep does
    order = devstore.store.add_purchase(person)
    payload = order_payload(devstore.store, order)
    ordered = record_delivery_now(clout, topic="orders/create", payload=payload)
    assert work_on(clout, ordered).status == "done"
    sweep(clout)

    # then they are still not profiled
    profile = profile_of(clout, person.gid)
    assert profile.opted_out
    assert profile.clout_score is None


def test_a_history_import_keeps_out_a_customer_with_the_shops_own_opt_out_tag(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a customer opted out with the shop's own tag
    person = a_profiled_customer_with_a_case(clout, devstore)
    a_shop_opting_out_with(clout, "no-profiling")
    tags_changed(clout, "customer.tags_added", person.gid, ["no-profiling"])

    # when the shop's profiles are rebuilt, as a history import ends, with the install-wide tag
    with session_scope(state(clout).sessions) as session:
        profiles.rebuild_shop(
            session=session,
            shop=session.scalars(select(Shop)).one(),
            klout=None,
            opt_out_tag="clout-opt-out",
            now=utcnow(),
        )

    # then they are still not profiled
    profile = profile_of(clout, person.gid)
    assert profile.opted_out
    assert profile.clout_score is None


def the_merchant_sets(app: Flask, changes: dict[str, str]) -> None:
    """`clout settings set SHOP key=value …` (or the settings page): the change and what it
    sets off."""
    with session_scope(state(app).sessions) as session:
        change_settings(
            session=session,
            shop_id=session.scalars(select(Shop.id)).one(),
            changes=changes,
            by="cli:merchant",
            defaults=state(app).settings,
            vault=state(app).vault,
            now=utcnow(),
        )


def test_a_new_opt_out_tag_keeps_out_at_once_the_customers_who_carry_it(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a profiled customer who carries `privacy-please`, the tag the store's privacy
    # form already uses, and another who opted out with Clout's default tag
    person = a_profiled_customer_with_a_case(clout, devstore)
    assert tags_changed(clout, "customer.tags_added", person.gid, ["privacy-please"]) == "done"
    assert profile_of(clout, person.gid).clout_score is not None
    other = devstore.store.add_person("lee@example.org", "Lee", "Park")
    order = devstore.store.add_purchase(other)
    for topic, payload in (
        ("orders/create", order_payload(devstore.store, order)),
        ("disputes/create", {"id": 703, "order_id": order.id, "type": "chargeback"}),
    ):
        assert work_on(clout, record_delivery_now(clout, topic=topic, payload=payload))
    tags_changed(clout, "customer.tags_added", other.gid, ["clout-opt-out"])
    assert profile_of(clout, other.gid).opted_out

    # when the merchant makes it the store's opt-out tag
    the_merchant_sets(clout, {"opt_out_tag": "privacy-please"})

    # then the first customer's profile is gone at once, and the other, no longer opted out
    # by the store's tag, is profiled again at the next sweep
    profile = profile_of(clout, person.gid)
    assert profile.opted_out
    assert (profile.clout_score, profile.reasons) == (None, None)
    sweep(clout)
    assert profile_of(clout, other.gid).opted_out is False
