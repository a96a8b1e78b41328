"""The generated store looks like a real one: nothing in it has happened yet."""

from __future__ import annotations

from datetime import UTC, datetime

from service.dev.devstore.seed import seed_store
from service.dev.devstore.store import DevStore
from tests.support.helpers import SHOP


def test_the_seeded_store_has_no_refund_fulfilment_or_change_dated_in_the_future() -> None:
    # given the store `clout devstore` generates by default (its seed, its sizes)
    store = DevStore(SHOP)
    seed_store(store, customers=300, orders=2000, seed=1)
    now = datetime.now(UTC)

    # then, as in a real store, every refund, fulfilment and change has already happened. A
    # refund dated days ahead gives its order an updatedAt in the future; Clout's
    # reconciliation keeps the newest updatedAt it read as its watermark, so on the store the
    # README walks a newcomer through it reads nothing back for the next eleven days
    future = [
        (order.name, what, when.isoformat())
        for order in store.orders.values()
        for what, when in (
            ("updated", order.updated_at),
            *(("refund", r.created_at) for r in order.refunds),
            *(("fulfilment", f.created_at) for f in order.fulfillments),
        )
        if when > now
    ]
    assert future == [], f"{len(future)} in the future, e.g. {future[:3]}"
