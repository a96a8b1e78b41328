"""`POST /flow/actions/resolve-case`: Shopify Flow runs Clout's "Resolve the Clout case" action.

Flow signs the body like a webhook (base64 HMAC-SHA256 of the raw bytes with the app's client
secret, in `X-Shopify-Hmac-Sha256`); it is checked before anything is parsed. Flow reads the
answer: 200 done (also: already closed, or no case to close); a 4xx fails the workflow's step
and is not retried (a bad signature, a body that is not the action); a 5xx is retried later with
the same run id, which is what Clout answers when it cannot reach its database.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy.exc import SQLAlchemyError

from service.agents.desk import DeskRefused
from service.agents.flow_action import FlowActionInvalid, read_flow_action, resolve_for_flow
from service.core.db import session_scope
from service.core.logs import get_logger
from service.core.models import utcnow
from service.core.state import clout_state, count_rejection
from service.core.vocabulary import ShopStatus
from service.deliveries.lifecycle import enqueue_attention
from service.shopify.shops import find_shop
from webhooks.body import raw_body
from webhooks.shopify import parse_json_object
from webhooks.verify import shopify_signature_valid

log = get_logger(__name__)
blueprint = Blueprint("flow_actions", __name__, url_prefix="/flow/actions")


def _answer(status: int, outcome: str, **extra: object) -> tuple[Response, int]:
    if status >= 400:
        count_rejection(source="flow", reason=outcome)
        log.info("flow_action_refused", outcome=outcome, status=status)
    return jsonify(outcome=outcome, **extra), status


@blueprint.post("/resolve-case")
def resolve_case() -> tuple[Response, int]:  # noqa: PLR0911 - one answer per case Flow reads
    state = clout_state()
    raw = raw_body()  # over the size limit: RequestEntityTooLarge → 413
    if not shopify_signature_valid(
        raw, request.headers.get("X-Shopify-Hmac-Sha256"), state.settings.webhook_secrets
    ):
        return _answer(401, "unauthorized", detail="missing or invalid X-Shopify-Hmac-Sha256")
    body = parse_json_object(raw)
    if body is None:
        return _answer(400, "bad_request", detail="the body is not a JSON object")
    try:
        action = read_flow_action(body)
    except FlowActionInvalid as error:
        return _answer(400, "bad_request", detail=str(error))
    try:
        with session_scope(state.sessions) as session:
            shop = find_shop(session=session, domain=action.shop)
            if shop is None or shop.status != ShopStatus.ACTIVE:
                return _answer(404, "shop_not_connected")
            done = resolve_for_flow(session=session, shop=shop, action=action, now=utcnow())
            shop_domain = shop.domain
    except DeskRefused as error:
        return _answer(400, "bad_request", detail=str(error))
    except SQLAlchemyError as error:
        log.error("flow_action_not_recorded", error=type(error).__name__)  # noqa: TRY400
        response, status = _answer(503, "unavailable", detail="could not record; Flow retries")
        response.headers["Retry-After"] = "30"
        return response, status
    if done is None:
        log.info("flow_action_no_case", shop=action.shop, run=action.run_id)
        return _answer(200, "no_case")
    if done.outcome != "already_closed":
        # After the commit: the worker takes Clout's tags off and adds the resolved tag.
        enqueue_attention(
            celery=current_app.extensions["celery"], incident_id=done.incident_id, shop=shop_domain
        )
    log.info("flow_action_done", shop=action.shop, run=action.run_id, outcome=done.outcome)
    return _answer(200, done.outcome, id=done.incident_id)
