"""A store's history, imported the day it connects: one bulk operation in Shopify (the emulator,
over HTTP), its JSONL streamed in batches, profiles rebuilt from it — and everything a real day
throws at that: a download cut short, webhooks arriving meanwhile, a second request, a shop
that granted no access to orders older than 60 days."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from service.compliance import redact_customer
from service.core.db import session_scope
from service.core.errors import TransientError
from service.core.models import (
    Backfill,
    Customer,
    Incident,
    InfluenceProfile,
    Order,
    Shop,
    utcnow,
)
from service.core.vocabulary import Severity
from service.deliveries.backfill import Step, Watch, advance
from service.dev.devstore.store import DevStore
from service.dev.devstore.webhooks import order_payload
from service.shopify import history
from service.shopify.history import BackfillRunning, BackfillStatus
from tests.support.clout import (
    RunningDevStore,
    connect_test_shop,
    process_delivery_now,
    record_delivery_now,
    state,
)
from tests.support.waiting_writer import Commits, WaitingWriter
from workers.tasks import admin_factory

ALL_ORDERS = "read_orders,write_orders,read_customers,write_customers,read_all_orders"


@pytest.fixture
def store_app(make_app: Callable[..., Flask], devstore: RunningDevStore) -> Flask:
    """Clout pointed at the emulator, the test shop connected with a token the emulator knows."""
    devstore.store.tokens.add("shpat_test_token_0123456789")
    return make_app(CLOUT_SHOPIFY_ADMIN_URL=devstore.url)


@pytest.fixture
def shop(store_app: Flask) -> Shop:
    return connect_test_shop(store_app)


def history_of(store: DevStore) -> dict[str, Any]:
    """A store with a past: a loyal buyer of three years, a one-off buyer, a recent one, and a
    customer who never bought."""
    loyal = store.add_person("ada@example.org", "Ada", "Lovelace", days_ago=1100)
    once = store.add_person("bob@example.org", "Bob", "Byte", days_ago=400)
    recent = store.add_person("cy@example.org", "Cy", "Young", days_ago=20)
    store.add_person("dee@example.org", "Dee", "Never", days_ago=10)
    for days in (1000, 700, 365, 200, 90, 30, 5):
        store.add_purchase(loyal, total=Decimal("80.00"), days_ago=days)
    store.add_purchase(once, total=Decimal("15.00"), days_ago=380)
    store.add_purchase(recent, total=Decimal("25.00"), days_ago=10)
    return {"loyal": loyal, "once": once, "recent": recent}


def set_scopes(app: Flask, shop: Shop, scopes: str | None) -> None:
    with session_scope(state(app).sessions) as session:
        found = session.get(Shop, shop.id)
        assert found is not None
        found.scopes = scopes


def request(app: Flask, shop: Shop, **kwargs: Any) -> int:
    with session_scope(state(app).sessions) as session:
        found = session.get(Shop, shop.id)
        assert found is not None
        return history.request_backfill(session=session, shop=found, now=utcnow(), **kwargs).id


def run(app: Flask, backfill_id: int, **kwargs: Any) -> Step:
    """Advance until finished, as the worker's task would over several runs (Shopify's file is
    ready within milliseconds in the emulator)."""
    clout = state(app)
    for _ in range(50):
        step = advance(
            sessions=clout.sessions,
            backfill_id=backfill_id,
            admin_for=admin_factory(clout),
            http=clout.http,
            klout=None,
            opt_out_tag="clout-opt-out",
            **kwargs,
        )
        if step.finished:
            return step
    raise AssertionError(f"the backfill did not finish: {step}")


def backfill_row(app: Flask, backfill_id: int) -> Backfill:
    with session_scope(state(app).sessions) as session:
        found = session.get(Backfill, backfill_id)
        assert found is not None
        return found


def count(app: Flask, model: type[Customer] | type[Order]) -> int:
    with session_scope(state(app).sessions) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def profile_of(app: Flask, gid: str) -> InfluenceProfile:
    with session_scope(state(app).sessions) as session:
        found = session.scalar(
            select(InfluenceProfile)
            .join(Customer, Customer.id == InfluenceProfile.customer_id)
            .where(Customer.shopify_id == gid)
        )
        assert found is not None
        return found


@pytest.fixture(autouse=True)
def _no_poll_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    # The emulator builds the file at once: the importer need not wait 20 s to ask again.
    monkeypatch.setattr("service.deliveries.backfill.POLL_SECONDS", 0.0)


def test_a_store_with_history_connects_and_its_profiles_show_real_order_counts(
    store_app: Flask, shop: Shop, devstore: RunningDevStore
) -> None:
    people = history_of(devstore.store)
    set_scopes(store_app, shop, ALL_ORDERS)

    step = run(store_app, request(store_app, shop))

    assert step.status == BackfillStatus.COMPLETED
    done = backfill_row(store_app, _only_backfill(store_app))
    assert done.status == "completed"
    assert done.finished_at is not None
    assert (done.customers, done.orders) == (4, 9)
    assert done.lines_done == done.object_count == 13
    assert done.note is None
    assert count(store_app, Customer) == 4
    assert count(store_app, Order) == 9
    loyal = profile_of(store_app, people["loyal"].gid)
    once = profile_of(store_app, people["once"].gid)
    assert loyal.sources is not None
    assert loyal.sources["orders"] == 7
    assert once.sources is not None
    assert once.sources["orders"] == 1
    assert loyal.clout_score is not None
    assert once.clout_score is not None
    assert loyal.clout_score > once.clout_score


def _only_backfill(app: Flask) -> int:
    with session_scope(state(app).sessions) as session:
        ids = session.scalars(select(Backfill.id)).all()
    assert len(ids) == 1
    return ids[0]


def test_a_crash_mid_import_resumes_without_duplicating(
    store_app: Flask, shop: Shop, devstore: RunningDevStore
) -> None:
    history_of(devstore.store)
    set_scopes(store_app, shop, ALL_ORDERS)
    backfill_id = request(store_app, shop)
    devstore.admin.set_faults(cut_download_after_lines=7)

    with pytest.raises(TransientError, match="broke off after"):
        run(store_app, backfill_id, batch_lines=3)

    cut = backfill_row(store_app, backfill_id)
    assert cut.status == "importing"
    assert cut.finished_at is None
    assert cut.lines_done == 6  # two whole batches of three; the third never committed
    devstore.admin.set_faults(cut_download_after_lines=0)

    step = run(store_app, backfill_id, batch_lines=3)

    done = backfill_row(store_app, backfill_id)
    assert step.status == BackfillStatus.COMPLETED
    assert done.lines_done == done.object_count == 13
    assert (done.customers, done.orders) == (4, 9)  # each line counted once
    assert count(store_app, Customer) == 4
    assert count(store_app, Order) == 9


def test_a_webhook_newer_than_the_history_wins_and_an_older_one_loses(
    store_app: Flask, shop: Shop, devstore: RunningDevStore
) -> None:
    store = devstore.store
    people = history_of(store)
    set_scopes(store_app, shop, ALL_ORDERS)
    first, second = store.customer_orders(people["loyal"].id)[-2:]
    # Before the import: a webhook about a change Shopify's snapshot does not have yet.
    newer = order_payload(store, first)
    newer["note"] = "changed after the snapshot"
    newer["updated_at"] = (first.updated_at + timedelta(hours=1)).isoformat()
    process_delivery_now(
        store_app, record_delivery_now(store_app, topic="orders/updated", payload=newer)
    )
    second.note = "as Shopify has it now"

    run(store_app, request(store_app, shop))
    # After the import: a day-late delivery of an older state of the order.
    older = order_payload(store, second)
    older["note"] = "a day-late delivery"
    older["updated_at"] = (second.updated_at - timedelta(hours=1)).isoformat()
    process_delivery_now(
        store_app, record_delivery_now(store_app, topic="orders/updated", payload=older)
    )

    with session_scope(state(store_app).sessions) as session:
        notes = {
            o.shopify_id: o.note
            for o in session.scalars(
                select(Order).where(Order.shopify_id.in_((first.gid, second.gid)))
            )
        }
    assert notes == {first.gid: "changed after the snapshot", second.gid: "as Shopify has it now"}


def test_a_second_backfill_for_the_same_shop_is_refused_while_one_runs(
    store_app: Flask, shop: Shop
) -> None:
    first = request(store_app, shop)

    with pytest.raises(BackfillRunning) as refused:
        request(store_app, shop)

    assert "already being imported" in str(refused.value)
    assert "requested" in str(refused.value)
    assert refused.value.backfill_id == first


def test_two_requests_racing_are_settled_by_the_database(
    store_app: Flask, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = request(store_app, shop)
    real = history.unfinished_backfill
    calls: list[int] = []

    def looked_too_early(**kwargs: Any) -> Backfill | None:
        # The second request checked before the first one committed: it saw nothing.
        calls.append(1)
        return None if len(calls) == 1 else real(**kwargs)

    monkeypatch.setattr(history, "unfinished_backfill", looked_too_early)

    with pytest.raises(BackfillRunning) as refused:
        request(store_app, shop)

    assert refused.value.backfill_id == first
    assert _count_backfills(store_app) == 1


def _count_backfills(app: Flask) -> int:
    with session_scope(state(app).sessions) as session:
        return int(session.scalar(select(func.count()).select_from(Backfill)) or 0)


def test_without_read_all_orders_only_the_last_60_days_are_asked_for_and_the_merchant_is_told(
    store_app: Flask, shop: Shop, devstore: RunningDevStore
) -> None:
    people = history_of(devstore.store)
    # A custom app's token: Clout asks Shopify which scopes it has (no read_all_orders here).
    set_scopes(store_app, shop, None)

    run(store_app, request(store_app, shop))

    done = backfill_row(store_app, _only_backfill(store_app))
    assert done.note is not None
    assert "only the last 60 days of orders" in done.note
    assert "read_all_orders" in done.note
    assert done.since is not None
    assert done.since > utcnow() - timedelta(days=61)
    assert count(store_app, Customer) == 4  # every customer
    assert count(store_app, Order) == 3  # the loyal buyer's 30- and 5-day-old, the recent one's
    # her one order is older than the window: Clout holds none of it, Shopify's count says one
    assert profile_of(store_app, people["once"].gid).sources == {
        "orders": 1,
        "shop_customers": 4,
        "handles": [],
    }
    with session_scope(state(store_app).sessions) as session:
        found = session.get(Shop, shop.id)
        assert found is not None
        assert found.scopes is not None
        assert "read_orders" in found.scopes


def test_an_operation_shopify_could_not_finish_fails_the_import_plainly(
    store_app: Flask, shop: Shop, devstore: RunningDevStore
) -> None:
    history_of(devstore.store)
    set_scopes(store_app, shop, ALL_ORDERS)
    devstore.store.bulk_fail_with = "TIMEOUT"

    step = run(store_app, request(store_app, shop))

    done = backfill_row(store_app, _only_backfill(store_app))
    assert step.status == BackfillStatus.FAILED
    assert done.finished_at is not None
    assert done.error == "Shopify's bulk operation ended FAILED (TIMEOUT)"
    assert count(store_app, Order) == 0
    request(store_app, shop)  # a failed import does not block the next


def test_open_incidents_are_attended_again_once_the_history_is_in(
    store_app: Flask, shop: Shop, devstore: RunningDevStore
) -> None:
    people = history_of(devstore.store)
    set_scopes(store_app, shop, ALL_ORDERS)
    with session_scope(state(store_app).sessions) as session:
        customer = Customer(shop_id=shop.id, shopify_id=people["loyal"].gid)
        session.add(customer)
        session.flush()
        incident = Incident(
            shop_id=shop.id, customer_id=customer.id, severity=Severity.HIGH, needs_attention=False
        )
        session.add(incident)
        session.flush()
        incident_id = incident.id

    step = run(store_app, request(store_app, shop))

    assert step.incidents == (incident_id,)
    with session_scope(state(store_app).sessions) as session:
        found = session.get(Incident, incident_id)
        assert found is not None
        assert found.needs_attention
        loyal = session.get(Customer, found.customer_id)
        assert loyal is not None
        assert loyal.email == "ada@example.org"
        assert loyal.number_of_orders == 7


def test_a_redacted_customers_history_brings_back_no_personal_data(
    store_app: Flask, shop: Shop, devstore: RunningDevStore
) -> None:
    people = history_of(devstore.store)
    set_scopes(store_app, shop, ALL_ORDERS)
    with session_scope(state(store_app).sessions) as session:
        found = session.get(Shop, shop.id)
        assert found is not None
        redact_customer(
            session=session,
            shop=found,
            customer_gid=people["loyal"].gid,
            order_ids=[],
            now=utcnow(),
        )

    run(store_app, request(store_app, shop))

    with session_scope(state(store_app).sessions) as session:
        loyal = session.scalar(select(Customer).where(Customer.shopify_id == people["loyal"].gid))
        assert loyal is not None
        assert (loyal.email, loyal.first_name) == (None, None)
        orders = session.scalars(select(Order).where(Order.customer_id == loyal.id)).all()
        assert len(orders) == 7  # the facts stay: seven orders, anonymous
        assert {(o.email, o.redacted_at is not None) for o in orders} == {(None, True)}


def test_a_writer_waiting_while_profiles_are_rebuilt_gets_in_between_batches(
    store_app: Flask, shop: Shop, devstore: RunningDevStore, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock")
    # given a store whose history rebuilds in three batches of profiles (500 a batch)
    for n in range(1001):
        devstore.store.add_person(f"p{n}@example.org", f"P{n}", "Lee", days_ago=20)
    set_scopes(store_app, shop, ALL_ORDERS)
    engine = state(store_app).engine
    commits = Commits(engine)
    waiter = WaitingWriter(database_url, progress=lambda: commits.count - armed_at)
    armed_at = 0
    batches = []

    def batch_done(count: int) -> None:
        nonlocal armed_at
        batches.append(count)
        if len(batches) == 1:  # a delivery arrives while the second batch is being written
            armed_at = commits.count
            waiter.ask_in_next_transaction(engine)

    # when the history is imported and the profiles rebuilt
    try:
        step = run(store_app, request(store_app, shop), watch=Watch(profiles=batch_done))
    finally:
        waiter.done()
        commits.close()

    # then the waiting writer got in as the second batch was committed, not after the whole
    # rebuild: SQLite hands a freed lock to whoever asks first, and a loop that commits and
    # begins again at once kept intake waiting until it ended (a shop of 20,000 customers:
    # past intake's 4 s busy timeout, so 503s, and Shopify's 5 s deadline missed)
    assert step.status == BackfillStatus.COMPLETED
    assert batches == [500, 500, 1]
    assert waiter.got_in_after == 1


def test_a_writer_waiting_while_the_history_is_imported_gets_in_between_batches(
    store_app: Flask, shop: Shop, devstore: RunningDevStore, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock")
    # given a store's history read in batches of 5 lines (30 customers: 6 batches)
    for n in range(30):
        devstore.store.add_person(f"p{n}@example.org", f"P{n}", "Lee", days_ago=20)
    set_scopes(store_app, shop, ALL_ORDERS)
    engine = state(store_app).engine
    commits = Commits(engine)
    waiter = WaitingWriter(database_url, progress=lambda: commits.count - armed_at)
    armed_at = 0
    batches = []

    def lines_done(done: int, _total: int) -> None:
        nonlocal armed_at
        batches.append(done)
        if len(batches) == 1:
            armed_at = commits.count
            waiter.ask_in_next_transaction(engine)

    # when it is imported
    try:
        step = run(
            store_app, request(store_app, shop), batch_lines=5, watch=Watch(lines=lines_done)
        )
    finally:
        waiter.done()
        commits.close()

    # then a writer that began waiting during the second batch got in as it was committed
    assert step.status == BackfillStatus.COMPLETED
    assert batches == [5, 10, 15, 20, 25, 30]
    assert waiter.got_in_after == 1


def test_a_dispute_kept_on_a_stand_in_moves_to_the_customer_the_history_names(
    store_app: Flask, shop: Shop, devstore: RunningDevStore
) -> None:
    # given a chargeback on Maya's order, recorded while Shopify answered no lookups (a flash
    # sale's throttle): Clout could not say whose it was and kept the case on a stand-in
    maya = devstore.store.add_person("maya@example.org", "Maya", "Ortiz", days_ago=30)
    order = devstore.store.add_purchase(maya, total=Decimal("40.00"), days_ago=3)
    set_scopes(store_app, shop, ALL_ORDERS)
    devstore.admin.set_faults(only_tags=True)
    dispute = record_delivery_now(
        store_app,
        topic="disputes/create",
        payload={"id": 77, "order_id": order.id, "type": "chargeback"},
    )
    assert process_delivery_now(store_app, dispute, shopify=True) == "done"
    devstore.admin.set_faults(only_tags=False)

    # when the store's history is imported (it names Maya as the order's buyer)
    step = run(store_app, request(store_app, shop))

    # then the case is Maya's: her name, her profile, her tags — not a faceless guest's
    assert step.status == BackfillStatus.COMPLETED
    with session_scope(state(store_app).sessions) as session:
        holders = session.scalars(
            select(Customer.shopify_id)
            .join(Incident, Incident.customer_id == Customer.id)
            .where(Incident.status == "open")
        ).all()
        on_order = session.scalar(
            select(Customer.shopify_id)
            .join(Order, Order.customer_id == Customer.id)
            .where(Order.shopify_id == order.gid)
        )
    assert holders == [maya.gid]
    assert on_order == maya.gid
