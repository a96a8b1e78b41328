"""What one running Clout holds: settings, database, broker, token vault, topic handlers."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx
import redis
from flask import current_app
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
from service.crypto import TokenVault

if TYPE_CHECKING:
    from service.deliveries import TopicHandler

REJECTIONS_KEY = "clout:intake:rejections"


@dataclass
class Clout:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    vault: TokenVault
    redis: redis.Redis
    handlers: dict[str, TopicHandler] = field(default_factory=dict)
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
