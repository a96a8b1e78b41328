"""Signature checks. Each runs on the raw request bytes, before any parsing, compares in
constant time, and fails closed: no secret, no header, or a malformed header is a rejection.

Shopify's own `shopifyapp.verify_webhook_req` is not used for webhooks because it takes the body
as a decoded `str` and re-encodes it (bytes that are not UTF-8 cannot be checked as sent), and it
answers a missing header with 400 where Clout's contract says 401.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence


def shopify_signature_valid(body: bytes, header: str | None, secrets: Sequence[str]) -> bool:
    """`X-Shopify-Hmac-Sha256`: base64 HMAC-SHA256 of the body, with the app's client secret or,
    during a rotation, the previous one."""
    if not header or not secrets:
        return False
    try:
        sent = base64.b64decode(header.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    valid = False
    for secret in secrets:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        # Check every secret, so the time taken does not tell which one matched.
        valid |= hmac.compare_digest(expected, sent)
    return valid
