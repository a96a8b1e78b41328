"""Public-app installs: OAuth (authorization code grant) and expiring offline tokens.

The install request and the callback are checked as Shopify documents: the query HMAC (hex, over
the sorted parameters without `hmac`), the `timestamp` within `TIMESTAMP_TOLERANCE` of now (a
signed link is not good for ever), the `state` nonce against the signed cookie that was set
when the merchant was sent to the grant screen, and the shop domain against Shopify's pattern.
Offline tokens of new public apps expire after an hour and their refresh tokens are single-use:
refreshes go through `shopifyapp.refresh_access_token` under a per-shop Redis lock, so two
workers never spend the same refresh token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import redis
from shopify_app.exchange.refresh_token import refresh_access_token
from sqlalchemy.orm import Session, sessionmaker

from service.core.config import Settings
from service.core.crypto import TokenVault, same_secret
from service.core.db import session_scope
from service.core.errors import PermanentError, TransientError
from service.core.logs import get_logger
from service.core.models import Shop, utcnow
from service.shopify.admin import ShopifyUnauthorized
from service.shopify.scopes import APP_SCOPES
from service.shopify.shops import find_shop, is_shop_domain, reconnected

log = get_logger(__name__)

SCOPES = ",".join(APP_SCOPES)
REFRESH_MARGIN = timedelta(minutes=5)
# How far a signed install or callback link's `timestamp` may be from now, either side: long
# enough for a merchant's click and a clock a little off, short enough that a link copied from
# a log or a browser history is of no use.
TIMESTAMP_TOLERANCE = timedelta(minutes=5)


class InstallRefused(Exception):
    """An install or callback request that must not be honoured; the message says why."""


def query_hmac_valid(params: Mapping[str, str], secret: str) -> bool:
    sent = params.get("hmac", "")
    message = "&".join(
        f"{k}={v}" for k, v in sorted(params.items()) if k not in {"hmac", "signature"}
    )
    expected = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
    return bool(sent) and same_secret(sent, expected)


def sign_query(params: Mapping[str, str], secret: str) -> dict[str, str]:
    """What Shopify does to the install and callback URLs (used by the emulator and tests)."""
    message = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    return {
        **params,
        "hmac": hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest(),
    }


def authorize_url(*, settings: Settings, shop: str, redirect_uri: str) -> tuple[str, str]:
    """Where to send the merchant to grant access, and the nonce to keep in a signed cookie."""
    if not settings.shopify_api_key:
        raise InstallRefused("SHOPIFY_API_KEY is not set: public-app installs need the client id")
    nonce = secrets.token_urlsafe(24)
    query = urlencode(
        {
            "client_id": settings.shopify_api_key,
            "scope": SCOPES,
            "redirect_uri": redirect_uri,
            "state": nonce,
        }
    )
    return f"https://{shop}/admin/oauth/authorize?{query}", nonce


def _fresh(timestamp: str, now: datetime) -> bool:
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    return abs(now.timestamp() - int(timestamp)) <= TIMESTAMP_TOLERANCE.total_seconds()


def check_install(params: Mapping[str, str], *, settings: Settings, now: datetime) -> str:
    shop = params.get("shop", "").lower()
    if not is_shop_domain(shop):
        raise InstallRefused("shop is not a myshopify.com domain")
    if not any(query_hmac_valid(params, s) for s in settings.webhook_secrets):
        raise InstallRefused("the request's hmac does not match")
    if not _fresh(params.get("timestamp", ""), now):
        raise InstallRefused("the request's timestamp is missing or not within 5 minutes of now")
    return shop


def check_callback(
    params: Mapping[str, str], *, settings: Settings, nonce: str | None, now: datetime
) -> str:
    shop = check_install(params, settings=settings, now=now)
    state = params.get("state", "")
    if not nonce or not state or not same_secret(state, nonce):
        raise InstallRefused("state does not match the install that was started here")
    if not params.get("code"):
        raise InstallRefused("no authorization code")
    return shop


@dataclass(frozen=True)
class Grant:
    access_token: str
    scope: str
    expires_at: datetime | None
    refresh_token: str | None
    refresh_token_expires_at: datetime | None


def _grant(body: Mapping[str, Any], now: datetime) -> Grant:
    def after(seconds: object) -> datetime | None:
        if not str(seconds).isdigit() or int(str(seconds)) <= 0:
            return None  # a non-expiring token (custom apps, older public apps)
        return now + timedelta(seconds=int(str(seconds)))

    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise PermanentError("Shopify answered without an access token")
    return Grant(
        access_token=token,
        scope=str(body.get("scope", "")),
        expires_at=after(body.get("expires_in")),
        refresh_token=body.get("refresh_token") or None,
        refresh_token_expires_at=after(body.get("refresh_token_expires_in")),
    )


class AdminUrlTransport(httpx.BaseTransport):
    """Sends every `https://{shop}.myshopify.com/...` request to CLOUT_SHOPIFY_ADMIN_URL instead,
    so Shopify's own helpers (which build that URL themselves) reach the emulator."""

    def __init__(self, base: str) -> None:
        self.base = httpx.URL(base.rstrip("/"))
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.url = self.base.copy_with(raw_path=request.url.raw_path)
        request.headers["Host"] = self.base.netloc.decode()
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def oauth_http(settings: Settings) -> httpx.Client:
    transport = (
        AdminUrlTransport(settings.shopify_admin_url) if settings.shopify_admin_url else None
    )
    return httpx.Client(timeout=httpx.Timeout(10.0, connect=3.0), transport=transport)


def exchange_code(
    *, settings: Settings, shop: str, code: str, http: httpx.Client, now: datetime
) -> Grant:
    """Authorization code → an expiring offline token (`expiring=1`)."""
    try:
        response = http.post(
            f"https://{shop}/admin/oauth/access_token",
            json={
                "client_id": settings.shopify_api_key,
                "client_secret": settings.shopify_api_secret,
                "code": code,
                "expiring": 1,
            },
        )
    except httpx.TransportError as error:
        raise TransientError("could not reach Shopify to finish the install") from error
    if response.status_code >= 500:
        raise TransientError(f"Shopify answered {response.status_code}")
    if response.status_code != 200:
        raise InstallRefused(f"Shopify refused the authorization code ({response.status_code})")
    return _grant(response.json(), now)


def store_grant(
    *, session: Session, vault: TokenVault, shop_domain: str, grant: Grant, now: datetime
) -> Shop:
    shop = find_shop(session=session, domain=shop_domain)
    if shop is None:
        shop = Shop(domain=shop_domain, installed_at=now)
        session.add(shop)
    shop.access_token = vault.seal(grant.access_token)
    shop.access_token_expires_at = grant.expires_at
    shop.refresh_token = vault.seal(grant.refresh_token) if grant.refresh_token else None
    shop.refresh_token_expires_at = grant.refresh_token_expires_at
    shop.scopes = grant.scope
    reconnected(session=session, shop=shop)
    return shop


def _needs_refresh(shop: Shop, now: datetime) -> bool:
    return (
        shop.refresh_token is not None
        and shop.access_token_expires_at is not None
        and shop.access_token_expires_at - REFRESH_MARGIN <= now
    )


def fresh_access_token(
    *,
    sessions: sessionmaker[Session],
    redis_client: redis.Redis,
    settings: Settings,
    vault: TokenVault,
    shop_domain: str,
    http: httpx.Client,
    lock_timeout: float = 30.0,
) -> str:
    """The shop's access token, refreshed first if it is about to expire.

    Refresh tokens are single-use: the refresh happens under a per-shop lock, and whoever waited
    for the lock re-reads the row and finds the token the first one stored."""
    with session_scope(sessions) as session:
        shop = find_shop(session=session, domain=shop_domain)
        if shop is None or shop.access_token is None:
            raise PermanentError(f"{shop_domain} is not connected")
        if not _needs_refresh(shop, utcnow()):
            return vault.open(shop.access_token)
    lock = redis_client.lock(
        f"clout:token-refresh:{shop_domain}", timeout=lock_timeout, blocking_timeout=lock_timeout
    )
    if not lock.acquire():
        raise TransientError("another worker is still refreshing this shop's token")
    try:
        with session_scope(sessions) as session:
            shop = find_shop(session=session, domain=shop_domain)
            if shop is None or shop.access_token is None:
                raise PermanentError(f"{shop_domain} is not connected")
            if not _needs_refresh(shop, utcnow()):
                return vault.open(shop.access_token)  # someone else refreshed while we waited
            if shop.refresh_token is None:
                raise PermanentError(f"{shop_domain} has no refresh token: reinstall needed")
            current = {
                "shop": shop_domain.removesuffix(".myshopify.com"),
                "refresh_token": vault.open(shop.refresh_token),
                "expires": _iso(shop.access_token_expires_at),
                "refresh_token_expires": _iso(shop.refresh_token_expires_at),
                "access_mode": "offline",
            }
            result = refresh_access_token(
                current,
                {
                    "client_id": settings.shopify_api_key or "",
                    "client_secret": settings.shopify_api_secret,
                    "old_client_secret": None,
                },
                http_client=http,
            )
            if not result.ok or result.access_token is None:
                status = result.response.status if result.response else 0
                log.warning("token_refresh_failed", shop=shop_domain, code=result.log.code)
                if status >= 500 or status == 0:
                    raise TransientError("Shopify could not refresh the token just now")
                if status == 401:
                    # invalid_grant, refresh_token_expired: Shopify no longer takes the grant
                    # (after an uninstall it revokes the refresh token with the access token).
                    # Said as a refused token, so `prepare.still_installed` believes it.
                    raise ShopifyUnauthorized(
                        f"token refresh refused ({result.log.code}): reinstall needed"
                    )
                raise PermanentError(f"token refresh refused ({result.log.code}): reinstall needed")
            fresh = result.access_token
            shop.access_token = vault.seal(fresh.token)
            shop.access_token_expires_at = _parse(fresh.expires)
            shop.refresh_token = vault.seal(fresh.refresh_token) if fresh.refresh_token else None
            shop.refresh_token_expires_at = _parse(fresh.refresh_token_expires)
            log.info("token_refreshed", shop=shop_domain)
            return str(fresh.token)
    finally:
        lock.release()


def _iso(value: datetime | None) -> str:
    return value.isoformat().replace("+00:00", "Z") if value else ""


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
