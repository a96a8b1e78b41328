"""A customer the merchant tags with the opt-out tag after Clout has read them is no longer
profiled. Since API 2025-01 a customer's own webhooks carry no tags: Shopify says so in
`customer.tags_added` / `customer.tags_removed`. Against the emulator over HTTP, with a real
Redis and database, the deliveries worked on as a worker works on them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from service.core.db import session_scope
from service.core.models import Customer, InfluenceProfile, utcnow
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
    with session_scope(state(clout).sessions) as session:
        profiles.refresh_due_profiles(
            session=session,
            klout=None,
            opt_out_tag="clout-opt-out",
            now=utcnow(),
            retry_after=timedelta(minutes=10),
        )

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
