"""Influence profiles for a generated shop, at several sizes:

- one incident's profile refresh as the attendance path does it (the customer's own facts from
  indexed queries, the shop's norms from their summary), beside the baseline in the same run: the
  same profile from a pass over the whole shop (what every refresh did before);
- a rebuild of every profile (a backfill's last step): customers per second and peak memory, to
  show that its cost grows linearly with the shop.

    python bench/profiles.py [--sizes 2000:10000,20000:100000,200000:1000000]

Each size runs in its own process (so peak memory is that size's own), on SQLite in a
temporary directory.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert

from service.core import db, people
from service.core.models import Customer, Order, OrderMention, Shop
from service.influence.facts import gather_facts
from service.influence.profiles import (
    build_profile,
    rebuild_shop,
    refresh_profile,
    unhappy_customers,
)
from service.influence.scoring import shop_norms

FREEMAIL = ["gmail.com", "yahoo.com", "outlook.com"]


def generate(url: str, customers: int, orders: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    engine = db.make_engine(url)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(
            insert(Shop),
            [{"domain": "bench.myshopify.com", "status": "active", "installed_at": start}],
        )
        rows = []
        companies = [f"company{i}.example" for i in range(max(1, customers // 50))]
        for i in range(1, customers + 1):
            domain = rng.choice(companies) if rng.random() < 0.1 else rng.choice(FREEMAIL)
            rows.append(
                {
                    "shop_id": 1,
                    "shopify_id": f"gid://shopify/Customer/{i}",
                    "email": f"c{i}@{domain}",
                    "first_name": f"First{i}",
                    "last_name": f"Last{i % 997}",
                    "default_address": {
                        "address1": f"{rng.randrange(customers)} Main St",
                        "zip": "10001",
                    },
                }
            )
            rows[-1].update(_customer_keys(rows[-1]))
            if len(rows) == 10_000:
                connection.execute(insert(Customer), rows)
                rows = []
        if rows:
            connection.execute(insert(Customer), rows)
        weights = [rng.paretovariate(1.3) for _ in range(customers)]
        buyers = rng.choices(range(1, customers + 1), weights=weights, k=orders)
        rows = []
        mentions: list[dict[str, Any]] = []
        for n, buyer in enumerate(buyers, start=1):
            gift = rng.random() < 0.15
            shipping = (
                {
                    "name": f"Friend {rng.randrange(customers * 3)}",
                    "address1": f"{rng.randrange(10**6)} Elm",
                    "zip": "2",
                }
                if gift
                else {"name": f"First{buyer} Last{buyer % 997}", "address1": "home", "zip": "1"}
            )
            codes = (
                [{"code": f"FIRST{rng.randrange(1, customers)}15"}] if rng.random() < 0.05 else []
            )
            rows.append(
                {
                    "shop_id": 1,
                    "shopify_id": f"gid://shopify/Order/{n}",
                    "customer_id": buyer,
                    "total_price": rng.randrange(10, 200),
                    "shipping_address": shipping,
                    "discount_codes": {"codes": codes},
                    "note_attributes": {"attributes": []},
                    "shopify_created_at": start + timedelta(minutes=n),
                    "ship_key": people.address_key(shipping),
                    "ship_name": people.recipient_key(shipping),
                }
            )
            mentions.extend(
                {"shop_id": 1, "order_id": n, "kind": kind, "key": key}
                for kind, key in people.mentions(
                    discount_codes={"codes": codes}, note_attributes=None
                )
            )
            if len(rows) == 20_000:
                connection.execute(insert(Order), rows)
                rows = []
        if rows:
            connection.execute(insert(Order), rows)
        if mentions:
            connection.execute(insert(OrderMention), mentions)
    engine.dispose()


def _customer_keys(row: dict[str, Any]) -> dict[str, Any]:
    """The keys the ORM would derive on flush (`core.people`); a bulk insert bypasses it."""
    return {
        "name_key": people.name_key(row["first_name"], row["last_name"]),
        "first_name_key": people.first_name_key(row["first_name"]),
        "email_key": people.email_key(row["email"]),
        "workplace_domain": people.workplace_domain(row["email"]),
        "home_key": people.address_key(row["default_address"]),
    }


def _per_incident(sessions: Any, customers: int, incidents: int = 200) -> dict[str, float]:
    """What one incident's profile refresh costs on the attendance path, against the baseline:
    the same profile from a pass over the whole shop (a few incidents: it is slow)."""
    rng = random.Random(2)
    picked = [rng.randrange(1, customers + 1) for _ in range(incidents)]
    targeted: list[float] = []
    with db.session_scope(sessions) as session:
        shop = session.get(Shop, 1)
        for customer_id in picked:
            customer = session.get(Customer, customer_id)
            started = time.perf_counter()
            refresh_profile(
                session=session,
                shop=shop,
                customer=customer,
                klout=None,
                opt_out_tag="clout-opt-out",
                now=datetime.now(UTC),
            )
            session.flush()
            targeted.append(time.perf_counter() - started)
        session.rollback()
    scans: list[float] = []
    with db.session_scope(sessions) as session:
        shop = session.get(Shop, 1)
        for customer_id in picked[:3]:
            customer = session.get(Customer, customer_id)
            started = time.perf_counter()
            facts = gather_facts(session=session, shop=shop)
            build_profile(
                session=session,
                shop=shop,
                customer=customer,
                facts=facts,
                norms=shop_norms(facts),
                unhappy=unhappy_customers(session=session, shop=shop),
                klout=None,
                opt_out_tag="clout-opt-out",
                now=datetime.now(UTC),
            )
            session.flush()
            scans.append(time.perf_counter() - started)
        session.rollback()
    targeted.sort()
    return {
        "incident_p50_s": targeted[len(targeted) // 2],
        "incident_p95_s": targeted[int(len(targeted) * 0.95)],
        "incident_max_s": targeted[-1],
        "incident_scan_s": sum(scans) / len(scans),
    }


def measure(customers: int, orders: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        db.upgrade(url)
        generate(url, customers, orders)
        engine = db.make_engine(url)
        sessions = db.make_session_factory(engine)
        started = time.perf_counter()
        with db.session_scope(sessions) as session:
            shop = session.get(Shop, 1)
            if shop is None:
                raise SystemExit("the generated shop is missing")
            done = rebuild_shop(
                session=session,
                shop=shop,
                klout=None,
                opt_out_tag="clout-opt-out",
                now=datetime.now(UTC),
                batch=2000,
            )
        elapsed = time.perf_counter() - started
        per_incident = _per_incident(sessions, customers)
        engine.dispose()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        **per_incident,
        "customers": done,
        "orders": orders,
        "seconds": elapsed,
        "per_second": done / elapsed,
        "peak_mb": peak_mb,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="2000:10000,20000:100000,200000:1000000")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        customers, orders = (int(x) for x in args.one.split(":"))
        print(json.dumps(measure(customers, orders)))
        return
    results = []
    for size in args.sizes.split(","):
        out = subprocess.run(
            [sys.executable, __file__, "--one", size], capture_output=True, text=True, check=True
        )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print("influence profiles (SQLite, one process, no Klout provider)")
    for r in results:
        print(
            f"  {r['customers']:>8,} customers, {r['orders']:>9,} orders: {r['seconds']:7.1f} s, "
            f"{r['per_second']:8.0f} customers/s, peak memory {r['peak_mb']:6.0f} MB"
        )
    print("one incident's profile refresh (200 incidents; the first computes the norms summary)")
    for r in results:
        print(
            f"  {r['orders']:>9,} orders: p50 {r['incident_p50_s'] * 1000:6.1f} ms, "
            f"p95 {r['incident_p95_s'] * 1000:6.1f} ms, max {r['incident_max_s'] * 1000:8.1f} ms; "
            f"baseline, a pass over the shop: {r['incident_scan_s'] * 1000:9.1f} ms "
            f"({r['incident_scan_s'] / r['incident_p50_s']:,.0f}x the p50)"
        )
    if len(results) > 1:
        first, last = results[0], results[-1]
        print(
            f"  p50 at {last['orders']:,} orders / at {first['orders']:,}: "
            f"{last['incident_p50_s'] / first['incident_p50_s']:.2f} (1.0 = flat with shop size)"
        )
    if len(results) > 1:
        small, large = results[0], results[-1]
        print(
            f"  customers/s at the larger size ÷ at the smaller: {large['per_second'] / small['per_second']:.2f} "
            f"(1.0 = perfectly linear); memory per customer "
            f"{small['peak_mb'] * 1024 / small['customers']:.1f} KB → {large['peak_mb'] * 1024 / large['customers']:.1f} KB"
        )


if __name__ == "__main__":
    main()
