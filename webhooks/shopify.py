"""`POST /webhooks/shopify`: verify → record (unique webhook id) → commit → enqueue → 200.

Answers: 200 accepted, duplicate, or nothing to do (unknown topic or shop); 401 missing or
wrong signature; 400 a body or headers that are not what Shopify sends; 413 too large;
503 the delivery could not be recorded, so Shopify retries. Nothing a sender puts in a
request leads to a 500.
"""

from __future__ import annotations

import json
import time
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy.exc import SQLAlchemyError

from service.core.logs import get_logger
from service.core.state import clout_state, count_rejection, refused_shopify
from service.deliveries.lifecycle import enqueue_delivery, record_delivery
from service.deliveries.topics import SHOPIFY_TOPICS
from service.shopify.payloads import parse_time
from service.shopify.shops import is_shop_domain
from webhooks.body import raw_body
from webhooks.verify import shopify_signature_valid

log = get_logger(__name__)

blueprint = Blueprint("webhooks", __name__, url_prefix="/webhooks")

MAX_HEADER_LENGTH = 255


def answer(status: int, outcome: str, **extra: Any) -> tuple[Response, int]:
    return jsonify(outcome=outcome, **extra), status


def ring_after_answer(response: Response, *, celery: Any, delivery_id: int, shop: str) -> None:
    """Ring the workers once the answer is on its way: the row is committed, so the sender's
    200 does not wait on Redis (a lost bell is rung again by the sweeper)."""

    def ring() -> None:
        if not enqueue_delivery(celery=celery, delivery_id=delivery_id, shop=shop):
            log.warning("delivery_not_rung", delivery_id=delivery_id, shop=shop)

    response.call_on_close(ring)


def reject(status: int, reason: str, detail: str) -> tuple[Response, int]:
    count_rejection(source="shopify", reason=reason)
    log.info("delivery_rejected", source="shopify", reason=reason, status=status)
    return answer(status, reason, detail=detail)


def parse_json_object(raw: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or None for anything else (not UTF-8, not JSON, nested so
    deep the parser gives up)."""
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _header(name: str) -> str | None:
    """A Shopify header's value, or None when it is missing, too long, or carries anything but
    printable text (NUL, which PostgreSQL refuses; an escape sequence a terminal would obey
    when an operator lists deliveries)."""
    value = request.headers.get(name, "").strip()
    return value if 0 < len(value) <= MAX_HEADER_LENGTH and value.isprintable() else None


@blueprint.post("/shopify")
def shopify_delivery() -> tuple[Response, int]:  # noqa: PLR0911 - one answer per contract case
    state = clout_state()
    raw = raw_body()  # over the size limit: RequestEntityTooLarge → 413
    if not shopify_signature_valid(
        raw, request.headers.get("X-Shopify-Hmac-Sha256"), state.settings.webhook_secrets
    ):
        # Remembered for `clout doctor`: with a wrong SHOPIFY_API_SECRET every delivery ends
        # here, and Shopify deletes the subscriptions once its retries run out.
        refused_shopify(reason="unauthorized", at=time.time())
        log.info("delivery_rejected", source="shopify", reason="unauthorized", status=401)
        return answer(401, "unauthorized", detail="missing or invalid X-Shopify-Hmac-Sha256")

    topic = _header("X-Shopify-Topic")
    shop_domain = (_header("X-Shopify-Shop-Domain") or "").lower()
    webhook_id = _header("X-Shopify-Webhook-Id")
    missing = [
        name
        for name, value in (
            ("X-Shopify-Topic", topic),
            ("X-Shopify-Shop-Domain", shop_domain),
            ("X-Shopify-Webhook-Id", webhook_id),
        )
        if not value
    ]
    if missing or topic is None or webhook_id is None:
        return reject(400, "bad_request", f"{' and '.join(missing)} required (printable text)")
    if not is_shop_domain(shop_domain):
        return reject(
            400, "bad_request", "X-Shopify-Shop-Domain must be the store's SHOP.myshopify.com"
        )
    if parse_json_object(raw) is None:
        return reject(400, "bad_request", "the body is not a JSON object")

    context = {"topic": topic, "shop": shop_domain, "webhook_id": webhook_id}
    if topic not in SHOPIFY_TOPICS:
        log.info("delivery_ignored", reason="unhandled_topic", **context)
        count_rejection(source="shopify", reason="unhandled_topic")
        return answer(200, "ignored", detail="Clout does not handle this topic")

    try:
        with state.sessions() as session:
            if not state.known_shops.connected(session=session, domain=shop_domain):
                log.info("delivery_ignored", reason="unknown_shop", **context)
                count_rejection(source="shopify", reason="unknown_shop")
                return answer(200, "ignored", detail="this shop is not connected to Clout")
            recorded = record_delivery(
                session=session,
                source="shopify",
                webhook_id=webhook_id,
                topic=topic,
                shop_domain=shop_domain,
                body=raw,
                event_id=_header("X-Shopify-Event-Id"),
                api_version=_header("X-Shopify-API-Version"),
                triggered_at=parse_time(_header("X-Shopify-Triggered-At")),
            )
    except SQLAlchemyError as error:
        # No traceback: a database error can quote the payload it failed to write.
        log.error("delivery_not_recorded", error=type(error).__name__, **context)  # noqa: TRY400
        count_rejection(source="shopify", reason="unavailable")
        response, status = answer(503, "unavailable", detail="could not record; retry later")
        response.headers["Retry-After"] = "5"
        return response, status

    if recorded.other_shop:
        log.warning("delivery_duplicate_other_shop", **context)
        return answer(200, "duplicate")
    if recorded.duplicate:
        log.info("delivery_duplicate", delivery_id=recorded.delivery_id, **context)
        return answer(200, "duplicate", delivery_id=recorded.delivery_id)
    log.info("delivery_accepted", delivery_id=recorded.delivery_id, **context)
    response, status = answer(200, "accepted", delivery_id=recorded.delivery_id)
    ring_after_answer(
        response,
        celery=current_app.extensions["celery"],
        delivery_id=recorded.delivery_id,
        shop=shop_domain,
    )
    return response, status
