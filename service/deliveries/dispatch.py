"""Who is served next: the floor first, then new deliveries, then best-effort work, and within
each, shop after shop — so one shop's burst never stands in front of another shop's single
unhappy customer.

Work is queued in Redis per lane and per shop (`FairQueue`); Celery carries only tokens
(`clout.work`, one per unit queued), and a worker holding a token takes the next unit by these
rules: the first lane with work, and in it the shop whose turn it is (each shop goes to the back
of the lane's ring after one unit). Tokens are interchangeable, so a backlog of 500 in one shop
is 500 tokens that each serve whichever shop is next.

The database stays the record of what must be done (a delivery's status, an incident's
`needs_attention` and `later_due_at`): a unit lost with Redis, or taken by a worker that then
died, is queued again by the sweeper. A unit already queued is not queued twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import redis
from kombu.transport.redis import PRIORITY_STEPS
from kombu.transport.redis import Channel as KombuRedis

from service.core.logs import get_logger

log = get_logger(__name__)

FLOOR = "floor"  # attend an incident: its attention tag, priority and deadline in Shopify
DELIVERY = "delivery"  # process a delivery that has arrived
LATER = "later"  # an incident's best-effort work: read-back, drift repair, metafields, Flow
LANES: tuple[str, ...] = (FLOOR, DELIVERY, LATER)  # served in this order
WORK_TASK = "clout.work"
# Tokens wait behind everything else on the queue. On Redis, kombu keeps one list per priority
# step and a worker takes from 0 (the default, where the beat's tasks go) before 6: in a
# backlog of 1,443 units the beat's escalations, pending alerts and sweeps otherwise waited up
# to ~160 s behind the tokens (one token per unit: nothing left to trim but the order).
WORK_PRIORITY = 6
PREFIX = "clout:fair"

# KEYS: the lane's ring of shops, its set of shops in the ring, its set of queued units, the
# shop's list. ARGV: shop, unit.
_PUSH = """
if redis.call('SADD', KEYS[3], ARGV[2]) == 0 then return 0 end
redis.call('RPUSH', KEYS[4], ARGV[2])
if redis.call('SADD', KEYS[2], ARGV[1]) == 1 then redis.call('RPUSH', KEYS[1], ARGV[1]) end
return 1
"""

# ARGV: the key prefix, then the lanes in the order they are served.
_POP = """
local prefix = ARGV[1]
for i = 2, #ARGV do
  local lane = prefix .. ':' .. ARGV[i]
  while true do
    local shop = redis.call('LPOP', lane .. ':ring')
    if not shop then break end
    local list = lane .. ':q:' .. shop
    local unit = redis.call('LPOP', list)
    if redis.call('LLEN', list) > 0 then
      redis.call('RPUSH', lane .. ':ring', shop)
    else
      redis.call('SREM', lane .. ':shops', shop)
    end
    if unit then
      redis.call('SREM', lane .. ':queued', unit)
      return {ARGV[i], shop, unit}
    end
  end
end
return false
"""


@dataclass(frozen=True)
class Unit:
    lane: str
    shop: str
    item: int


class FairQueue:
    def __init__(self, client: redis.Redis, *, prefix: str = PREFIX) -> None:
        self.client = client
        self.prefix = prefix
        self._push = client.register_script(_PUSH)
        self._pop = client.register_script(_POP)

    def _keys(self, lane: str, shop: str) -> list[str]:
        base = f"{self.prefix}:{lane}"
        return [f"{base}:ring", f"{base}:shops", f"{base}:queued", f"{base}:q:{shop}"]

    def push(self, *, lane: str, shop: str, item: int) -> bool:
        """Queue a unit for `shop`; False when it is queued already."""
        if lane not in LANES:
            raise ValueError(f"no lane {lane!r}")
        return bool(self._push(keys=self._keys(lane, shop), args=[shop, str(item)]))

    def pop(self, lanes: Sequence[str] = LANES) -> Unit | None:
        """The next unit: the first lane with work, the shop whose turn it is."""
        found = self._pop(keys=[], args=[self.prefix, *lanes])
        if not found:
            return None
        lane, shop, item = (v.decode() if isinstance(v, bytes) else str(v) for v in found)
        return Unit(lane=lane, shop=shop, item=int(item))

    def depth(self) -> dict[str, int]:
        """Units waiting per lane (for /metrics)."""
        return {lane: int(self.client.scard(f"{self.prefix}:{lane}:queued")) for lane in LANES}


class Enqueuer(Protocol):
    def send_task(self, name: str, args: Any = ..., **options: Any) -> Any: ...


def fair_queue_of(celery: object) -> FairQueue | None:
    """The fair queue a Clout Celery app carries (None for anything else)."""
    fair = getattr(celery, "fair", None)
    return fair if isinstance(fair, FairQueue) else None


def ring(
    *, celery: Enqueuer, queue: str, lane: str, shop: str, item: int, direct_task: str
) -> bool:
    """Queue one unit fairly and send a token for it. Without a fair queue (a bare Celery app)
    the unit's own task is sent instead. False when Redis is unreachable: the database row is
    the record, and the sweeper rings again."""
    fair = fair_queue_of(celery)
    try:
        if fair is None:
            celery.send_task(direct_task, args=[item], queue=queue, retry=False)
            return True
        if fair.push(lane=lane, shop=shop, item=item):
            celery.send_task(WORK_TASK, queue=queue, retry=False, priority=WORK_PRIORITY)
        # A unit queued already has its token. One that lost it (a process died between the
        # push and the publish) gets it back at the sweeper's `top_up_tokens`: a token per
        # ring instead put 28,900 empty tokens in front of the beat's own tasks in a backlog
        # of 532 units swept every 10 s.
    except Exception as error:  # noqa: BLE001 - any broker failure means the same: ring later
        log.warning("enqueue_failed", lane=lane, item=item, error=type(error).__name__)
        return False
    return True


def broker_lists(queue: str) -> list[str]:
    """The Redis lists kombu keeps `queue`'s waiting messages in, one per priority step."""
    return [queue, *(f"{queue}{KombuRedis.sep}{step}" for step in PRIORITY_STEPS if step)]


def waiting_in_broker(client: redis.Redis, queue: str) -> int:
    """Messages waiting on `queue`, every priority (for /metrics and the doctor)."""
    with client.pipeline() as pipe:
        for key in broker_lists(queue):
            pipe.llen(key)
        return sum(int(n) for n in pipe.execute())


def top_up_tokens(*, celery: Any, queue: str, most: int = 5000) -> int:
    """Send a token for each unit queued without one, at most `most` (the next sweep sends the
    rest); how many were sent. Every message waiting on `queue` is counted as a token, so this
    never sends one too many for long: a unit short of a token gets it once the messages ahead
    of it have been taken."""
    fair = fair_queue_of(celery)
    if fair is None:
        return 0
    try:
        units = sum(fair.depth().values())
        if not units:
            return 0
        with celery.connection_or_acquire() as connection:
            declared = connection.default_channel.queue_declare(queue=queue)
        waiting = int(declared.message_count)
        missing = min(units - waiting, most)
        for _ in range(missing):
            celery.send_task(WORK_TASK, queue=queue, retry=False, priority=WORK_PRIORITY)
    except Exception as error:  # noqa: BLE001 - any broker failure: the next sweep tops up
        log.warning("tokens_not_topped_up", error=type(error).__name__)
        return 0
    if missing > 0:
        log.info("tokens_topped_up", sent=missing, units=units)
    return max(missing, 0)
