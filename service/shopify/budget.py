"""One shop's Admin API cost budget, shared through Redis by every worker on every machine.

Shopify meters GraphQL per app and store with a leaky bucket of query-cost points. Each call
first takes its requested cost from this shared copy of the bucket (atomically, in a Lua script
timed by Redis's own clock) and waits when there is not enough; each answer's
`extensions.cost.throttleStatus` then corrects the copy. So N workers together pace themselves
to the shop's bucket instead of each discovering it by being throttled.
"""

from __future__ import annotations

import contextlib
from typing import Any

import redis

# Two lanes share a shop's bucket. The floor (the attention tag) may use all of it; best-effort
# work ("later": read-back, metafields, Flow) only what is above a reserve kept for floors —
# a few seconds of the shop's restore rate, at most half the bucket — and waits otherwise.
FLOOR_LANE = "floor"
LATER_LANE = "later"
RESERVE_SECONDS = 2.0
RESERVE_SHARE = 0.5
# Every call leaves this much of the shop's restore rate in the copy. Points taken here reach
# Shopify a round trip later, and while Shopify's bucket is full it cannot refill the way this
# copy does (a burst from a full bucket overspent by half a point and was throttled); Shopify
# also reports `currentlyAvailable` rounded. A quarter-second of the rate covers both, and
# costs the pace nothing: it is kept once, not paid per call.
MARGIN_SECONDS = 0.25

# Until Shopify has told us the shop's plan: the most conservative published bucket.
DEFAULT_MAXIMUM = 1000.0
DEFAULT_RESTORE_RATE = 50.0
_TTL_SECONDS = 3600
LEARNED_KEY = "clout:shopify-cost"  # operation name → Shopify's last requestedQueryCost

_REFILL = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local b = redis.call('HMGET', KEYS[1], 'available', 'max', 'rate', 'at')
local max = tonumber(b[2]) or tonumber(ARGV[2])
local rate = tonumber(b[3]) or tonumber(ARGV[3])
local available = tonumber(b[1]) or max
local at = tonumber(b[4]) or now
available = math.min(max, available + math.max(0, now - at) * rate)
"""

_ACQUIRE = (
    _REFILL
    + """
-- A call dearer than the whole bucket goes when the bucket is full (Shopify caps single
-- queries at 1000 points; a small plan's bucket can be smaller than that).
local cost = math.min(tonumber(ARGV[1]), max)
-- The later lane leaves the floor's reserve alone.
local reserve = math.min(tonumber(ARGV[5]) * rate, max * tonumber(ARGV[6]))
local need = math.min(cost + reserve + tonumber(ARGV[7]) * rate, max)
local wait = 0
if available >= need then available = available - cost else wait = (need - available) / rate end
redis.call('HSET', KEYS[1], 'available', available, 'max', max, 'rate', rate, 'at', now)
redis.call('EXPIRE', KEYS[1], ARGV[4])
return tostring(wait)
"""
)

_OBSERVE = (
    _REFILL
    + """
local reported = tonumber(ARGV[1])
max = tonumber(ARGV[5]) or max
rate = tonumber(ARGV[6]) or rate
available = math.min(available + tonumber(ARGV[7]), max)
if reported then available = math.min(available, reported) end
redis.call('HSET', KEYS[1], 'available', available, 'max', max, 'rate', rate, 'at', now)
redis.call('EXPIRE', KEYS[1], ARGV[4])
return tostring(available)
"""
)


class CostBudget:
    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._acquire = client.register_script(_ACQUIRE)
        self._observe = client.register_script(_OBSERVE)

    @staticmethod
    def key(shop: str) -> str:
        return f"clout:shopify-budget:{shop}"

    def learn(self, operation: str, requested: float) -> None:
        """Remember what Shopify last charged up front for an operation (its cost comes from the
        schema and the variables: `metafieldsSet` grows with its owners)."""
        with contextlib.suppress(redis.RedisError):
            self._client.hset(LEARNED_KEY, operation, str(requested))

    def learned(self, operation: str) -> float:
        """What Shopify last charged for `operation` (0 when it never said)."""
        with contextlib.suppress(redis.RedisError, ValueError):
            found = self._client.hget(LEARNED_KEY, operation)
            return float(found) if found is not None else 0.0
        return 0.0

    def acquire(self, shop: str, cost: float, *, lane: str = FLOOR_LANE) -> float:
        """Take `cost` points now (returns 0) or say how many seconds until they are there
        (for the later lane: there, above the floor's reserve)."""
        later = lane == LATER_LANE
        wait = self._acquire(
            keys=[self.key(shop)],
            args=[
                cost,
                DEFAULT_MAXIMUM,
                DEFAULT_RESTORE_RATE,
                _TTL_SECONDS,
                RESERVE_SECONDS if later else 0,
                RESERVE_SHARE if later else 0,
                MARGIN_SECONDS,
            ],
        )
        return float(wait)

    def observe(self, shop: str, *, throttle_status: dict[str, Any], refund: float = 0.0) -> float:
        """Correct the shared copy with what Shopify reported, never trusting more than either
        says is there; `refund` gives back the requested cost a call did not actually use."""
        return float(
            self._observe(
                keys=[self.key(shop)],
                args=[
                    _number(throttle_status.get("currentlyAvailable")),
                    DEFAULT_MAXIMUM,
                    DEFAULT_RESTORE_RATE,
                    _TTL_SECONDS,
                    _number(throttle_status.get("maximumAvailable")),
                    _number(throttle_status.get("restoreRate")),
                    max(0.0, refund),
                ],
            )
        )


def _number(value: object) -> str:
    # Lua's tonumber("") is nil: an absent figure leaves the stored one alone.
    return str(float(value)) if isinstance(value, int | float) else ""
