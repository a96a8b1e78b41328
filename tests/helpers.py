"""Test helpers: signed Shopify deliveries, fixtures on disk, waiting for the worker."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

FIXTURES = Path(__file__).with_name("fixtures")
SECRET = "shpss_test_app_secret_0123456789abcdef"
OLD_SECRET = "shpss_test_secret_rotating_out_0123456789"
SHOP = "test-shop.myshopify.com"

T = TypeVar("T")


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(fixture_bytes(name))
    return value


def shopify_signature(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def shopify_headers(
    topic: str,
    body: bytes,
    *,
    secret: str | None = SECRET,
    shop: str = SHOP,
    webhook_id: str | None = None,
    triggered_at: str = "2026-11-25T10:00:00.000Z",
) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Event-Id": str(uuid.uuid4()),
        "X-Shopify-Triggered-At": triggered_at,
        "X-Shopify-API-Version": "2026-07",
    }
    if secret is not None:
        headers["X-Shopify-Hmac-Sha256"] = shopify_signature(body, secret)
    return headers


def as_body(payload: dict[str, Any] | bytes) -> bytes:
    return payload if isinstance(payload, bytes) else json.dumps(payload).encode()


def wait_for(check: Callable[[], T | None], *, timeout: float = 15.0, every: float = 0.05) -> T:
    """Poll until `check()` returns something truthy; fail with what it last returned."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")
