"""Test helpers: signed Shopify deliveries, fixtures on disk, waiting for the worker."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import jwt

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SECRET = "shpss_test_app_secret_0123456789abcdef"
OLD_SECRET = "shpss_test_secret_rotating_out_0123456789"
SHOP = "test-shop.myshopify.com"
CLIENT_ID = "clout-dev-client-id"  # the app's client id (SHOPIFY_API_KEY) in embedded tests

T = TypeVar("T")


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(fixture_bytes(name))
    return value


def sample_file(topic: str) -> str:
    """The file under tests/fixtures/shopify/ holding Shopify's sample for `topic`
    (`customer.tags_added` → `customer_tags_added.json`)."""
    return topic.replace("/", "_").replace(".", "_") + ".json"


def shopify_sample(name: str, *, shop: str = SHOP) -> dict[str, Any]:
    """Shopify's published sample as Shopify sends it to `shop`: the samples name a placeholder
    shop (`{shop}.myshopify.com`) or none (the uninstalled Shop's `myshopify_domain` is null),
    where a real delivery names the shop it is about — which Clout checks."""
    value = fixture_json(name)
    if value.get("shop_domain") == "{shop}.myshopify.com":
        value["shop_domain"] = shop
    if "myshopify_domain" in value and value["myshopify_domain"] is None:
        value["myshopify_domain"] = shop
    return value


def a_refund_sample(
    refund_id: int,
    *,
    order_id: int,
    note: str | None = None,
    moved: list[tuple[str, str]] | tuple[tuple[str, str], ...] = (),
    line_items: int = 1,
    shipping: str | None = None,
) -> dict[str, Any]:
    """Shopify's published refunds/create sample for one order: its first `line_items` lines,
    `moved` the refund transactions as (amount, status), `shipping` a refunded shipping line."""
    refund = fixture_json("shopify/refunds_create.json")
    refund.update(
        id=refund_id,
        admin_graphql_api_id=f"gid://shopify/Refund/{refund_id}",
        order_id=order_id,
        note=note,
    )
    refund["refund_line_items"] = refund["refund_line_items"][:line_items]
    refund["refund_shipping_lines"] = (
        [{"id": 1, "amount": shipping, "subtotal_amount_set": {"shop_money": {"amount": shipping}}}]
        if shipping
        else []
    )
    refund["transactions"] = [
        {**refund["transactions"][0], "amount": amount, "status": status, "currency": None}
        for amount, status in moved
    ]
    return refund


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


REVIEW_SECRETS = {
    "judgeme": "jm-private-api-token-0123456789abcdef",
    "okendo": "whsec_" + base64.b64encode(b"okendo-signing-key-0123456789ab").decode(),
    "fera": "fera-store-secret-key-0123456789abcdef",
    "stamped": "stamped-shared-secret",
    "yotpo": "yotpo-url-key-0123456789",
    "reviewsio": "reviewsio-url-key-0123456789",
    "trustpilot": "trustpilot-url-key-0123456789",
    "loox": "loox-url-key-0123456789",
    "generic": "generic-secret-0123456789abcdef0123",
}


def signed_review(
    provider: str, body: bytes, *, secret: str | None = None, at: float | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """(headers, query) for a review platform's delivery, signed the way that platform signs."""
    import jwt
    from standardwebhooks.webhooks import Webhook

    key = secret if secret is not None else REVIEW_SECRETS[provider]
    headers = {"Content-Type": "application/json"}
    query: dict[str, str] = {}
    if provider == "judgeme":
        headers["JUDGEME-HMAC-SHA256"] = hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
    elif provider == "okendo":
        moment = at if at is not None else time.time()
        svix_id = "msg_" + uuid.uuid4().hex
        from datetime import UTC, datetime

        signature = Webhook(key).sign(svix_id, datetime.fromtimestamp(moment, UTC), body.decode())
        headers |= {
            "svix-id": svix_id,
            "svix-timestamp": str(int(moment)),
            "svix-signature": signature,
        }
    elif provider == "fera":
        moment = at if at is not None else time.time()
        claims = {
            "webhook_id": "wh_" + uuid.uuid4().hex[:8],
            "event_name": "review_create",
            "store_domain": SHOP,
            "exp": int(moment) + 3600,
        }
        query["jwt"] = jwt.encode(claims, key, algorithm="HS256")
    elif provider == "stamped":
        headers["X-Stamped-Webhook-Secret"] = key
    elif provider == "generic":
        headers["X-Clout-Hmac-Sha256"] = base64.b64encode(
            hmac.new(key.encode(), body, hashlib.sha256).digest()
        ).decode()
    else:
        query["key"] = key
    return headers, query


def session_token(
    *,
    secret: str = SECRET,
    shop: str = SHOP,
    audience: str = CLIENT_ID,
    user_id: str = "42",
    lifetime: int = 60,
) -> str:
    """An App Bridge session token as the Shopify admin mints it (HS256 with the app secret)."""
    now = int(time.time())
    claims = {
        "iss": f"https://{shop}/admin",
        "dest": f"https://{shop}",
        "aud": audience,
        "sub": user_id,
        "exp": now + lifetime,
        "nbf": now - 5,
        "iat": now,
        "jti": str(uuid.uuid4()),
        "sid": "session-1",
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def at_once(*actions: Callable[[], Any]) -> list[Any]:
    """Each action in a thread of its own, released together (two workers, two agents at the
    same moment): their answers, or the name of what each raised."""
    start = threading.Barrier(len(actions))
    answers: list[Any] = [None] * len(actions)

    def run(n: int, action: Callable[[], Any]) -> None:
        start.wait()
        try:
            answers[n] = action()
        except Exception as error:  # noqa: BLE001 - what a worker would log; asserted on
            answers[n] = type(error).__name__

    threads = [threading.Thread(target=run, args=(n, a)) for n, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers
