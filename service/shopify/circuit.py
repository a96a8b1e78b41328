"""A circuit per shop and operation for best-effort calls: after a few failures in a row the
operation is not tried for a while, then one call probes whether Shopify answers again.

Shared through Redis by every worker, so a partial Shopify incident (reads failing while tag
writes work) costs a handful of failed reads, not one per incident per retry: the rest are
skipped at once and tried again at their next due time. The attention floor never goes through
a circuit: it is always tried. Without Redis the circuit stays closed (it is a brake, not a
lock).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

import redis

FAILURES_TO_OPEN = 3
OPEN_SECONDS = 60.0
_TTL = 3600


class Circuit:
    def __init__(
        self,
        client: redis.Redis,
        *,
        failures_to_open: int = FAILURES_TO_OPEN,
        open_seconds: float = OPEN_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.failures_to_open = failures_to_open
        self.open_seconds = open_seconds
        self.clock = clock

    @staticmethod
    def key(shop: str, operation: str) -> str:
        return f"clout:circuit:{shop}:{operation}"

    def allows(self, shop: str, operation: str) -> bool:
        """Closed, or open long enough that the next call is a probe (which re-opens it for
        everyone else while it is out)."""
        key = self.key(shop, operation)
        with contextlib.suppress(redis.RedisError):
            raw = self.client.hget(key, "open_until")
            if raw is None:
                return True
            now = self.clock()
            if now < float(raw):
                return False
            # Half-open: this caller probes; the others wait for its answer.
            return bool(
                self.client.eval(
                    "if redis.call('HGET', KEYS[1], 'open_until') == ARGV[1] then "
                    "redis.call('HSET', KEYS[1], 'open_until', ARGV[2]) return 1 end return 0",
                    1,
                    key,
                    raw,
                    str(now + self.open_seconds),
                )
            )
        return True

    def failed(self, shop: str, operation: str) -> None:
        key = self.key(shop, operation)
        with contextlib.suppress(redis.RedisError):
            failures = int(self.client.hincrby(key, "failures", 1))
            if failures >= self.failures_to_open:
                self.client.hset(key, "open_until", str(self.clock() + self.open_seconds))
            self.client.expire(key, _TTL)

    def succeeded(self, shop: str, operation: str) -> bool:
        """Close the circuit; True when it had been open (this call was the probe that found
        Shopify answering again), so work put off meanwhile can come back now."""
        with contextlib.suppress(redis.RedisError):
            key = self.key(shop, operation)
            was_open = self.client.hget(key, "open_until") is not None
            self.client.delete(key)
            return was_open
        return False

    def is_open(self, shop: str, operation: str) -> bool:
        with contextlib.suppress(redis.RedisError):
            raw = self.client.hget(self.key(shop, operation), "open_until")
            return raw is not None and self.clock() < float(raw)
        return False
