"""The embedded app inside the Shopify admin: App Bridge session tokens and token exchange.

The app's home page itself (`/app`) is the agents' page, in `service.agents.views`.

Every request from the admin carries a session token (an HS256 JWT signed with the app secret,
one minute long) which `shopifyapp.verify_app_home_req` checks. The first time a shop opens
the app, that token is exchanged for an expiring offline access token (Shopify's recommended
install for embedded apps), stored encrypted like any other.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request
from shopify_app.exchange.token_exchange import token_exchange
from shopify_app.helpers.app_home_patch_id_token import app_home_patch_id_token
from shopify_app.types import AppConfig

from service.core.db import session_scope
from service.core.logs import get_logger
from service.core.models import utcnow
from service.core.state import Clout, clout_state
from service.core.vocabulary import ShopStatus
from service.shopify.history import request_on_connect, ring_backfill, ring_workspace
from service.shopify.oauth import Grant, _parse, oauth_http, store_grant
from service.shopify.shops import find_shop, is_shop_domain

log = get_logger(__name__)
blueprint = Blueprint("embedded", __name__)
PATCH_ID_TOKEN_PATH = "/app/patch-id-token"  # noqa: S105 - a path, not a secret


def app_config(state: Clout) -> AppConfig:
    settings = state.settings
    return {
        "client_id": settings.shopify_api_key or "",
        "client_secret": settings.shopify_api_secret,
        "old_client_secret": settings.shopify_api_secret_old,
    }


def ensure_offline_token(state: Clout, shop: str, id_token: object) -> bool:
    """Exchange the session token for an offline token if Clout has none for this shop."""
    with session_scope(state.sessions) as session:
        known = find_shop(session=session, domain=shop)
        if (
            known is not None
            and known.status == ShopStatus.ACTIVE
            and known.access_token is not None
        ):
            return True
    with oauth_http(state.settings) as http:
        result = token_exchange("offline", app_config(state), id_token=id_token, http_client=http)  # type: ignore[arg-type]
    if not result.ok or result.access_token is None:
        log.warning("token_exchange_failed", shop=shop, code=result.log.code)
        return False
    token = result.access_token
    grant = Grant(
        access_token=token.token,
        scope=token.scope or "",
        expires_at=_parse(token.expires),
        refresh_token=token.refresh_token or None,
        refresh_token_expires_at=_parse(token.refresh_token_expires),
    )
    with session_scope(state.sessions) as session:
        installed = store_grant(
            session=session, vault=state.vault, shop_domain=shop, grant=grant, now=utcnow()
        )
        session.flush()
        backfill = request_on_connect(session=session, shop=installed, now=utcnow())
        shop_id = installed.id
    log.info("shop_installed", shop=shop, via="token_exchange")
    if backfill is not None:  # the store's history, imported in the background
        ring_backfill(celery=current_app.extensions["celery"], backfill_id=backfill.id)
    # The saved views, metafield definitions and segments, in the background (idempotent).
    ring_workspace(celery=current_app.extensions["celery"], shop_id=shop_id)
    return True


def verified_shop(shop_name: str | None) -> str | None:
    """The shop a verified session token names (`shopifyapp` gives the part before
    `.myshopify.com`), as a checked `*.myshopify.com` domain, or None."""
    domain = f"{shop_name}.myshopify.com"
    return domain if shop_name and is_shop_domain(domain) else None


def frame_ancestors(shop: str) -> str:
    """Who may frame a page of the embedded app: the shop's own admin and Shopify's. `shop`
    must already be a checked `*.myshopify.com` domain: this goes into a response header."""
    return f"frame-ancestors https://{shop} https://admin.shopify.com;"


def is_app_path(value: str) -> bool:
    """A path on this site (`/app?…`), never another origin (`//evil`, `/\\evil`, a URL)."""
    return (
        value.startswith("/")
        and not value.startswith(("//", "/\\"))
        and value.isprintable()
        and len(value) <= 2048
    )


@blueprint.get(PATCH_ID_TOKEN_PATH)
def patch_id_token() -> tuple[Response, int]:
    """The page App Bridge uses to fetch a fresh session token, then go back to
    `shopify-reload`. The query is anyone's to write, so it is checked before it is used."""
    state = clout_state()
    shop = request.args.get("shop", "")
    if not is_shop_domain(shop) or not is_app_path(request.args.get("shopify-reload", "")):
        return jsonify(
            outcome="bad_request",
            detail="shop must be a *.myshopify.com domain and shopify-reload a path of this app",
        ), 400
    if not state.settings.shopify_api_key:
        return jsonify(
            outcome="unavailable", detail="SHOPIFY_API_KEY is not set: the app is not embedded"
        ), 503
    page = app_home_patch_id_token(
        {"method": "GET", "url": request.url, "headers": dict(request.headers), "body": ""},
        app_config(state),
    )
    if not page.ok:
        return jsonify(outcome="bad_request", detail=page.log.code), 400
    headers = dict(page.response.headers)
    # Named from the checked value, not from whatever the helper parsed out of the URL.
    headers["Content-Security-Policy"] = frame_ancestors(shop)
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Cache-Control"] = "no-store"
    return Response(page.response.body, headers=headers), 200
