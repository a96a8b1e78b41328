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
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from service.ops import OPENAPI
from tests.support.agents_page import add_agent, log_in
from tests.support.clout import connect_test_shop
from tests.support.helpers import CLIENT_ID, REVIEW_SECRETS, SECRET, SHOP

pytestmark = pytest.mark.openapi

schema = schemathesis.openapi.from_path(str(OPENAPI))
TOPICS = (
    "orders/create",
    "refunds/create",
    "disputes/create",
    "customers/redact",
    "orders/updated",
)


# What a sender can append to any value (the last: past 64 bits, for ids).
TAILS = ["", "\n", "\r\n", "\x00", "é", "€", " ", "99999999999999999999"]


@pytest.fixture
def served(make_app: Any) -> Flask:
    """An embedded Clout; the test shop with every review secret, and an agent who may see it."""
    app = make_app(SHOPIFY_API_KEY=CLIENT_ID)
    connect_test_shop(app, REVIEW_SECRETS)
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


def _with_tail(values: Any, tail: str) -> dict[str, Any]:
    return {k: f"{v}{tail}" if isinstance(v, str | int) else v for k, v in (values or {}).items()}


def _environ(headers: dict[str, str], tail: str) -> dict[str, str]:
    # Set as a server would, so the test client's own refusal of CR/LF is not what is tested.
    environ = {}
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        latin1 = f"{value}{tail}".encode().decode("latin-1")
        environ[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = latin1
    return environ


def _signed(case: Any, body: bytes) -> dict[str, str]:
    headers = {k: str(v) for k, v in (case.headers or {}).items()}
    headers["Content-Type"] = "application/json"
    if len(body) % 2 == 0:  # half of them: a forged or missing signature stays as generated
        return headers
    if case.path == "/flow/actions/resolve-case":
        digest = hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
        headers["X-Shopify-Hmac-Sha256"] = base64.b64encode(digest).decode()
    elif case.path == "/webhooks/shopify":
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
    # Which tail, chosen by the generated case itself (as signing is, below), so schemathesis's
    # own examples run too.
    tail = TAILS[len(repr((case.query, case.headers, case.path_parameters))) % len(TAILS)]
    if case.path.startswith("/agents/api/"):
        log_in(client, "agent@example.org")  # past the login, into the filters and ids
    if case.path.startswith("/webhooks/reviews/") and len(_raw(case.body)) % 2:
        case.path_parameters = {**(case.path_parameters or {}), "shop_domain": SHOP}
    path = case.formatted_path
    query = _with_tail(case.query, tail)
    if case.method.upper() == "POST" and case.path.startswith(("/webhooks/", "/flow/actions/")):
        body = _raw(case.body)
        headers = _signed(case, body)
        # the signed half keeps Shopify's headers whole, so its bodies reach recording
        headers_tail = tail if len(body) % 2 == 0 else ""
        response = client.post(
            path,
            data=body,
            query_string=query,
            environ_overrides=_environ(headers, headers_tail),
        )
    else:
        sent: dict[str, Any] = {}
        if isinstance(case.body, bytes):
            sent["data"] = case.body
        elif case.media_type == "application/json" and case.body is not schemathesis.core.NOT_SET:
            sent["json"] = case.body
        elif case.media_type == "application/x-www-form-urlencoded" and isinstance(case.body, dict):
            sent["data"] = _with_tail(case.body, tail)
        response = client.open(
            path,
            method=case.method.upper(),
            query_string=query,
            environ_overrides=_environ({k: str(v) for k, v in (case.headers or {}).items()}, tail),
            **sent,
        )
    # schemathesis re-reads the request through `requests`, which refuses the CR/LF sent here on
    # purpose: the answer is what is checked, so it is shown the request without its headers.
    response.request = Request(
        EnvironBuilder(method=case.method.upper(), path=path, query_string=query).get_environ()
    )
    try:
        case.validate_response(
            response,
            checks=[not_a_server_error, status_code_conformance, content_type_conformance],
        )
    finally:
        response.close()
