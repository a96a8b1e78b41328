"""Hostile input, generated: every signature check and every payload parser is fed what an
attacker or a broken sender could send. Each must answer with a verdict (or a documented
refusal), never an unexpected exception, and a check must accept only what the secret signed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from service.core.errors import PermanentError
from service.shopify.payloads import parse_time
from service.shopify.shops import REVIEW_PROVIDERS
from service.signals.platforms import NORMALISERS, loads_lenient
from webhooks.review_verify import VERIFIERS, Request
from webhooks.shopify import parse_json_object
from webhooks.verify import shopify_signature_valid

pytestmark = pytest.mark.fuzz

# Header values as a WSGI server hands them over: any text, Latin-1 included.
header_text = st.text(alphabet=st.characters(max_codepoint=0xFF, exclude_categories=("Cs",)))
secrets = st.text(min_size=1, max_size=64).filter(lambda s: s.strip() != "")
json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=25,
)
# Keys the normalisers look for, so generated objects reach past the first `.get()`.
REVIEW_KEYS = [
    "review", "reviewer", "rating", "score", "stars", "title", "body", "content", "email",
    "name", "product", "product_id", "order_id", "reviews", "event", "topic", "data", "id",
    "customer", "created_at", "updated_at", "verified", "consumer", "type",
]  # fmt: skip
review_like = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(REVIEW_KEYS) | st.text(max_size=8), inner, max_size=6)
    ),
    max_leaves=30,
)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(body=st.binary(max_size=512), header=st.none() | header_text, secret=secrets)
@example(body=b"{}", header="é" * 44, secret="s")
def test_the_shopify_check_gives_a_verdict_for_anything_and_accepts_only_the_signature(
    body: bytes, header: str | None, secret: str
) -> None:
    right = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()

    assert shopify_signature_valid(body, header, [secret]) is (
        header is not None and header.strip() == right
    )
    assert shopify_signature_valid(body, right, [secret])
    assert not shopify_signature_valid(body + b"x", right, [secret])
    assert not shopify_signature_valid(body, right, [])  # no secret configured: closed


def _request(headers: dict[str, str], args: dict[str, str], body: bytes) -> Request:
    return Request(body=body, headers={k.lower(): v for k, v in headers.items()}, args=args)


SIGNATURE_HEADERS = [
    "JUDGEME-HMAC-SHA256", "svix-id", "svix-timestamp", "svix-signature", "webhook-signature",
    "X-Stamped-Webhook-Secret", "X-Secret-Key", "X-Clout-Hmac-Sha256", "X-Clout-Key",
]  # fmt: skip


@FUZZ
@given(
    provider=st.sampled_from(sorted(VERIFIERS)),
    headers=st.dictionaries(st.sampled_from(SIGNATURE_HEADERS), header_text, max_size=4),
    args=st.dictionaries(st.sampled_from(["key", "jwt"]), header_text, max_size=2),
    body=st.binary(max_size=256),
    secret=secrets,
)
@example(provider="judgeme", headers={"JUDGEME-HMAC-SHA256": "é"}, args={}, body=b"{}", secret="s")
def test_every_review_platform_check_gives_a_verdict_for_anything(
    provider: str, headers: dict[str, str], args: dict[str, str], body: bytes, secret: str
) -> None:
    verdict = VERIFIERS[provider](_request(headers, args, body), secret)

    assert verdict in (True, False)
    if verdict:
        # Only a request carrying the secret, or a signature made with it, can pass.
        carried = " ".join([*headers.values(), *args.values()])
        assert secret in carried or provider in ("judgeme", "okendo", "fera", "generic")


@FUZZ
@given(body=st.binary(max_size=256), secret=st.text(alphabet="abcdef0123456789", min_size=8))
def test_a_signed_review_passes_and_a_changed_body_does_not(body: bytes, secret: str) -> None:
    hex_signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    b64_signature = base64.b64encode(bytes.fromhex(hex_signature)).decode()

    judgeme = _request({"JUDGEME-HMAC-SHA256": hex_signature}, {}, body)
    generic = _request({"X-Clout-Hmac-Sha256": b64_signature}, {}, body)
    assert VERIFIERS["judgeme"](judgeme, secret)
    assert VERIFIERS["generic"](generic, secret)
    assert not VERIFIERS["judgeme"](_request(dict(judgeme.headers), {}, body + b" "), secret)
    assert not VERIFIERS["generic"](_request(dict(generic.headers), {}, body + b" "), secret)


@FUZZ
@given(raw=st.binary(max_size=512))
@example(raw=b"[" * 5000)
@example(raw=b'{"a": 1,}')
@example(raw=b"\xff\xfe{}")
def test_body_parsers_answer_a_dict_or_none_or_a_value_error(raw: bytes) -> None:
    parsed = parse_json_object(raw)
    assert parsed is None or isinstance(parsed, dict)
    try:
        lenient = loads_lenient(raw)
    except (ValueError, RecursionError):
        return
    json.dumps(lenient)  # what it returns is plain JSON data


@FUZZ
@given(provider=st.sampled_from(sorted(NORMALISERS)), payload=review_like)
def test_every_review_normaliser_reads_any_json_or_refuses_it_plainly(
    provider: str, payload: Any
) -> None:
    if not isinstance(payload, dict):
        payload = {"review": payload}
    try:
        reviews = NORMALISERS[provider](payload)
    except PermanentError:
        return
    for review in reviews:
        assert review.rating is None or 0 <= review.rating <= 5
        assert isinstance(review.platform_review_id, str)  # empty: refused when recorded


@FUZZ
@given(value=json_value)
@example(value="9999-12-31T23:59:59-23:59")
@example(value="0001-01-01T00:00:00+23:59")
def test_shopify_times_parse_or_are_unknown(value: Any) -> None:
    parsed = parse_time(value)
    assert parsed is None or parsed.tzinfo is not None


def test_every_review_platform_clout_accepts_has_a_verifier_and_a_normaliser() -> None:
    # the properties above cover every platform only if the tables are complete
    assert set(VERIFIERS) == set(NORMALISERS) == set(REVIEW_PROVIDERS)
