"""Every endpoint in Clout's OpenAPI description (`/openapi.json`), exercised with generated
requests by schemathesis: no answer is a 500, every status and content type is one the
description documents, and every body has the shape it documents. Webhook bodies are signed
with the real secret half of the time, so the generated payloads reach past the signature check
into parsing and recording; the agents' page API and the admin blocks are asked mostly with a
valid login (and its CSRF token) or session token, often about a case that exists, so the
generated bodies reach the desk."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import zlib
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from service.agents.desk import close_case
from service.core.db import session_scope
from service.core.models import Shop, utcnow
from service.ops import OPENAPI
from tests.support.agents_page import BUSY_DAY, Case, add_agent, log_in, open_case, page_csrf
from tests.support.clout import connect_test_shop, state
from tests.support.helpers import CLIENT_ID, REVIEW_SECRETS, SECRET, SHOP, session_token

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


# A customer whose case is closed already, for the desk's reopen to find.
SETTLED = Case("Lou Reed", "refund", "normal", "normal", 30, clout=40, klout=5, band="low")


@dataclass(frozen=True)
class Served:
    app: Flask
    cases: list[int]  # the shop's cases: open ones, then a closed one
    login: str  # the agent's session cookie, signed in once (scrypt per example is slow)
    csrf: str  # the page's CSRF token for that login


@pytest.fixture
def served(make_app: Any) -> Served:
    """An embedded Clout; the test shop with every review secret, an agent who may see it, and
    a busy day of cases (order 7000 + n and customer 9000 + n each) for the desk to act on."""
    app = make_app(SHOPIFY_API_KEY=CLIENT_ID)
    connect_test_shop(app, REVIEW_SECRETS)
    add_agent(app, "agent@example.org", SHOP)
    customers = (*BUSY_DAY, SETTLED)
    cases = [open_case(app, SHOP, case, number=n) for n, case in enumerate(customers)]
    with session_scope(state(app).sessions) as session:
        shop = session.query(Shop).filter_by(domain=SHOP).one()
        close_case(session=session, shop=shop, incident_id=cases[-1], by="cli:op", now=utcnow())
    agent = app.test_client()
    assert log_in(agent, "agent@example.org").status_code == 302
    csrf = page_csrf(agent)
    login = agent.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert login is not None
    return Served(app=app, cases=cases, login=login.value, csrf=csrf)


def _choice(case: Any, salt: str, among: int) -> int:
    """A number below `among` chosen by the generated case itself, so a replayed case chooses
    alike; `salt` keeps one choice independent of another."""
    seen = repr((salt, case.path_parameters, case.query, case.headers, case.body))
    return zlib.crc32(seen.encode()) % among


def _existing(case: Any, served: Served) -> None:
    """Most of the time, ids of cases, orders and customers the shop has, so generated bodies
    reach the desk's decisions on real cases (the rest stay as generated: no such case)."""
    parameters = dict(case.path_parameters or {})
    number = _choice(case, "which", len(served.cases))
    if _choice(case, "existing", 4):
        for name, value in (
            ("incident_id", served.cases[number]),
            ("order_id", 7000 + number),
            ("customer_id", 9000 + number),
        ):
            if name in parameters:
                parameters[name] = value
        if isinstance(case.body, dict) and isinstance(case.body.get("ids"), list):
            case.body["ids"] = served.cases[: number + 1]
    case.path_parameters = parameters


def _credentials(case: Any, client: Any, served: Served) -> dict[str, str | None]:
    """Headers that get the desk's routes past who is asking, set after any tail (the tail is
    for the values generated; None: the header not sent): mostly a login with its CSRF token,
    or a session token Shopify would mint; else the generated ones, or a token forged with
    another secret."""
    if case.path.startswith("/agents/api/"):
        # past the login, into the filters and ids
        client.set_cookie(served.app.config["SESSION_COOKIE_NAME"], served.login)
        how = _choice(case, "who", 4)
        if how in (1, 2):
            return {"HTTP_X_CSRF_TOKEN": served.csrf, "HTTP_AUTHORIZATION": None}
        if how == 3:
            return {"HTTP_AUTHORIZATION": f"Bearer {session_token()}"}
    elif case.path.startswith("/admin-blocks/api/"):
        how = _choice(case, "who", 4)
        if how == 1:
            forged = session_token(secret="a-secret-that-is-not-the-apps-0123456789")
            return {"HTTP_AUTHORIZATION": f"Bearer {forged}"}
        if how in (2, 3):
            return {"HTTP_AUTHORIZATION": f"Bearer {session_token()}"}
    return {}


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
    case: Any, served: Served
) -> None:
    client = served.app.test_client()
    # Which tail, chosen by the generated case itself (as signing is, below), so schemathesis's
    # own examples run too.
    tail = TAILS[len(repr((case.query, case.headers, case.path_parameters))) % len(TAILS)]
    _existing(case, served)
    credentials = _credentials(case, client, served)
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
        generated = _environ({k: str(v) for k, v in (case.headers or {}).items()}, tail)
        environ = {k: v for k, v in {**generated, **credentials}.items() if v is not None}
        response = client.open(
            path, method=case.method.upper(), query_string=query, environ_overrides=environ, **sent
        )
    # schemathesis re-reads the request through `requests`, which refuses the CR/LF sent here on
    # purpose: the answer is what is checked, so it is shown the request without its headers.
    response.request = Request(
        EnvironBuilder(method=case.method.upper(), path=path, query_string=query).get_environ()
    )
    try:
        case.validate_response(
            response,
            checks=[
                not_a_server_error,
                status_code_conformance,
                content_type_conformance,
                response_schema_conformance,
            ],
        )
    finally:
        response.close()
