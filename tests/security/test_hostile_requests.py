"""Hostile requests, generated, on every route the app serves: query strings, headers and path
parameters carrying non-ASCII text, CR/LF, a trailing newline, NUL and numbers past 64 bits,
sent anonymously, with an agent's login, with a valid session token, and with a correctly
signed OAuth query or webhook body, so the hostile values reach past the first check.

Whatever arrives, the answer is never a 500, no `Content-Security-Policy` lets anything but
the shop's own admin frame a page, and no redirect leaves for a host that is not Clout's or a
`*.myshopify.com` store."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import tempfile
import time
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.shopify.oauth import sign_query
from service.shopify.shops import REVIEW_PROVIDERS, is_shop_domain
from tests.support.agents_page import BUSY_DAY, add_agent, log_in, open_case, page_csrf
from tests.support.helpers import CLIENT_ID, SECRET, SHOP, session_token, signed_review

pytestmark = pytest.mark.fuzz

# What a right request carries, each to be sent as it is, followed by something that is not,
# or replaced by anything at all.
RIGHT_QUERY = {
    "shop": SHOP, "hmac": "0" * 64, "timestamp": "1764064800", "code": "code-1",
    "state": "nonce", "host": "aG9zdA", "id_token": "TOKEN", "shopify-reload": "/app",
    "embedded": "1", "priority": "urgent", "reason": "refund", "band": "high", "overdue": "1",
    "key": "k", "jwt": "j",
}  # fmt: skip
RIGHT_HEADERS = {
    "Authorization": "Bearer TOKEN", "X-Shopify-Topic": "orders/create",
    "X-Shopify-Shop-Domain": SHOP, "X-Shopify-Webhook-Id": "3f0c2d7e-1", "X-Shopify-Event-Id": "9",
    "X-Shopify-Triggered-At": "2026-11-25T10:00:00.000Z", "X-Shopify-API-Version": "2026-07",
    "X-CSRF-Token": "CSRF", "X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https",
    "Content-Type": "application/json", "JUDGEME-HMAC-SHA256": "0" * 64, "svix-id": "msg_1",
    "svix-timestamp": "1764064800", "svix-signature": "v1,x", "X-Clout-Hmac-Sha256": "x",
    "X-Stamped-Webhook-Secret": "s", "Origin": "https://admin.shopify.com",
}  # fmt: skip
TAILS = [
    "\n", "\r\n", "\r\nSet-Cookie: evil=1", "\x00", " ", "\t", "é", "€", "\u2028", "%0a",
    ".evil.example", " https://evil.example", "/../..", "\\", "'\"<>", "٣", "0" * 30,
]  # fmt: skip
NUMBERS = [str(2**63), str(2**64 + 1), "9" * 40, "-1", "0", "1e9", "٣", "0x10", "1_000"]
anything = st.text(
    alphabet=st.characters(max_codepoint=0x2FF, exclude_categories=("Cs",)), max_size=30
)


def hostile(right: str) -> st.SearchStrategy[str]:
    """The right value, the right value with something after it, or anything."""
    return st.one_of(
        st.just(right),
        st.sampled_from(TAILS).map(lambda tail: right + tail),
        st.sampled_from(NUMBERS),
        anything,
    )


def as_header(value: str) -> str:
    # A header value as a server hands it to the app: Latin-1 text (CR/LF included, though a
    # real server refuses them: the app must not depend on that).
    return value.encode("utf-8").decode("latin-1")


@dataclass(frozen=True)
class Asked:
    """One generated request: who asks, and what they put in it."""

    who: str  # anonymous, agent (logged in) or staff (a valid session token)
    path_values: dict[str, str]
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    signed: bool  # an OAuth query or webhook body signed with the real secret


def asked(path_names: list[str]) -> st.SearchStrategy[Asked]:
    return st.builds(
        Asked,
        who=st.sampled_from(["anonymous", "agent", "staff"]),
        path_values=st.fixed_dictionaries(
            {
                name: st.sampled_from(NUMBERS)
                | hostile("7")
                | st.sampled_from(REVIEW_PROVIDERS)
                | hostile(SHOP)
                for name in path_names
            }
        ),
        query=st.fixed_dictionaries(
            {}, optional={name: hostile(right) for name, right in RIGHT_QUERY.items()}
        ),
        headers=st.fixed_dictionaries(
            {},
            optional={name: hostile(right).map(as_header) for name, right in RIGHT_HEADERS.items()},
        ),
        body=st.sampled_from([b"", b"{}", b'{"id": 1}', b"[]", b"\xff\xfe", b'{"changes": {}}']),
        signed=st.booleans(),
    )


def routes(app: Flask) -> list[tuple[str, str]]:
    return sorted(
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in {"HEAD", "OPTIONS"}
    )


def _every_route() -> list[tuple[str, str]]:
    """The app's routes, read at collection time from a Clout built for nothing else."""
    from service.app import create_app

    with tempfile.TemporaryDirectory() as scratch:
        built = create_app(
            {
                "SHOPIFY_API_SECRET": SECRET,
                "CLOUT_REDIS_URL": "redis://127.0.0.1:1/0",
                "CLOUT_DATABASE_URL": f"sqlite:///{scratch}/clout.db",
                "CLOUT_DATA_DIR": scratch,
            }
        )
        found = routes(built)
        built.extensions["clout"].engine.dispose()
        built.extensions["celery"].close()
    return found


PARAMETER = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


@dataclass
class World:
    app: Flask
    anonymous: FlaskClient
    agent: FlaskClient
    csrf: str


@pytest.fixture
def world(make_app: Any) -> World:
    """An embedded, installable Clout with a connected shop on a busy day and a logged-in
    agent: every route has something to reach."""
    app = make_app(SHOPIFY_API_KEY=CLIENT_ID)
    from tests.support.agents_page import connect_shop

    connect_shop(app, SHOP)
    for number, case in enumerate(BUSY_DAY):
        open_case(app, SHOP, case, number=number)
    add_agent(app, "agent@example.org", SHOP)
    agent = app.test_client()
    assert log_in(agent, "agent@example.org").status_code == 302
    return World(app=app, anonymous=app.test_client(), agent=agent, csrf=page_csrf(agent))


def test_the_suite_knows_every_route(app: Flask) -> None:
    # the property below is parametrized by this list: a new route joins it by itself
    assert routes(app) == _every_route()
    assert ("GET", "/app/patch-id-token") in routes(app)


def _environ(headers: dict[str, str]) -> dict[str, str]:
    # Set as a server would, so the test client's own refusal of CR/LF is not what is tested.
    environ = {}
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE",) else f"HTTP_{key}"] = value
    return environ


def _filled(request: Asked, world: World) -> Asked:
    """The placeholders made real: a valid session token, the page's CSRF token, the time."""
    live = {
        "TOKEN": session_token(),
        "CSRF": world.csrf,
        RIGHT_QUERY["timestamp"]: str(int(time.time())),
    }

    def fill(value: str) -> str:
        for placeholder, real in live.items():
            value = value.replace(placeholder, real)
        return value

    return replace(
        request,
        query={k: fill(v) for k, v in request.query.items()},
        headers={k: fill(v) for k, v in request.headers.items()},
    )


def _sign(method_path: str, request: Asked) -> tuple[dict[str, str], dict[str, str]]:
    """The query and headers, signed with the real secret when `request.signed` says so."""
    query, headers = dict(request.query), dict(request.headers)
    if not request.signed:
        return query, headers
    if method_path.startswith("GET /auth/"):
        query.setdefault("timestamp", str(int(time.time())))
        query = sign_query({k: v for k, v in query.items() if k != "hmac"}, SECRET)
    elif method_path in ("POST /webhooks/shopify", "POST /flow/actions/resolve-case"):
        digest = hmac.new(SECRET.encode(), request.body, hashlib.sha256).digest()
        headers["X-Shopify-Hmac-Sha256"] = base64.b64encode(digest).decode()
    elif method_path.startswith("POST /webhooks/reviews/"):
        provider = request.path_values.get("provider", "")
        if provider in REVIEW_PROVIDERS:
            signed_headers, signed_query = signed_review(provider, request.body)
            headers |= signed_headers
            query |= signed_query
    return query, headers


def _allowed_ancestor(source: str) -> bool:
    if source in ("'none'", "https://admin.shopify.com"):
        return True
    return source.startswith("https://") and is_shop_domain(source.removeprefix("https://"))


def _check(answer: Any) -> None:
    assert answer.status_code < 500, answer.get_data()[:300]
    policy = answer.headers.get("Content-Security-Policy")
    if policy is not None:
        ancestors = re.search(r"frame-ancestors ([^;]*)", policy)
        for source in ancestors.group(1).split() if ancestors else []:
            assert _allowed_ancestor(source), policy
    location = answer.headers.get("Location")
    if location is not None:
        host = urlsplit(location).hostname
        assert host in (None, "localhost") or is_shop_domain(host), location


@pytest.mark.parametrize(("method", "rule"), _every_route())
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_hostile_request_on_any_route_gets_a_500_or_lets_another_site_in(
    world: World, method: str, rule: str, data: st.DataObject
) -> None:
    # given a request with hostile values everywhere a sender can put one
    request = data.draw(asked(PARAMETER.findall(rule)))
    path = PARAMETER.sub(lambda m: quote(request.path_values[m.group(1)], safe=""), rule)
    query, headers = _sign(f"{method} {rule}", _filled(request, world))
    if request.who == "staff":
        headers.setdefault("Authorization", f"Bearer {session_token()}")
    client = world.agent if request.who == "agent" else world.anonymous

    # when it is sent
    answer = client.open(
        path,
        method=method,
        query_string=query,
        data=request.body,
        environ_overrides=_environ(headers),
    )

    # then the answer is a verdict, and nothing hostile reached a header that lets a site in
    try:
        _check(answer)
    finally:
        answer.close()
