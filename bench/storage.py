"""Database bytes per delivery: raw bodies kept for a replay window (the old default, 7 days)
against dropped in the commit that finishes the delivery (the new default).

Each run records and processes the same deliveries, in this thread, through the real
handlers into a fresh SQLite file: Shopify's own sample payloads (orders/create, refunds/create,
disputes/create) with new ids, so every order and customer is new, 20 % of them unhappy and 5 %
sent twice. The file is measured after a WAL checkpoint, once after a first round (warm-up:
tables and indexes take their first pages) and again after a second round of the same size;
the figure is the second round's growth per delivery, the slope that multiplies with traffic.

    python bench/storage.py [--deliveries 3000]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
import zlib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.core import db
from service.core.config import load_settings
from service.core.crypto import vault_for
from service.core.logs import configure_logging
from service.core.models import utcnow
from service.deliveries import lifecycle
from service.deliveries.topics import TOPIC_HANDLERS
from service.shopify.shops import register_shop

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "tests" / "fixtures" / "shopify"
SHOP = "bench-shop.myshopify.com"


def sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SAMPLES / f"{name}.json").read_text())
    return loaded


def traffic(count: int, *, seed: int, start: int) -> list[tuple[str, bytes, str]]:
    """(topic, body, webhook id) for `count` deliveries: new orders, 20 % of them followed by
    a refund or a dispute, 5 % sent twice (Shopify's at-least-once)."""
    rng = random.Random(seed)
    order, refund, dispute = (
        sample("orders_create"),
        sample("refunds_create"),
        sample("disputes_create"),
    )
    made: list[tuple[str, bytes, str]] = []
    n = start
    while len(made) < count:
        n += 1
        order_id, customer_id = 10_000_000 + n, 20_000_000 + n
        placed = dict(order, id=order_id, admin_graphql_api_id=f"gid://shopify/Order/{order_id}")
        placed["customer"] = dict(
            order["customer"],
            id=customer_id,
            email=f"c{n}@example.org",
            admin_graphql_api_id=f"gid://shopify/Customer/{customer_id}",
        )
        made.append(("orders/create", json.dumps(placed).encode(), uuid.uuid4().hex))
        if rng.random() < 0.2:
            if rng.random() < 0.5:
                body = dict(refund, id=30_000_000 + n, order_id=order_id, note="Arrived broken")
                made.append(("refunds/create", json.dumps(body).encode(), uuid.uuid4().hex))
            else:
                body = dict(dispute, id=40_000_000 + n, order_id=order_id)
                made.append(("disputes/create", json.dumps(body).encode(), uuid.uuid4().hex))
        if rng.random() < 0.05:
            made.append(made[-1])  # the same webhook id again
    return made[:count]


def file_bytes(engine: Any, path: Path) -> int:
    """The database file's size with everything written into it (the WAL checkpointed)."""
    engine.dispose()  # no pooled connection holds a read snapshot open
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    return path.stat().st_size


def run(count: int, *, keep_body: bool) -> tuple[float, float, float]:
    """(bytes per delivery in the warm-up round, in the second round, seconds per delivery)."""
    workdir = Path(tempfile.mkdtemp(prefix="clout-storage-"))
    database = workdir / "clout.db"
    settings = load_settings(
        {
            "SHOPIFY_API_SECRET": "bench",
            "CLOUT_DATABASE_URL": f"sqlite:///{database}",
            "CLOUT_DATA_DIR": str(workdir),
        },
        environ={},
        env_file=None,
    )
    db.upgrade(settings.database_url)
    engine = db.make_engine(settings.database_url)
    sessions = db.make_session_factory(engine)
    with db.session_scope(sessions) as session:
        register_shop(
            session=session, vault=vault_for(settings), domain=SHOP, access_token="t", now=utcnow()
        )
    sizes = [file_bytes(engine, database)]
    started = time.perf_counter()
    for round_number in range(2):
        for topic, body, webhook_id in traffic(
            count, seed=round_number, start=round_number * count
        ):
            with db.session_scope(sessions) as session:
                recorded = lifecycle.record_delivery(
                    session=session,
                    source="shopify",
                    webhook_id=webhook_id,
                    topic=topic,
                    shop_domain=SHOP,
                    body=body,
                )
            if recorded.duplicate:
                continue
            lifecycle.process_delivery(
                sessions=sessions,
                delivery_id=recorded.delivery_id,
                handlers=TOPIC_HANDLERS,
                max_attempts=1,
                stale_after=600,
                keep_body=keep_body,
            )
        sizes.append(file_bytes(engine, database))
    seconds = (time.perf_counter() - started) / (2 * count)
    engine.dispose()
    shutil.rmtree(workdir, ignore_errors=True)
    return (sizes[1] - sizes[0]) / count, (sizes[2] - sizes[1]) / count, seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deliveries", type=int, default=3000, help="per round (two rounds)")
    args = parser.parse_args()
    configure_logging("WARNING")  # a line per delivery would drown the figures
    bodies = traffic(1000, seed=9, start=10**6)
    raw = sum(len(b) for _t, b, _w in bodies) / len(bodies)
    packed = sum(len(zlib.compress(b, 6)) for _t, b, _w in bodies) / len(bodies)
    print(f"raw body: {raw:,.0f} bytes on average; zlib level 6 would keep {packed:,.0f}")
    kept = run(args.deliveries, keep_body=True)
    dropped = run(args.deliveries, keep_body=False)
    print(f"{'bodies':<34}{'warm-up B/delivery':>20}{'steady B/delivery':>19}{'ms/delivery':>13}")
    for name, (first, second, seconds) in (
        ("kept (replay window, old default)", kept),
        ("dropped when finished (default)", dropped),
    ):
        print(f"{name:<34}{first:>20,.0f}{second:>19,.0f}{seconds * 1000:>13.2f}")
    print(
        f"steady growth with bodies dropped: {dropped[1] / kept[1]:.2f}x of kept "
        f"({kept[1] - dropped[1]:,.0f} bytes less per delivery); "
        f"time per delivery {dropped[2] / kept[2]:.2f}x"
    )


if __name__ == "__main__":
    main()
