"""Every endpoint in Clout's OpenAPI description (`/openapi.json`), exercised with generated
requests by schemathesis: no answer is a 500, every status and content type is one the
description documents. Webhook bodies are signed with the real secret half of the time, so the
generated payloads reach past the signature check into parsing and recording."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance

from service.core.models import Shop
from service.ops import OPENAPI
from tests.support.agents_page import add_agent, log_in
from tests.support.helpers import REVIEW_SECRETS, SECRET, SHOP

pytestmark = pytest.mark.openapi

schema = schemathesis.openapi.from_path(str(OPENAPI))
TOPICS = (
    "orders/create",
    "refunds/create",
    "disputes/create",
    "customers/redact",
    "orders/updated",
)


@pytest.fixture
def served(app: Flask, review_shop: Shop) -> Flask:
    """The test shop with every review secret, and an agent who may see it."""
    add_agent(app, "agent@example.org", SHOP)
    return app


def test_the_description_clout_serves_is_the_one_tested(client: Any) -> None:
    served_description = client.get("/openapi.json")
    assert served_description.json == json.loads(OPENAPI.read_text())


def _raw(body: Any) -> bytes:
    if body is schemathesis.core.NOT_SET:
        return b""
    if isinstance(body, bytes):
        return body
    return json.dumps(body).encode()


def _signed(case: Any, body: bytes) -> dict[str, str]:
    headers = {k: str(v) for k, v in (case.headers or {}).items()}
    headers["Content-Type"] = "application/json"
    if len(body) % 2 == 0:  # half of them: a forged or missing signature stays as generated
        return headers
    if case.path == "/webhooks/shopify":
        digest = hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
        headers["X-Shopify-Hmac-Sha256"] = base64.b64encode(digest).decode()
        # A connected shop and a topic Clout handles: the body goes on to be recorded.
        headers["X-Shopify-Shop-Domain"] = SHOP
        headers["X-Shopify-Topic"] = TOPICS[len(body) % len(TOPICS)]
        headers["X-Shopify-Webhook-Id"] = headers.get("X-Shopify-Webhook-Id") or "generated"
    elif (case.path_parameters or {}).get("provider") == "generic":
        digest = hmac.new(REVIEW_SECRETS["generic"].encode(), body, hashlib.sha256).digest()
        headers["X-Clout-Hmac-Sha256"] = base64.b64encode(digest).decode()
    return headers


@schema.parametrize()
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_generated_request_gets_a_500_or_an_undocumented_answer(
    case: Any, served: Flask
) -> None:
    client = served.test_client()
    if case.path.startswith("/agents/"):
        log_in(client, "agent@example.org")  # past the login, into the filters and ids
    if case.path.startswith("/webhooks/reviews/") and len(_raw(case.body)) % 2:
        case.path_parameters = {**(case.path_parameters or {}), "shop_domain": SHOP}
    path = case.formatted_path
    if case.method.upper() == "POST" and case.path.startswith("/webhooks/"):
        body = _raw(case.body)
        response = client.post(
            path, data=body, headers=_signed(case, body), query_string=case.query or {}
        )
    else:
        response = client.open(
            path,
            method=case.method.upper(),
            headers={k: str(v) for k, v in (case.headers or {}).items()},
            query_string=case.query or {},
        )
    try:
        case.validate_response(
            response,
            checks=[not_a_server_error, status_code_conformance, content_type_conformance],
        )
    finally:
        response.close()
