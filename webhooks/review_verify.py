"""Each review platform's proof that a delivery is its own, checked as the platform documents it
(../shared/research/reviews.md).

Judge.me signs the raw body with hex HMAC-SHA256 (`JUDGEME-HMAC-SHA256`); Okendo uses Svix-style
signatures (`svix-id`, `svix-timestamp`, `svix-signature`); Fera puts a one-hour HS256 JWT in
`?jwt=`; Stamped echoes a shared secret in `X-Stamped-Webhook-Secret`. Yotpo, REVIEWS.io,
Trustpilot and Loox document no signature we can check: their URL carries the shop's
unguessable secret (`?key=SECRET`). The `generic` shape is signed like Shopify's webhooks
(`X-Clout-Hmac-Sha256`, base64 HMAC-SHA256 of the body) or carries `?key=`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import jwt
from standardwebhooks.webhooks import Webhook

SVIX_TOLERANCE_SECONDS = 300


@dataclass(frozen=True)
class Request:
    body: bytes
    headers: Mapping[str, str]  # names in lower case
    args: Mapping[str, str]


def _header(request: Request, *names: str) -> str:
    for name in names:
        value = request.headers.get(name.lower())
        if value:
            return value.strip()
    return ""


def _key_matches(request: Request, secret: str) -> bool:
    sent = request.args.get("key", "") or _header(request, "X-Clout-Key")
    return bool(sent) and hmac.compare_digest(sent.encode(), secret.encode())


def verify_judgeme(request: Request, secret: str) -> bool:
    sent = _header(request, "JUDGEME-HMAC-SHA256", "X-Judgeme-Hmac-Sha256", "Judgeme-Hmac-Sha256")
    expected = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    # Bytes, not str: compare_digest raises on non-ASCII text, and a header can carry any.
    return bool(sent) and hmac.compare_digest(expected.encode(), sent.lower().encode())


def verify_okendo(request: Request, secret: str) -> bool:
    headers = {
        "webhook-id": _header(request, "svix-id", "webhook-id"),
        "webhook-timestamp": _header(request, "svix-timestamp", "webhook-timestamp"),
        "webhook-signature": _header(request, "svix-signature", "webhook-signature"),
    }
    try:
        Webhook(secret).verify(request.body, headers, json_parse=False)
    except Exception:  # noqa: BLE001 - any failure to verify is a rejection (fail closed)
        return False
    return True


def verify_fera(request: Request, secret: str) -> bool:
    token = request.args.get("jwt", "")
    if not token:
        return False
    try:
        jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp"]})
    except jwt.PyJWTError:
        return False
    return True


def verify_stamped(request: Request, secret: str) -> bool:
    sent = _header(request, "X-Stamped-Webhook-Secret", "X-Secret-Key")
    return bool(sent) and hmac.compare_digest(sent.encode(), secret.encode())


def verify_generic(request: Request, secret: str) -> bool:
    sent = _header(request, "X-Clout-Hmac-Sha256")
    if sent:
        try:
            digest = base64.b64decode(sent, validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(
            hmac.new(secret.encode(), request.body, hashlib.sha256).digest(), digest
        )
    return _key_matches(request, secret)


def verify_key(request: Request, secret: str) -> bool:
    return _key_matches(request, secret)


VERIFIERS: dict[str, Callable[[Request, str], bool]] = {
    "judgeme": verify_judgeme,
    "okendo": verify_okendo,
    "fera": verify_fera,
    "stamped": verify_stamped,
    "generic": verify_generic,
    "yotpo": verify_key,
    "reviewsio": verify_key,
    "trustpilot": verify_key,
    "loox": verify_key,
}


def delivery_key(provider: str, request: Request, *, shop: str) -> str:
    """What makes a delivery unique: the platform's delivery id where it sends one (a signed
    Svix id), Fera's one-use token, else the body itself (a redelivered body is the same
    delivery) — each within the shop it was sent to, so the same body sent to two shops is a
    delivery for each, and neither answer names the other's. Stored unique per platform, for as
    long as deliveries are kept: the replay store, which no Redis outage can empty."""
    if provider == "okendo":
        svix_id = _header(request, "svix-id", "webhook-id")
        if svix_id:
            return "svix:" + _digest(shop, svix_id.encode())
    if provider == "fera":
        # Fera's token rides in the URL and signs no body: whoever sees one could send any body
        # with it until it expires. Each token vouches for one delivery — the first to arrive
        # with it; any later body with the same token is a duplicate, never a new review.
        token = request.args.get("jwt", "")
        if token:
            return "fera-jwt:" + _digest(shop, token.encode())
    return "sha256:" + _digest(shop, request.body)


def _digest(shop: str, value: bytes) -> str:
    return hashlib.sha256(shop.encode() + b"\n" + value).hexdigest()
