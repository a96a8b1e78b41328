"""The embedded app inside the Shopify admin: App Bridge session tokens and token exchange.

Every request from the admin carries a session token (an HS256 JWT signed with the app secret,
one minute long) which `shopifyapp.verify_app_home_req` checks. The first time a shop opens
the app, that token is exchanged for an expiring offline access token (Shopify's recommended
install for embedded apps), stored encrypted like any other.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from shopify_app.exchange.token_exchange import token_exchange
from shopify_app.helpers.app_home_patch_id_token import app_home_patch_id_token
from shopify_app.types import AppConfig
from shopify_app.verify.app_home_req import verify_app_home_req

from service.db import session_scope
from service.logs import get_logger
from service.models import utcnow
from service.oauth import Grant, _parse, oauth_http, store_grant
from service.shops import find_shop
from service.state import Clout, clout_state

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


def _as_response(status: int, body: str, headers: dict[str, str]) -> Response:
    return Response(body, status=status, headers=headers)


def verified_shop() -> tuple[str | None, Response | None, object]:
    """The shop a session token speaks for, or the response Shopify's helper prescribes."""
    state = clout_state()
    result = verify_app_home_req(
        {
            "method": request.method,
            "url": request.url,
            "headers": dict(request.headers),
            "body": "",
        },
        app_config(state),
        PATCH_ID_TOKEN_PATH,
    )
    if not result.ok or not result.shop:
        log.info("session_token_refused", code=result.log.code)
        response = result.response
        return None, _as_response(response.status, response.body, dict(response.headers)), None
    return f"{result.shop}.myshopify.com", None, result.id_token


def ensure_offline_token(state: Clout, shop: str, id_token: object) -> bool:
    """Exchange the session token for an offline token if Clout has none for this shop."""
    with session_scope(state.sessions) as session:
        known = find_shop(session=session, domain=shop)
        if known is not None and known.status == "active" and known.access_token is not None:
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
        store_grant(session=session, vault=state.vault, shop_domain=shop, grant=grant, now=utcnow())
    log.info("shop_installed", shop=shop, via="token_exchange")
    return True


@blueprint.get("/app")
def app_home() -> Response | tuple[Response, int]:
    shop, refusal, id_token = verified_shop()
    if refusal is not None or shop is None:
        return refusal or (jsonify(outcome="unauthorized"), 401)
    state = clout_state()
    if not ensure_offline_token(state, shop, id_token):
        return jsonify(outcome="unavailable", detail="Shopify did not grant a token; retry"), 503
    return jsonify(outcome="ready", shop=shop), 200


@blueprint.get(PATCH_ID_TOKEN_PATH)
def patch_id_token() -> Response:
    page = app_home_patch_id_token(
        {"method": "GET", "url": request.url, "headers": dict(request.headers), "body": ""},
        app_config(clout_state()),
    )
    return _as_response(page.response.status, page.response.body, dict(page.response.headers))
