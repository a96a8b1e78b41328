"""`/auth/install` and `/auth/callback`: a merchant installing Clout as a public app."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    jsonify,
    redirect,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from service.core.config import Settings
from service.core.db import session_scope
from service.core.errors import TransientError
from service.core.logs import get_logger
from service.core.models import utcnow
from service.core.state import clout_state
from service.shopify.history import request_on_connect, ring_backfill, ring_workspace
from service.shopify.oauth import (
    InstallRefused,
    authorize_url,
    check_callback,
    check_install,
    exchange_code,
    oauth_http,
    store_grant,
)

log = get_logger(__name__)
blueprint = Blueprint("install", __name__, url_prefix="/auth")


def session_key(api_secret: str) -> bytes:
    """The signed-cookie key, derived from the app secret so there is no second secret to set."""
    return hmac.new(api_secret.encode(), b"clout session cookie", hashlib.sha256).digest()


def init_install(app: Flask) -> None:
    state = app.extensions["clout"]
    app.secret_key = session_key(state.settings.shopify_api_secret)
    app.config.update(
        SESSION_COOKIE_NAME="clout_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # An agent's login lasts a working day (the server ends it then too: AgentSession).
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
    )
    app.register_blueprint(blueprint)


def callback_url(settings: Settings) -> str:
    """Where Shopify sends the merchant back: Clout's own address when it is set, never what a
    request's Host header claims (without CLOUT_PUBLIC_URL, as the request reached Clout)."""
    if settings.public_url:
        return settings.public_url.rstrip("/") + url_for("install.callback")
    return url_for("install.callback", _external=True)


def refused(reason: str) -> tuple[Response, int]:
    log.info("install_refused", reason=reason)
    return jsonify(outcome="refused", detail=reason), 400


@blueprint.get("/install")
def install() -> BaseResponse | tuple[Response, int]:
    state = clout_state()
    try:
        shop = check_install(request.args, settings=state.settings, now=utcnow())
        target, nonce = authorize_url(
            settings=state.settings, shop=shop, redirect_uri=callback_url(state.settings)
        )
    except InstallRefused as error:
        return refused(str(error))
    session["oauth_nonce"] = nonce
    session["oauth_shop"] = shop
    return redirect(target)


@blueprint.get("/callback")
def callback() -> tuple[Response, int]:
    state = clout_state()
    nonce = session.pop("oauth_nonce", None)
    started_for = session.pop("oauth_shop", None)
    try:
        shop = check_callback(request.args, settings=state.settings, nonce=nonce, now=utcnow())
        if shop != started_for:
            raise InstallRefused("the callback is for another shop than the install")  # noqa: TRY301
        with oauth_http(state.settings) as http:
            grant = exchange_code(
                settings=state.settings,
                shop=shop,
                code=request.args["code"],
                http=http,
                now=utcnow(),
            )
    except InstallRefused as error:
        return refused(str(error))
    except TransientError as error:
        return jsonify(outcome="unavailable", detail=str(error)), 503
    with session_scope(state.sessions) as db_session:
        installed = store_grant(
            session=db_session, vault=state.vault, shop_domain=shop, grant=grant, now=utcnow()
        )
        db_session.flush()
        backfill = request_on_connect(session=db_session, shop=installed, now=utcnow())
        shop_id = installed.id
    log.info("shop_installed", shop=shop)
    if backfill is not None:  # the store's history, imported in the background
        ring_backfill(celery=current_app.extensions["celery"], backfill_id=backfill.id)
    # The saved views, metafield definitions and segments, in the background (idempotent).
    ring_workspace(celery=current_app.extensions["celery"], shop_id=shop_id)
    return jsonify(outcome="installed", shop=shop), 200
