"""Soak: signed deliveries at a steady rate into `clout serve`, watching what grows.

`clout serve` (web, worker, beat, its embedded Redis, SQLite) runs against the Admin API
emulator holding a small generated store. A sender posts signed Shopify deliveries at --rate a
second: new orders (each a new customer), 20 % unhappy (a refund, a dispute or a
cancellation of an order sent earlier), 5 % sent again with the same webhook id. Every
--sample seconds it notes each process's RSS, the database's size (file and WAL) and how
many deliveries are done and pending.

At the end it prints, per series, the slope per minute in the first and in the second half of
the run — the first half is the baseline — and their ratio, and states plainly every slope
that does not level off (second half still at least half the first and above a floor that
noise cannot reach). It asserts nothing: it is a benchmark. With --kill-every N it SIGKILLs
the whole `clout serve` group every N minutes and starts it again, and checks at the end that
every delivery answered 200 ended `done`.

    python bench/soak.py                       # about 2 minutes at 10/s
    python bench/soak.py --minutes 60          # the hour
    python bench/soak.py --rate 25 --kill-every 3
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import math
import os
import random
import secrets
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import psutil

from service.core.config import DEFAULT_ATTENTION_TAG
from service.core.models import utcnow
from service.dev.demo import connect_local_shop
from service.dev.devstore.seed import seed_store
from service.dev.devstore.server import DevAdmin, Plan, serving
from service.dev.devstore.store import DevStore, Refund
from service.dev.devstore.store import Order as DevOrder
from service.dev.devstore.webhooks import order_payload, refund_payload

SHOP = "soak-shop.myshopify.com"
TOKEN = "shpat_soak_" + "0" * 20
MB = 1024 * 1024


@dataclass
class Sample:
    minute: float
    rss: dict[str, float]  # role → MB (summed over that role's processes)
    database: float  # MB, file + WAL
    done: int
    pending: int


@dataclass
class Sender:
    url: str
    secret: str
    store: DevStore
    rng: random.Random
    answered: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    accepted_ids: set[str] = field(default_factory=set)
    earlier: list[DevOrder] = field(default_factory=list)
    last: tuple[str, bytes, str] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    # The unhappy deliveries: webhook id → the order it is about; and, for those answered 200,
    # when (monotonic) the first 200 came back.
    unhappy_orders: dict[str, int] = field(default_factory=dict)
    unhappy_accepted: dict[int, float] = field(default_factory=dict)

    def next_delivery(self) -> tuple[str, bytes, str]:
        """(topic, body, webhook id) of the next delivery in the mix."""
        roll = self.rng.random()
        if roll < 0.05 and self.last is not None:
            return self.last  # Shopify's at-least-once: the same webhook id again
        if roll < 0.25 and self.earlier:
            order = self.rng.choice(self.earlier)
            kind = self.rng.choice(("refund", "dispute", "cancel"))
            if kind == "refund":
                order.refunds.append(
                    Refund(
                        id=self.store.next_id(),
                        created_at=utcnow(),
                        note="Arrived broken, want my money back",
                        amount=Decimal("10.00"),
                    )
                )
                made = ("refunds/create", refund_payload(order))
            elif kind == "dispute":
                made = (
                    "disputes/create",
                    {"id": self.store.next_id(), "order_id": order.id, "type": "chargeback"},
                )
            else:
                order.cancelled_at, order.cancel_reason = utcnow(), "CUSTOMER"
                made = ("orders/cancelled", order_payload(self.store, order))
        else:
            n = self.store.next_id()
            person = self.store.add_person(f"soak{n}@example.org", f"Soak{n}", "Customer")
            order = self.store.add_purchase(person, days_ago=0)
            self.earlier.append(order)
            if len(self.earlier) > 2000:
                self.earlier.pop(0)
            made = ("orders/create", order_payload(self.store, order))
        topic, payload = made
        self.last = (topic, json.dumps(payload).encode(), str(uuid.uuid4()))
        if topic != "orders/create":
            self.unhappy_orders[self.last[2]] = order.id
        return self.last

    def post(self, client: httpx.Client, topic: str, body: bytes, webhook_id: str) -> None:
        signature = base64.b64encode(
            hmac.new(self.secret.encode(), body, hashlib.sha256).digest()
        ).decode()
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": signature,
            "X-Shopify-Shop-Domain": SHOP,
            "X-Shopify-API-Version": "2026-07",
            "X-Shopify-Webhook-Id": webhook_id,
            "X-Shopify-Triggered-At": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }
        try:
            status = client.post(self.url, content=body, headers=headers, timeout=5).status_code
        except httpx.HTTPError:
            status = 0  # a kill in progress: Shopify would retry; this sender does not
        with self.lock:
            self.answered[str(status)] += 1
            if status == 200:
                self.accepted_ids.add(webhook_id)
                order_id = self.unhappy_orders.get(webhook_id)
                if order_id is not None:
                    self.unhappy_accepted.setdefault(order_id, time.monotonic())


class TagWatch(threading.Thread):
    """Notes when each unhappy order first carries the attention tag in the emulator (polled
    twice a second): what a merchant would see, whatever Clout's own tables say."""

    def __init__(self, store: DevStore, sender: Sender) -> None:
        super().__init__(daemon=True)
        self.store, self.sender = store, sender
        self.tagged: dict[int, float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.5):
            self.look()

    def look(self) -> None:
        moment = time.monotonic()
        with self.sender.lock:
            waiting = [o for o in self.sender.unhappy_accepted if o not in self.tagged]
        with self.store.lock:
            for order_id in waiting:
                order = self.store.orders.get(order_id)
                if order is not None and DEFAULT_ATTENTION_TAG in order.tags:
                    self.tagged[order_id] = moment


def start_serve(workdir: Path, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    log = (workdir / "serve.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"clout serve did not become ready; see {workdir / 'serve.log'}")


def role(process: psutil.Process) -> str:
    line = " ".join(process.cmdline())
    if "redis-server" in process.name():
        return "redis"
    for name in ("web", "worker", "beat"):
        if f"service.cli {name}" in line:
            return name
    parent = process.parent()
    return f"{role(parent)} child" if parent is not None and parent.pid != 1 else "other"


def rss_by_role(root: int) -> dict[str, float]:
    found: dict[str, float] = defaultdict(float)
    try:
        family = [psutil.Process(root), *psutil.Process(root).children(recursive=True)]
    except psutil.NoSuchProcess:
        return {}
    for process in family:
        try:
            name = "serve" if process.pid == root else role(process)
            found[name] += process.memory_info().rss / MB
        except psutil.Error:
            continue
    return dict(found)


def counts(database: Path) -> tuple[int, int]:
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as connection:
            rows = dict(
                connection.execute("SELECT status, count(*) FROM deliveries GROUP BY status")
            )
    except sqlite3.Error:
        return -1, -1
    done = rows.get("done", 0) + rows.get("ignored", 0)
    pending = sum(rows.get(s, 0) for s in ("received", "processing", "retrying"))
    return done, pending


def database_mb(database: Path) -> float:
    return (
        sum(
            (database.with_name(database.name + end)).stat().st_size
            for end in ("", "-wal")
            if database.with_name(database.name + end).exists()
        )
        / MB
    )


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope (units per minute)."""
    if len(points) < 2:
        return float("nan")
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return float("nan")
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


def report(samples: list[Sample], *, floors: dict[str, float]) -> list[str]:
    """Print first-half and second-half slopes per series; the series that do not level off."""
    half = samples[-1].minute / 2
    series: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for s in samples:
        for name, mb in s.rss.items():
            series[f"RSS {name} (MB)"].append((s.minute, mb))
        series["database (MB)"].append((s.minute, s.database))
        series["pending deliveries"].append((s.minute, float(s.pending)))
    rising = []
    print(f"\n{'series':<34}{'1st half /min':>15}{'2nd half /min':>15}{'2nd / 1st':>11}  last")
    for name, points in sorted(series.items()):
        first = slope([p for p in points if p[0] <= half])
        second = slope([p for p in points if p[0] > half])
        ratio = second / first if math.isfinite(first) and abs(first) > 1e-9 else float("nan")
        floor = next((v for k, v in floors.items() if name.startswith(k)), 0.0)
        print(f"{name:<34}{first:>15.3f}{second:>15.3f}{ratio:>11.2f}  {points[-1][1]:.2f}")
        if second > floor and (first <= 0 or second >= 0.5 * first):
            rising.append(f"{name} still rises {second:.3f} a minute in the second half")
    # Bytes per delivery: the database's growth over the deliveries finished, per half. The
    # file grows with customers (every new order in the mix brings one); what must not grow is
    # the cost of each delivery.
    firsts = [s for s in samples if s.minute <= half and s.done >= 0]
    seconds = [s for s in samples if s.minute > half and s.done >= 0]
    if len(firsts) >= 2 and len(seconds) >= 2:
        per = [
            (b.database - a.database) * MB / max(1, b.done - a.done)
            for a, b in ((firsts[0], firsts[-1]), (seconds[0], seconds[-1]))
        ]
        print(
            f"database bytes per delivery finished: {per[0]:,.0f} in the first half, "
            f"{per[1]:,.0f} in the second ({per[1] / per[0] if per[0] else float('nan'):.2f}x)"
        )
        if per[0] > 0 and per[1] > 1.5 * per[0]:
            rising.append(f"database bytes per delivery rose {per[1] / per[0]:.2f}x")
    return rising


# Per series, the slope (a minute) under which a rise is noise, not growth.
FLOORS = {
    "RSS": 0.5,  # MB: the allocator's noise stays under this
    # The file grows with customers by design; its cost per delivery is checked apart.
    "database (MB)": float("inf"),
    "pending": 5.0,
}


@dataclass
class Run:
    serve: subprocess.Popen[bytes]
    samples: list[Sample]
    kills: list[float]
    sent: int
    ready_at: list[float] = field(default_factory=list)  # monotonic: each restart answering
    started: float = 0.0


def drive(
    *,
    serve: subprocess.Popen[bytes],
    sender: Sender,
    args: argparse.Namespace,
    workdir: Path,
    env: dict[str, str],
    database: Path,
) -> Run:
    """Send at the rate for the run's minutes, sampling, and killing if asked."""
    samples: list[Sample] = []
    kills: list[float] = []
    ready_at: list[float] = []
    started = time.monotonic()
    ends = started + args.minutes * 60
    next_sample = started
    next_kill = started + args.kill_every * 60 if args.kill_every else float("inf")
    sent = 0
    print(
        f"soak: {args.rate:g}/s for {args.minutes:g} min into clout serve (work dir {workdir})",
        flush=True,
    )
    with httpx.Client() as client, ThreadPoolExecutor(8) as pool:
        while (moment := time.monotonic()) < ends:
            if moment >= next_sample:
                done, pending = counts(database)
                sample = Sample(
                    minute=(moment - started) / 60,
                    rss=rss_by_role(serve.pid),
                    database=database_mb(database),
                    done=done,
                    pending=pending,
                )
                samples.append(sample)
                print(
                    f"  {sample.minute:5.1f} min  sent {sent:6d}  done {done:6d}  "
                    f"pending {pending:5d}  db {sample.database:7.1f} MB  rss "
                    + " ".join(f"{k} {v:.0f}" for k, v in sorted(sample.rss.items())),
                    flush=True,
                )
                next_sample += args.sample
            if moment >= next_kill:
                os.killpg(serve.pid, signal.SIGKILL)
                serve.wait()
                restarted = time.monotonic()
                serve = start_serve(workdir, env, args.port)
                kills.append(time.monotonic() - restarted)
                ready_at.append(time.monotonic())
                print(f"  killed and restarted: ready in {kills[-1]:.1f} s", flush=True)
                next_kill += args.kill_every * 60
            due = started + sent / args.rate
            if due > moment:
                time.sleep(min(due - moment, 0.05))
                continue
            topic, body, webhook_id = sender.next_delivery()
            pool.submit(sender.post, client, topic, body, webhook_id)
            sent += 1

    return Run(
        serve=serve, samples=samples, kills=kills, sent=sent, ready_at=ready_at, started=started
    )


def unhappy_report(sender: Sender, watch: TagWatch, run: Run) -> str:
    """Every unhappy order answered 200 must carry the attention tag; how long it took, and,
    for those a kill caught untagged, how long after the restart answered."""
    accepted = sender.unhappy_accepted
    waits = sorted(watch.tagged[o] - t for o, t in accepted.items() if o in watch.tagged)
    untagged = len(accepted) - len(waits)
    lines = [
        (
            f"unhappy orders answered 200: {len(accepted)}; carrying the attention tag: "
            f"{len(waits)}; not tagged: {untagged}"
        )
    ]
    if waits:
        lines.append(
            f"200 → tag: p50 {waits[len(waits) // 2]:.1f} s, "
            f"p95 {waits[int(len(waits) * 0.95)]:.1f} s, max {waits[-1]:.1f} s"
        )
    for ready, took in zip(run.ready_at, run.kills, strict=True):
        killed = ready - took
        caught = [o for o, t in accepted.items() if t < killed and watch.tagged.get(o, 0) > killed]
        if caught:
            last = max(watch.tagged[o] for o in caught)
            lines.append(
                f"kill at {killed - run.started:.0f} s (answering again {took:.1f} s later): "
                f"{len(caught)} answered 200 before it were tagged after it, the last "
                f"{last - killed:.1f} s after the kill ({last - ready:+.1f} s from answering)"
            )
        else:
            lines.append(f"kill at {killed - run.started:.0f} s: none caught untagged")
    return "\n".join(lines)


def flow_report(store: DevStore) -> str:
    """Flow cannot tell a repeat: one "Unhappy customer detected" per customer in this mix
    (no case is resolved, so a customer has one case)."""
    with store.lock:
        per_customer: dict[object, int] = defaultdict(int)
        for trigger in store.flow_triggers:
            payload = trigger["payload"]
            per_customer[payload.get("customer_id") or ("order", payload.get("order_id"))] += 1
    doubled = sum(1 for n in per_customer.values() if n > 1)
    return f"Flow triggers: {sum(per_customer.values())}, for {len(per_customer)} customers; doubled: {doubled}"


PLACEHOLDERS = """
SELECT COUNT(*), COALESCE(SUM(o.customer_id IS NOT NULL AND o.customer_id != s.customer_id), 0)
FROM signals s JOIN customers c ON c.id = s.customer_id LEFT JOIN orders o ON o.id = s.order_id
WHERE c.shopify_id LIKE 'guest:%' OR c.shopify_id LIKE 'reviewer:%'
"""


def placeholders(database: Path) -> str:
    """Signals on a stand-in customer, and of those the ones whose order Clout now knows with
    its real customer (issue 19: none should be left once the order is known)."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        on_stand_ins, order_known = connection.execute(PLACEHOLDERS).fetchone()
    return (
        f"signals on a stand-in customer: {on_stand_ins}; "
        f"of those, with the order now known on its real customer: {order_known}"
    )


def drain(*, database: Path, sender: Sender, watch: TagWatch) -> tuple[int, float, int]:
    """Wait for the backlog once intake stops (the worker's pace) and for the last tags:
    (deliveries done, seconds to drain, answered 200 but not done)."""
    # Drain: how long the backlog takes to finish once intake stops (the worker's pace).
    drain_started = time.monotonic()
    done, pending = counts(database)
    backlog, done_before = pending, done
    while pending > 0 and time.monotonic() - drain_started < 300:
        time.sleep(1)
        done, pending = counts(database)
    drained = time.monotonic() - drain_started
    if backlog >= 100:
        # With nothing new arriving, the backlog's pace is the workers' own.
        print(f"worker pace on a backlog of {backlog}: {(done - done_before) / drained:.1f}/s")
    # Tags land after a delivery is done (the floor is its own unit of work): give the last
    # ones the floor's own deadline before counting what is missing.
    tags_wait = time.monotonic() + 60
    while len(watch.tagged) < len(sender.unhappy_accepted) and time.monotonic() < tags_wait:
        time.sleep(0.5)
    watch.stop.set()
    watch.join()
    watch.look()
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        unfinished = {
            row[0]
            for row in connection.execute(
                "SELECT webhook_id FROM deliveries WHERE status NOT IN ('done', 'ignored')"
            )
        }
        not_done = len(unfinished & sender.accepted_ids)
    return done, drained, not_done


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--rate", type=float, default=10.0, help="deliveries a second")
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--kill-every", type=float, default=0.0, help="minutes; 0: never")
    parser.add_argument("--port", type=int, default=8777)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="clout-soak-"))
    secret = "shpss_soak_" + secrets.token_hex(16)
    store = DevStore(SHOP)
    store.tokens.add(TOKEN)
    seed_store(store, customers=200, orders=600, seed=args.seed)
    admin = DevAdmin(store, plan=Plan(maximum=2000, restore_rate=1000))
    with serving(admin) as shopify_url:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUT_", "SHOPIFY_"))}
        env |= {
            "SHOPIFY_API_SECRET": secret,
            "CLOUT_SHOPIFY_ADMIN_URL": shopify_url,
            "CLOUT_LOG_LEVEL": "WARNING",
            "CLOUT_DATA_DIR": str(workdir / ".clout"),
            "CLOUT_DATABASE_URL": f"sqlite:///{workdir / 'clout.db'}",
        }
        engine, _sessions = connect_local_shop(env, shop=SHOP, token=TOKEN)
        engine.dispose()
        database = workdir / "clout.db"
        serve = start_serve(workdir, env, args.port)
        sender = Sender(
            url=f"http://127.0.0.1:{args.port}/webhooks/shopify",
            secret=secret,
            store=store,
            rng=random.Random(args.seed),
        )
        watch = TagWatch(store, sender)
        watch.start()
        run = drive(
            serve=serve, sender=sender, args=args, workdir=workdir, env=env, database=database
        )
        serve, samples, kills, sent = run.serve, run.samples, run.kills, run.sent
        done, drained, not_done = drain(database=database, sender=sender, watch=watch)
        os.killpg(serve.pid, signal.SIGINT)
        try:
            serve.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)

    print(f"\nanswers: {dict(sender.answered)}; sent {sent} in {args.minutes:g} min")
    print(
        f"finished {done} deliveries (the resends are duplicates: recorded once); "
        f"backlog drained in {drained:.0f} s after intake stopped; "
        f"answered 200 but not done: {not_done}"
    )
    if kills:
        print(f"restarts ready in {', '.join(f'{k:.1f}' for k in kills)} s")
    print(unhappy_report(sender, watch, run))
    print(placeholders(database))
    print(flow_report(store))
    if kills:
        print(
            "(each restart starts the processes' memory again: read RSS slopes from a run without kills)"
        )
    rising = report(samples, floors=FLOORS)
    if rising:
        print("\nDOES NOT LEVEL OFF:")
        for line in rising:
            print(f"  - {line}")
    else:
        print("\nevery slope levels off (second half under half the first, or under its floor)")
    print(f"(work dir kept: {workdir})")


if __name__ == "__main__":
    main()
