"""The store's settings inside the Shopify admin (`/app/settings`): deadlines, tag names,
notification targets, Klout, and the review apps, with who changed what.

Only the embedded app reaches it: every call carries an App Bridge session token in the
Authorization header (verified with `shopifyapp`), which names the shop and the staff member.
A header another site cannot make a browser send is what keeps it safe from cross-site
requests; changes must also be JSON, which no plain HTML form can post. Agents' logins
(`/agents`) do not reach it: settings are the merchant's.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from service.agents.views import (
    APP_BRIDGE,
    Refused,
    Viewer,
    app_home_check,
    no_store,
    page_headers,
    page_refused,
    session_token_viewer,
)
from service.attention.retag import change_settings
from service.attention.workspace import WORKSPACE_KEYS
from service.core.db import can_store, session_scope
from service.core.logs import get_logger
from service.core.models import Shop, utcnow
from service.core.shop_settings import SettingsError, describe, history
from service.core.state import clout_state
from service.deliveries.lifecycle import enqueue_attention
from service.shopify.embedded import ensure_offline_token, verified_shop
from service.shopify.history import ring_workspace
from service.shopify.review_apps import (
    REVIEW_APPS,
    NotTheirSecret,
    disconnect_review_app,
    last_arrival,
    review_url,
    stored_secret,
    wire_review_app,
)
from service.shopify.shops import find_shop

log = get_logger(__name__)
blueprint = Blueprint("settings", __name__, template_folder="templates")
MAX_SECRET = 512


@blueprint.errorhandler(Refused)
def refused(error: Refused) -> tuple[Response, int, dict[str, str]]:
    return jsonify(outcome=error.outcome), error.status, error.headers


def _staff() -> Viewer:
    """Only a session token from the Shopify admin: never a cookie login."""
    if "Authorization" not in request.headers:
        raise Refused(401, "session_token_required")
    return session_token_viewer()


def _json_body() -> dict[str, Any]:
    if not request.is_json:
        raise Refused(415, "json_required")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Refused(400, "the body is not a JSON object")
    return body


def _review_apps(*, session: Any, shop: Shop) -> list[dict[str, Any]]:
    state = clout_state()
    public_url = state.settings.public_url
    shown = []
    for app in REVIEW_APPS.values():
        secret = stored_secret(session=session, vault=state.vault, shop=shop, provider=app.provider)
        url = review_url(
            public_url=public_url,
            provider=app.provider,
            domain=shop.domain,
            key=secret if app.key_in_url else None,
        )
        arrival = last_arrival(session=session, shop=shop, provider=app.provider)
        form_secret = secret if app.secret.value == "form" else None
        shown.append(
            {
                "provider": app.provider,
                "name": app.name,
                "secret_from": app.secret.value,
                "secret_is": app.secret_is,
                "connected": secret is not None,
                "url": url,
                "steps": [
                    step.format(url=url, secret=form_secret or "THE SECRET", shop=shop.domain)
                    for step in app.steps
                ],
                "last_delivery": None
                if arrival is None
                else {
                    "received_at": arrival.received_at.isoformat(),
                    "status": arrival.status,
                    "error": arrival.error,
                    "count": arrival.count,
                },
            }
        )
    return shown


def _everything(shop_id: int) -> dict[str, Any]:
    state = clout_state()
    with session_scope(state.sessions) as session:
        shop = session.get(Shop, shop_id)
        if shop is None:
            raise Refused(404, "not_found")
        rows = describe(
            session=session, shop_id=shop.id, defaults=state.settings, vault=state.vault
        )
        return {
            "shop": shop.domain,
            "public_url_set": state.settings.public_url is not None,
            "settings": [
                {"key": r.key, "value": r.value, "own": r.own, "meaning": r.meaning} for r in rows
            ],
            "history": [
                {
                    "at": h.changed_at.isoformat(),
                    "by": h.changed_by,
                    "key": h.key,
                    "old": h.old,
                    "new": h.new,
                }
                for h in history(session=session, shop_id=shop.id, limit=30)
            ],
            "review_apps": _review_apps(session=session, shop=shop),
        }


@blueprint.get("/app/settings")
def settings_page() -> BaseResponse | tuple[BaseResponse, int]:
    state = clout_state()
    result = app_home_check(state)
    shop = verified_shop(result.shop) if result.ok else None
    if shop is None:
        return page_refused(result)
    if not ensure_offline_token(state, shop, result.id_token):
        return jsonify(outcome="unavailable", detail="Shopify did not grant a token; retry"), 503
    page = render_template(
        "settings.html",
        shop=shop,
        api_key=state.settings.shopify_api_key or "",
        app_bridge=APP_BRIDGE,
    )
    return page_headers(Response(page, mimetype="text/html"), embedded_for=shop)


@blueprint.get("/app/api/settings")
def read_settings() -> Response:
    viewer = _staff()
    return no_store(jsonify(_everything(viewer.shop.id)))


@blueprint.post("/app/api/settings")
def change_shop_settings() -> tuple[Response, int]:
    viewer = _staff()
    changes = _json_body().get("changes")
    if not isinstance(changes, dict) or not all(
        isinstance(k, str) and isinstance(v, str | int | float | bool) for k, v in changes.items()
    ):
        raise Refused(400, "changes must be an object of setting names to values")
    as_text = {
        k: ("on" if v else "off") if isinstance(v, bool) else str(v) for k, v in changes.items()
    }
    state = clout_state()
    with session_scope(state.sessions) as session:
        try:
            done, retagged = change_settings(
                session=session,
                shop_id=viewer.shop.id,
                changes=as_text,
                by=f"admin:{viewer.who}",
                defaults=state.settings,
                vault=state.vault,
                now=utcnow(),
            )
        except SettingsError as error:
            return no_store(jsonify(outcome="refused", detail=str(error))), 400
    celery = current_app.extensions["celery"]
    for incident_id in retagged:
        # (else the sweeper will)
        enqueue_attention(celery=celery, incident_id=incident_id, shop=viewer.shop.domain)
    if any(c.key in WORKSPACE_KEYS for c in done):
        # The saved views and the segment name the tags: rewritten by a worker.
        ring_workspace(celery=celery, shop_id=viewer.shop.id)
    log.info("settings_changed", shop=viewer.shop.domain, keys=[c.key for c in done])
    return (
        no_store(
            jsonify(
                outcome="changed" if done else "unchanged",
                changed=[{"key": c.key, "old": c.old, "new": c.new} for c in done],
                retagging=len(retagged),
                **_everything(viewer.shop.id),
            )
        ),
        200,
    )


@blueprint.post("/app/api/review-apps/<provider>")
def connect_review_app(provider: str) -> tuple[Response, int]:
    viewer = _staff()
    app = REVIEW_APPS.get(provider.lower())
    if app is None:
        raise Refused(404, "not_found")
    body = _json_body()
    given = body.get("secret")
    if given is not None and (
        not isinstance(given, str) or not given.strip() or len(given) > MAX_SECRET
    ):
        return no_store(jsonify(outcome="refused", detail="the secret is empty or too long")), 400
    if given is not None and not can_store(given):
        detail = "the secret cannot hold NUL or unpaired surrogates"
        return no_store(jsonify(outcome="refused", detail=detail)), 400
    state = clout_state()
    with session_scope(state.sessions) as session:
        shop = find_shop(session=session, domain=viewer.shop.domain)
        if shop is None:
            raise Refused(404, "not_found")
        try:
            wire_review_app(
                session=session,
                vault=state.vault,
                shop=shop,
                app=app,
                given=given.strip() if isinstance(given, str) else None,
                renew=body.get("renew") is True,
            )
        except NotTheirSecret as error:
            return no_store(jsonify(outcome="refused", detail=str(error))), 400
    log.info("review_app_connected", shop=viewer.shop.domain, provider=app.provider)
    return no_store(jsonify(outcome="connected", **_everything(viewer.shop.id))), 200


@blueprint.delete("/app/api/review-apps/<provider>")
def disconnect(provider: str) -> tuple[Response, int]:
    viewer = _staff()
    if provider.lower() not in REVIEW_APPS:
        raise Refused(404, "not_found")
    state = clout_state()
    with session_scope(state.sessions) as session:
        shop = find_shop(session=session, domain=viewer.shop.domain)
        if shop is None:
            raise Refused(404, "not_found")
        gone = disconnect_review_app(session=session, shop=shop, provider=provider.lower())
    outcome = "disconnected" if gone else "not_connected"
    return no_store(jsonify(outcome=outcome, **_everything(viewer.shop.id))), 200
