"""Public-app installs (OAuth) and expiring offline tokens, against the emulator."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from flask import Flask
from sqlalchemy import select

from service.core.db import session_scope
from service.core.models import Backfill, Shop, utcnow
from service.shopify.oauth import Grant, fresh_access_token, oauth_http, sign_query, store_grant
from service.shopify.shops import find_shop
from tests.support.clout import RunningDevStore, state
from tests.support.helpers import CLIENT_ID, SECRET, SHOP, session_token
from workers.tasks import admin_factory


@pytest.fixture
def public_app(make_app: Callable[..., Flask], devstore: RunningDevStore) -> Flask:
    return make_app(SHOPIFY_API_KEY=CLIENT_ID, CLOUT_SHOPIFY_ADMIN_URL=devstore.url)


def signed(*, at: float | None = None, **params: str) -> dict[str, str]:
    """A query signed as Shopify signs it, at `at` (seconds since the epoch; now by default)."""
    moment = time.time() if at is None else at
    return sign_query({"timestamp": str(int(moment)), **params}, SECRET)


def backfills_requested(app: Flask) -> int:
    with state(app).sessions() as session:
        return len(session.scalars(select(Backfill).where(Backfill.status == "requested")).all())


def queued_tasks(app: Flask) -> list[str]:
    """The names of the tasks waiting in Clout's queue in Redis (kombu's message format)."""
    messages = state(app).redis.lrange("clout", 0, -1)
    return [json.loads(m)["headers"]["task"] for m in messages]  # type: ignore[union-attr]


def start_install(app: Flask, shop: str = SHOP) -> tuple[object, str]:
    client = app.test_client()
    response = client.get("/auth/install", query_string=signed(shop=shop))
    assert response.status_code == 302, response.json
    target = urlparse(response.headers["Location"])
    assert target.netloc == shop
    assert target.path == "/admin/oauth/authorize"
    query = parse_qs(target.query)
    assert query["client_id"] == [CLIENT_ID]
    return client, query["state"][0]


def test_an_install_ends_with_an_encrypted_working_token(
    public_app: Flask, devstore: RunningDevStore
) -> None:
    devstore.store.oauth_codes.add("code-1")
    client, nonce = start_install(public_app)

    response = client.get(  # type: ignore[attr-defined]
        "/auth/callback", query_string=signed(shop=SHOP, code="code-1", state=nonce, host="x")
    )

    assert response.status_code == 200, response.json
    assert response.json["outcome"] == "installed"
    with state(public_app).sessions() as session:
        shop = find_shop(session=session, domain=SHOP)
        assert shop is not None
        assert shop.access_token is not None
        assert b"shpat_" not in shop.access_token  # encrypted at rest
        token = state(public_app).vault.open(shop.access_token)
        assert token in devstore.store.tokens
        assert shop.access_token_expires_at is not None
        assert shop.refresh_token is not None
    # and the store's history is on its way in, in the background
    assert backfills_requested(public_app) == 1
    assert "clout.backfill" in queued_tasks(public_app)


def test_a_used_nonce_cannot_be_replayed(public_app: Flask, devstore: RunningDevStore) -> None:
    # given a completed install whose callback an attacker recorded
    devstore.store.oauth_codes.update({"code-4", "code-5"})
    client, nonce = start_install(public_app)
    first = client.get(  # type: ignore[attr-defined]
        "/auth/callback", query_string=signed(shop=SHOP, code="code-4", state=nonce, host="x")
    )

    # when the same nonce comes back with another code, in the same browser session
    replayed = client.get(  # type: ignore[attr-defined]
        "/auth/callback", query_string=signed(shop=SHOP, code="code-5", state=nonce, host="x")
    )

    # then the stale nonce is refused and no second grant is asked for
    assert first.status_code == 200
    assert replayed.status_code == 400
    assert devstore.admin.stats.token_grants == 1


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda q: {**q, "hmac": "0" * 64}, id="bad-hmac"),
        pytest.param(
            lambda q: sign_query(
                {k: v for k, v in q.items() if k != "hmac"} | {"state": "forged"}, SECRET
            ),
            id="bad-nonce",
        ),
        pytest.param(
            lambda q: sign_query(
                {k: v for k, v in q.items() if k != "hmac"} | {"shop": "other-shop.myshopify.com"},
                SECRET,
            ),
            id="foreign-shop",
        ),
        pytest.param(
            lambda q: sign_query(
                {k: v for k, v in q.items() if k != "hmac"} | {"shop": "evil.example.com"}, SECRET
            ),
            id="not-myshopify",
        ),
    ],
)
def test_a_tampered_callback_is_refused(
    public_app: Flask, devstore: RunningDevStore, tamper: Callable[[dict[str, str]], dict[str, str]]
) -> None:
    devstore.store.oauth_codes.add("code-2")
    client, nonce = start_install(public_app)
    query = signed(shop=SHOP, code="code-2", state=nonce, host="x")

    response = client.get("/auth/callback", query_string=tamper(query))  # type: ignore[attr-defined]

    assert response.status_code == 400
    assert response.json["outcome"] == "refused"
    assert devstore.admin.stats.token_grants == 0
    with state(public_app).sessions() as session:
        assert session.query(Shop).count() == 0


def test_a_callback_without_a_started_install_is_refused(
    public_app: Flask, devstore: RunningDevStore
) -> None:
    devstore.store.oauth_codes.add("code-3")

    response = public_app.test_client().get(
        "/auth/callback", query_string=signed(shop=SHOP, code="code-3", state="guess", host="x")
    )

    assert response.status_code == 400


def test_an_install_request_with_a_bad_hmac_is_refused(public_app: Flask) -> None:
    response = public_app.test_client().get(
        "/auth/install", query_string={"shop": SHOP, "timestamp": "1", "hmac": "f" * 64}
    )

    assert response.status_code == 400


@pytest.mark.parametrize("field", ["hmac", "state"])
def test_a_query_value_that_is_not_ascii_is_refused_not_a_crash(
    public_app: Flask, devstore: RunningDevStore, field: str
) -> None:
    # given an install started in this browser
    devstore.store.oauth_codes.add("code-6")
    client, nonce = start_install(public_app)
    query = signed(shop=SHOP, code="code-6", state=nonce, host="x")

    # when the callback's hmac or state is replaced by text that is not ASCII
    query = {**query, field: "é" * len(query[field])}
    if field == "state":
        query = sign_query({k: v for k, v in query.items() if k != "hmac"}, SECRET)
    callback = client.get("/auth/callback", query_string=query)  # type: ignore[attr-defined]
    install = public_app.test_client().get(
        "/auth/install", query_string={**signed(shop=SHOP), "hmac": "é" * 64}
    )

    # then both are plainly refused, and no token is asked for
    assert (callback.status_code, callback.json["outcome"]) == (400, "refused")
    assert (install.status_code, install.json["outcome"]) == (400, "refused")
    assert devstore.admin.stats.token_grants == 0


@pytest.mark.parametrize(
    "moment",
    [
        pytest.param(lambda now: now - 3600, id="an-hour-old"),
        pytest.param(lambda now: now - 301, id="just-over-five-minutes-old"),
        pytest.param(lambda now: now + 600, id="ten-minutes-ahead"),
    ],
)
def test_an_install_link_signed_outside_five_minutes_of_now_is_refused(
    public_app: Flask, moment: Callable[[float], float]
) -> None:
    # given a correctly signed install link, replayed (or from a clock far off)
    query = signed(shop=SHOP, at=moment(time.time()))

    response = public_app.test_client().get("/auth/install", query_string=query)

    assert (response.status_code, response.json["outcome"]) == (400, "refused")
    assert "timestamp" in response.json["detail"]


@pytest.mark.parametrize("timestamp", ["", "soon", "1e9", "٣", "1764064800\n"])
def test_an_install_link_without_a_usable_timestamp_is_refused(
    public_app: Flask, timestamp: str
) -> None:
    query = sign_query({"shop": SHOP, "timestamp": timestamp}, SECRET)

    response = public_app.test_client().get("/auth/install", query_string=query)

    assert (response.status_code, response.json["outcome"]) == (400, "refused")


def test_an_install_link_from_a_clock_a_little_off_is_accepted(public_app: Flask) -> None:
    for skew in (-240, 240):
        response = public_app.test_client().get(
            "/auth/install", query_string=signed(shop=SHOP, at=time.time() + skew)
        )
        assert response.status_code == 302, response.json


def test_a_callback_signed_an_hour_ago_is_refused_and_asks_for_no_token(
    public_app: Flask, devstore: RunningDevStore
) -> None:
    devstore.store.oauth_codes.add("code-7")
    client, nonce = start_install(public_app)

    response = client.get(  # type: ignore[attr-defined]
        "/auth/callback",
        query_string=signed(shop=SHOP, code="code-7", state=nonce, at=time.time() - 3600),
    )

    assert (response.status_code, response.json["outcome"]) == (400, "refused")
    assert devstore.admin.stats.token_grants == 0


def test_an_expiring_token_raced_by_two_workers_is_refreshed_once(
    public_app: Flask, devstore: RunningDevStore
) -> None:
    # given a shop whose hour-long token has just expired, with a single-use refresh token
    clout = state(public_app)
    devstore.store.refresh_tokens.add("shprt_first")
    now = utcnow()
    with session_scope(clout.sessions) as session:
        store_grant(
            session=session,
            vault=clout.vault,
            shop_domain=SHOP,
            now=now,
            grant=Grant(
                access_token="shpat_expired",
                scope="read_orders",
                expires_at=now - timedelta(minutes=1),
                refresh_token="shprt_first",
                refresh_token_expires_at=now + timedelta(days=90),
            ),
        )

    # when two workers need the token at the same moment
    def token() -> str:
        with oauth_http(clout.settings) as http:
            return fresh_access_token(
                sessions=clout.sessions,
                redis_client=clout.redis,
                settings=clout.settings,
                vault=clout.vault,
                shop_domain=SHOP,
                http=http,
            )

    with ThreadPoolExecutor(max_workers=2) as pool:
        tokens = list(pool.map(lambda _: token(), range(2)))

    # then Shopify saw one refresh, and both workers go on with the new token
    assert devstore.admin.stats.token_refreshes == 1
    assert tokens[0] == tokens[1]
    assert tokens[0] in devstore.store.tokens
    assert tokens[0] != "shpat_expired"


def test_opening_the_embedded_app_exchanges_the_session_token_for_an_offline_token(
    make_app: Callable[..., Flask], devstore: RunningDevStore
) -> None:
    devstore.admin.client_secret = SECRET
    app = make_app(SHOPIFY_API_KEY=CLIENT_ID, CLOUT_SHOPIFY_ADMIN_URL=devstore.url)

    response = app.test_client().get(
        "/app",
        query_string={"shop": SHOP, "host": "aG9zdA", "embedded": "1", "id_token": session_token()},
    )

    assert response.status_code == 200, response.get_data(as_text=True)
    page = response.get_data(as_text=True)
    assert "attention queue" in page  # the agents' page, framed by the Shopify admin
    assert (
        f"frame-ancestors https://{SHOP} https://admin.shopify.com"
        in response.headers["Content-Security-Policy"]
    )
    assert devstore.admin.stats.token_exchanges == 1
    with state(app).sessions() as session:
        shop = find_shop(session=session, domain=SHOP)
        assert shop is not None
        assert shop.access_token is not None
        assert state(app).vault.open(shop.access_token) in devstore.store.tokens
    assert backfills_requested(app) == 1
    assert "clout.backfill" in queued_tasks(app)


def test_a_forged_session_token_gets_no_token_and_no_shop(
    make_app: Callable[..., Flask], devstore: RunningDevStore
) -> None:
    app = make_app(SHOPIFY_API_KEY=CLIENT_ID, CLOUT_SHOPIFY_ADMIN_URL=devstore.url)

    response = app.test_client().get(
        "/app",
        headers={
            "Authorization": "Bearer "
            + session_token(secret="shpss_not_the_app_secret_0123456789abcdef")
        },
    )

    assert response.status_code == 401
    assert devstore.admin.stats.token_exchanges == 0
    with state(app).sessions() as session:
        assert find_shop(session=session, domain=SHOP) is None


def test_a_worker_with_an_expired_token_refreshes_it_and_goes_on(
    public_app: Flask, devstore: RunningDevStore
) -> None:
    # given an installed shop whose hour-long offline token ran out a minute ago
    clout = state(public_app)
    devstore.store.refresh_tokens.add("shprt_worker")
    now = utcnow()
    with session_scope(clout.sessions) as session:
        store_grant(
            session=session,
            vault=clout.vault,
            shop_domain=SHOP,
            now=now,
            grant=Grant(
                access_token="shpat_ran_out",
                scope="read_orders",
                expires_at=now - timedelta(minutes=1),
                refresh_token="shprt_worker",
                refresh_token_expires_at=now + timedelta(days=90),
            ),
        )

    # when a worker needs the shop's Admin API (the client is made inside a transaction, the
    # call after it ended, as attendance does)
    with clout.sessions() as session:
        shop = find_shop(session=session, domain=SHOP)
        assert shop is not None
        client = admin_factory(clout)(shop)
    answer = client.shop_info()

    # then the token was refreshed first, and the call went through with the new one
    assert answer["myshopifyDomain"] == SHOP
    assert devstore.admin.stats.token_refreshes == 1
    assert devstore.admin.stats.unauthorized == 0
