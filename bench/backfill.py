"""A store's history import: a bulk operation's JSONL result streamed over HTTP and imported
batch by batch into SQLite, beside a plain read of the same file (stream it, parse each line,
keep nothing) in the same run, at two sizes — time, and peak memory, which should stay flat
as the file grows.

    python bench/backfill.py [--sizes 10000:100000,100000:1000000] [--batch 500]

The file is generated in Shopify's shape (each customer's orders on their own lines with
`__parentId`, before the customer's line: the emulator's ungrouped order) and written to
disk as it is generated; a local HTTP server serves it with its Content-Length, as Shopify's
storage serves a signed URL. Each measurement runs in its own process (its peak resident
memory is its own); the importer's peak is read when its last line is in, before the
profiles of the shop are rebuilt (timed after it; `bench/profiles.py` measures that step).
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from service.core import db
from service.core.models import Backfill, Shop
from service.deliveries.backfill import Watch, advance
from service.shopify.history import result_lines

START = datetime(2023, 1, 1, tzinfo=UTC)
FREEMAIL = ["gmail.com", "yahoo.com", "outlook.com"]


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def generate(path: Path, customers: int, orders: int, seed: int = 1) -> int:
    """Write the JSONL a bulk operation of `documents.HISTORY` would leave; its line count."""
    rng = random.Random(seed)
    weights = [rng.paretovariate(1.3) for _ in range(customers)]
    per_customer = [0] * customers
    for buyer in rng.choices(range(customers), weights=weights, k=orders):
        per_customer[buyer] += 1
    companies = [f"company{i}.example" for i in range(max(1, customers // 50))]
    lines = 0
    order_id = 10**12
    with path.open("w") as out:
        for index in range(customers):
            gid = f"gid://shopify/Customer/{index + 1}"
            joined = START + timedelta(minutes=rng.randrange(60 * 24 * 900))
            domain = rng.choice(companies) if rng.random() < 0.1 else rng.choice(FREEMAIL)
            home = {
                "firstName": f"First{index}",
                "lastName": f"Last{index % 997}",
                "address1": f"{rng.randrange(customers)} Main St",
                "city": "Springfield",
                "zip": "10001",
                "countryCodeV2": "US",
            }
            spent = 0.0
            for _ in range(per_customer[index]):
                order_id += 1
                placed = joined + timedelta(minutes=rng.randrange(60 * 24 * 300))
                total = round(rng.uniform(10, 300), 2)
                spent += total
                gift = rng.random() < 0.15
                shipping = (
                    {
                        **home,
                        "firstName": f"Friend{rng.randrange(customers * 3)}",
                        "address1": "9 Elm",
                    }
                    if gift
                    else home
                )
                order = {
                    "id": f"gid://shopify/Order/{order_id}",
                    "name": f"#{order_id - 10**12 + 1000}",
                    "email": f"c{index}@{domain}",
                    "phone": None,
                    "createdAt": iso(placed),
                    "updatedAt": iso(placed + timedelta(days=2)),
                    "cancelledAt": None,
                    "cancelReason": None,
                    "displayFinancialStatus": "PAID",
                    "displayFulfillmentStatus": "FULFILLED",
                    "tags": [],
                    "note": None,
                    "customAttributes": (
                        [
                            {
                                "key": "how_did_you_hear",
                                "value": f"c{rng.randrange(customers)}@gmail.com",
                            }
                        ]
                        if rng.random() < 0.05
                        else []
                    ),
                    "discountCodes": [f"FIRST{rng.randrange(customers)}10"]
                    if rng.random() < 0.05
                    else [],
                    "shippingAddress": shipping,
                    "totalPriceSet": {
                        "shopMoney": {"amount": f"{total:.2f}", "currencyCode": "USD"}
                    },
                    "fulfillments": [
                        {"createdAt": iso(placed + timedelta(days=1)), "displayStatus": "DELIVERED"}
                    ],
                    "__parentId": gid,
                }
                out.write(json.dumps(order, separators=(",", ":")) + "\n")
                lines += 1
            customer = {
                "id": gid,
                "firstName": home["firstName"],
                "lastName": home["lastName"],
                "note": None,
                "tags": [],
                "state": "ENABLED",
                "createdAt": iso(joined),
                "updatedAt": iso(joined + timedelta(days=1)),
                "numberOfOrders": str(per_customer[index]),
                "amountSpent": {"amount": f"{spent:.2f}", "currencyCode": "USD"},
                "defaultEmailAddress": {"emailAddress": f"c{index}@{domain}"},
                "defaultPhoneNumber": None,
                "defaultAddress": home,
            }
            out.write(json.dumps(customer, separators=(",", ":")) + "\n")
            lines += 1
    return lines


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *_: Any) -> None:
        pass


def serve(directory: Path) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def peak_mb() -> float:
    """This process's peak resident memory so far. VmHWM, not `ru_maxrss`: Linux carries a
    parent's `ru_maxrss` into the child it forks, so a child would report the generator's."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_read(url: str) -> dict[str, float]:
    """The baseline: the same streamed download and a parse of every line, nothing kept."""
    started_mb = peak_mb()
    started = time.perf_counter()
    lines = 0
    with httpx.Client() as http:
        for line in result_lines(http=http, url=url):
            json.loads(line)
            lines += 1
    elapsed = time.perf_counter() - started
    return {"lines": lines, "seconds": elapsed, "peak_mb": peak_mb(), "start_mb": started_mb}


def measure_import(url: str, lines: int, batch: int, directory: Path) -> dict[str, float]:
    """The importer as a worker runs it: `deliveries.backfill.advance` from the file onwards."""
    url_db = f"sqlite:///{directory / 'bench.db'}"
    db.upgrade(url_db)
    engine = db.make_engine(url_db)
    sessions = db.make_session_factory(engine)
    with db.session_scope(sessions) as session:
        shop = Shop(domain="bench.myshopify.com", scopes="read_orders,read_all_orders")
        session.add(shop)
        session.flush()
        backfill = Backfill(shop_id=shop.id, status="importing", result_url=url, object_count=lines)
        session.add(backfill)
        session.flush()
        backfill_id = backfill.id
    marks: dict[str, float] = {}

    def imported(done: int, total: int) -> None:
        if done >= total and "imported" not in marks:
            marks["imported"] = time.perf_counter()
            marks["import_peak_mb"] = peak_mb()

    started_mb = peak_mb()
    started = time.perf_counter()
    with httpx.Client() as http:
        step = advance(
            sessions=sessions,
            backfill_id=backfill_id,
            admin_for=lambda shop: None,  # type: ignore[arg-type,return-value]  # the file is ready
            http=http,
            klout=None,
            opt_out_tag="clout-opt-out",
            batch_lines=batch,
            watch=Watch(lines=imported),
        )
    finished = time.perf_counter()
    if step.status != "completed":
        raise SystemExit(f"the import did not complete: {step}")
    with db.session_scope(sessions) as session:
        done = session.get(Backfill, backfill_id)
        if done is None or done.lines_done != lines:
            raise SystemExit(f"imported {done and done.lines_done} lines of {lines}")
    engine.dispose()
    return {
        "lines": lines,
        "seconds": marks["imported"] - started,
        "peak_mb": marks["import_peak_mb"],
        "start_mb": started_mb,
        "profiles_seconds": finished - marks["imported"],
        "peak_with_profiles_mb": peak_mb(),
    }


def child(args: argparse.Namespace) -> None:
    directory = Path(args.directory)
    if args.child == "read":
        result = measure_read(args.url)
    else:
        result = measure_import(args.url, args.lines, args.batch, directory)
    print(json.dumps(result))


def run_child(kind: str, url: str, lines: int, batch: int, directory: Path) -> dict[str, float]:
    command = [
        sys.executable,
        __file__,
        "--child",
        kind,
        "--url",
        url,
        "--lines",
        str(lines),
        "--batch",
        str(batch),
        "--directory",
        str(directory),
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000:100000,100000:1000000", help="customers:orders,…")
    parser.add_argument("--batch", type=int, default=500, help="lines per transaction")
    parser.add_argument("--child", choices=["read", "import"])
    parser.add_argument("--url")
    parser.add_argument("--lines", type=int, default=0)
    parser.add_argument("--directory")
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    rows = []
    for size in args.sizes.split(","):
        customers, orders = (int(n) for n in size.split(":"))
        with tempfile.TemporaryDirectory() as tmp:
            directory = Path(tmp)
            started = time.perf_counter()
            lines = generate(directory / "history.jsonl", customers, orders)
            size_mb = (directory / "history.jsonl").stat().st_size / 2**20
            print(
                f"{customers:,} customers, {orders:,} orders: {lines:,} lines, {size_mb:,.0f} MB "
                f"generated in {time.perf_counter() - started:.0f} s",
                flush=True,
            )
            server, base = serve(directory)
            url = f"{base}/history.jsonl"
            try:
                read = run_child("read", url, lines, args.batch, directory)
                imported = run_child("import", url, lines, args.batch, directory)
            finally:
                server.shutdown()
            rows.append((customers, orders, lines, size_mb, read, imported))
            print(
                f"  plain read: {json.dumps(read)}\n  import:     {json.dumps(imported)}",
                flush=True,
            )

    print(
        "\n| history | JSONL | plain read: time, lines/s, peak | import: time, lines/s, peak | import ÷ read (time) | profiles after |"
    )
    print("|---|---|---|---|---|---|")
    for customers, orders, lines, size_mb, read, imported in rows:
        print(
            f"| {customers:,} customers, {orders:,} orders | {lines:,} lines, {size_mb:,.0f} MB "
            f"| {read['seconds']:.1f} s, {lines / read['seconds']:,.0f}/s, {read['peak_mb']:.0f} MB "
            f"| {imported['seconds']:.1f} s, {lines / imported['seconds']:,.0f}/s, "
            f"{imported['peak_mb']:.0f} MB "
            f"| {imported['seconds'] / read['seconds']:.1f}× "
            f"| {imported['profiles_seconds']:.1f} s ({imported['peak_with_profiles_mb']:.0f} MB) |"
        )
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        print(
            f"\nFile {last[2] / first[2]:.0f}× larger: import peak memory "
            f"{first[5]['peak_mb']:.0f} → {last[5]['peak_mb']:.0f} MB "
            f"({last[5]['peak_mb'] / first[5]['peak_mb']:.2f}×), plain read "
            f"{first[4]['peak_mb']:.0f} → {last[4]['peak_mb']:.0f} MB; import throughput "
            f"{(last[2] / last[5]['seconds']) / (first[2] / first[5]['seconds']):.2f} of the smaller size's."
        )


if __name__ == "__main__":
    main()
