"""`POST /webhooks/reviews/<provider>/<shop domain>`: a review platform's delivery.

The same answers as Shopify intake: 401 a signature (or URL key) that does not match the
shop's secret for that platform, no secret configured, or a shop not connected (told apart
from a forged delivery by nothing a sender sees); 400 a body that is not JSON;
413 too large; 200 accepted, duplicate, or nothing to do; 503 when it cannot be recorded.
"""

from __future__ import annotations

import secrets
import time

from flask import Blueprint, Response, current_app, request
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from service.core.logs import get_logger
from service.core.models import ReviewSecret
from service.core.state import clout_state, count_rejection, note_refused_review
from service.deliveries.lifecycle import record_delivery
from service.shopify.shops import REVIEW_PROVIDERS, find_shop, is_shop_domain
from service.signals import platforms
from webhooks import review_verify
from webhooks.body import raw_body
from webhooks.shopify import answer, ring_after_answer

log = get_logger(__name__)
blueprint = Blueprint("reviews", __name__, url_prefix="/webhooks/reviews")
_NOBODYS_SECRET = secrets.token_urlsafe(32)


def _reject(provider: str, status: int, reason: str, detail: str) -> tuple[Response, int]:
    count_rejection(source=provider, reason=reason)
    log.info("delivery_rejected", source=provider, reason=reason, status=status)
    return answer(status, reason, detail=detail)


@blueprint.post("/<provider>/<shop_domain>")
def review_delivery(provider: str, shop_domain: str) -> tuple[Response, int]:  # noqa: PLR0911 - one answer per contract case
    state = clout_state()
    provider = provider.lower()
    shop_domain = shop_domain.lower()
    if provider not in REVIEW_PROVIDERS or not is_shop_domain(shop_domain):
        return _reject("unknown", 404, "not_found", "no such review platform or shop domain")
    raw = raw_body()  # over the size limit: RequestEntityTooLarge → 413
    try:
        with state.sessions() as session:
            shop = find_shop(session=session, domain=shop_domain)
            sealed = None
            if shop is not None:
                sealed = session.scalar(
                    select(ReviewSecret.secret).where(
                        ReviewSecret.shop_id == shop.id, ReviewSecret.provider == provider
                    )
                )
    except SQLAlchemyError as error:
        log.error("delivery_not_recorded", source=provider, error=type(error).__name__)  # noqa: TRY400
        response, status = answer(503, "unavailable", detail="could not record; retry later")
        response.headers["Retry-After"] = "5"
        return response, status
    incoming = review_verify.Request(
        body=raw, headers={k.lower(): v for k, v in request.headers.items()}, args=request.args
    )
    if shop is None:
        # Anyone may post to any store's URL: refused as a forged delivery is, after the same
        # check against a secret nobody holds, so neither the answer nor its time tells which
        # stores use Clout. (The operator's count still says why.)
        review_verify.VERIFIERS[provider](incoming, _NOBODYS_SECRET)
        count_rejection(source=provider, reason="unknown_shop")
        log.info("delivery_rejected", source=provider, reason="unknown_shop", status=401)
        return answer(401, "unauthorized", detail=f"missing or invalid {provider} signature")
    # Fail closed: without a configured secret nothing can prove where the delivery came from.
    if sealed is None or not review_verify.VERIFIERS[provider](incoming, state.vault.open(sealed)):
        note_refused_review(provider=provider, shop_domain=shop_domain, at=time.time())
        return _reject(provider, 401, "unauthorized", f"missing or invalid {provider} signature")
    try:
        payload = platforms.loads_lenient(raw)
    except (ValueError, RecursionError):
        return _reject(provider, 400, "bad_request", "the body is not JSON")
    if not isinstance(payload, dict):
        return _reject(provider, 400, "bad_request", "the body is not a JSON object")
    topic = str(payload.get("event") or payload.get("topic") or "review")[:100]
    key = review_verify.delivery_key(provider, incoming, shop=shop_domain)
    try:
        with state.sessions() as session:
            recorded = record_delivery(
                session=session,
                source=provider,
                webhook_id=key,
                topic=topic,
                shop_domain=shop_domain,
                body=raw,
            )
    except SQLAlchemyError as error:
        log.error("delivery_not_recorded", source=provider, error=type(error).__name__)  # noqa: TRY400
        response, status = answer(503, "unavailable", detail="could not record; retry later")
        response.headers["Retry-After"] = "5"
        return response, status
    if recorded.duplicate:
        return answer(200, "duplicate", delivery_id=recorded.delivery_id)
    log.info(
        "delivery_accepted", source=provider, delivery_id=recorded.delivery_id, shop=shop_domain
    )
    response, status = answer(200, "accepted", delivery_id=recorded.delivery_id)
    ring_after_answer(
        response,
        celery=current_app.extensions["celery"],
        delivery_id=recorded.delivery_id,
        shop=shop_domain,
    )
    return response, status
