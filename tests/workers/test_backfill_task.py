"""A store's history imported by a real Celery worker: the task chain carries it through
Shopify's preparing, the import and the profiles, and a second bell changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from flask import Flask

from service.core.db import session_scope
from service.core.models import Backfill, Shop, utcnow
from service.shopify import history
from tests.support.clout import RunningDevStore, connect_test_shop, state
from tests.support.helpers import wait_for

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
