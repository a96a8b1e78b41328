"""A store's history imported by a real Celery worker: the task chain carries it through
Shopify's preparing, the import and the profiles, and a second bell changes nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from flask import Flask

from service.core.db import session_scope
from service.core.models import Backfill, Shop, utcnow
from service.shopify import history
from tests.support.clout import RunningDevStore, connect_test_shop, state
from tests.support.helpers import wait_for
from workers.tasks import _backfill_key, backfill_run, renew_lease

pytestmark = pytest.mark.e2e


def test_a_worker_imports_the_history_of_a_store_that_connected(
    make_app: Callable[..., Flask], devstore: RunningDevStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("service.deliveries.backfill.POLL_SECONDS", 0.2)
    store = devstore.store
    store.tokens.add("shpat_test_token_0123456789")
    store.granted_scopes.add("read_all_orders")
    store.bulk_seconds = 0.5  # Shopify takes a moment: the chain has to come back for it
    for n in range(20):
        buyer = store.add_person(f"c{n}@example.org", days_ago=500)
        for days in range(n % 4 + 1):
            store.add_purchase(buyer, total=Decimal("20.00"), days_ago=400 - days * 50)
    app = make_app(CLOUT_SHOPIFY_ADMIN_URL=devstore.url)
    shop = connect_test_shop(app)
    with session_scope(state(app).sessions) as session:
        found = session.get(Shop, shop.id)
        assert found is not None
        backfill_id = history.request_backfill(session=session, shop=found, now=utcnow()).id
    celery = app.extensions["celery"]

    with start_worker(
        celery, pool="solo", perform_ping_check=False, queues=["clout"], shutdown_timeout=10
    ):
        history.ring_backfill(celery=celery, backfill_id=backfill_id)
        history.ring_backfill(celery=celery, backfill_id=backfill_id)  # a second chain leaves

        def finished() -> Any:
            with session_scope(state(app).sessions) as session:
                done = session.get(Backfill, backfill_id)
                return done if done is not None and done.finished_at else None

        done = wait_for(finished, timeout=30)

    assert done.status == "completed"
    assert (done.customers, done.orders) == (20, 50)
    assert len(store.bulk_runs) == 1  # one chain ran it: one bulk operation


def test_a_bell_in_its_own_chain_leaves_an_import_to_the_run_under_way(
    make_app: Callable[..., Flask], devstore: RunningDevStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an import whose chain has a run under way (its lease taken)
    monkeypatch.setattr("workers.tasks.BACKFILL_RUN_LEASE", 1)
    devstore.store.tokens.add("shpat_test_token_0123456789")
    devstore.store.add_person("c@example.org", days_ago=20)
    app = make_app(CLOUT_SHOPIFY_ADMIN_URL=devstore.url)
    shop = connect_test_shop(app)
    with session_scope(state(app).sessions) as session:
        found = session.get(Shop, shop.id)
        assert found is not None
        backfill_id = history.request_backfill(session=session, shop=found, now=utcnow()).id
    redis_client = state(app).redis
    chain = "the-chain"
    redis_client.set(_backfill_key(backfill_id), chain)
    under_way = backfill_run(redis_client, backfill_id, seconds=60)
    assert under_way.acquire(blocking=False)
    celery = app.extensions["celery"]

    def status() -> str:
        with session_scope(state(app).sessions) as session:
            found = session.get(Backfill, backfill_id)
            assert found is not None
            return found.status

    with start_worker(
        celery, pool="solo", perform_ping_check=False, queues=["clout"], shutdown_timeout=10
    ):
        # when the chain is rung on by name, as Shopify's bulk_operations/finish rings it
        history.ring_backfill(celery=celery, backfill_id=backfill_id, chain=chain)

        # then that bell leaves the import to the run under way (the two no longer ran side
        # by side, superseding each other's batches and both rebuilding every profile) ...
        time.sleep(3)
        assert status() == "requested"
        assert devstore.store.bulk_runs == {}

        # ... and takes it on once that run is gone (a worker killed mid-import)
        under_way.release()
        wait_for(lambda: status() == "completed", timeout=30)
    assert len(devstore.store.bulk_runs) == 1


def test_a_run_killed_mid_import_frees_the_chain_within_its_lease(redis_url: str) -> None:
    # given a run of an import under way on a short lease, renewed while it works
    client = redis.Redis.from_url(redis_url)
    run = backfill_run(client, 987654, seconds=1)
    assert run.acquire(blocking=False)
    done = threading.Event()
    renewer = threading.Thread(target=renew_lease, args=(run, done), kwargs={"every": 0.3})
    renewer.start()
    time.sleep(2.0)
    assert not backfill_run(client, 987654, seconds=1).acquire(blocking=False)

    # when its worker is killed (it renews no more)
    done.set()
    renewer.join()
    time.sleep(1.3)

    # then the chain's next run takes the import on
    assert backfill_run(client, 987654, seconds=1).acquire(blocking=False)
