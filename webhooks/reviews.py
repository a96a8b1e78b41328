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

from service.core.crypto import TokenVault
from service.core.logs import get_logger
from service.core.models import ReviewSecret, Shop
from service.core.state import clout_state, count_rejection, refused_review
from service.deliveries.lifecycle import record_delivery
from service.shopify.shops import REVIEW_PROVIDERS, is_shop_domain
from service.signals import platforms
from webhooks import review_verify
from webhooks.body import raw_body
from webhooks.shopify import answer, ring_after_answer

log = get_logger(__name__)
blueprint = Blueprint("reviews", __name__, url_prefix="/webhooks/reviews")
_NOBODYS_SECRET = secrets.token_urlsafe(32)
_nobodys: dict[int, bytes] = {}


def _nobodys_sealed(vault: TokenVault) -> bytes:
    """A secret nobody holds, sealed by this app's vault (once per vault)."""
    sealed = _nobodys.get(id(vault))
    if sealed is None:
        sealed = _nobodys[id(vault)] = vault.seal(_NOBODYS_SECRET)
    return sealed


# A delivery is read in one transaction; on SQLite that holds the write lock every store's
# intake needs. Platforms send a review an event (Trustpilot's envelope is a list, of one); a
# batch of 9,400 held the lock until the worker's time limit and every Shopify delivery got 503
# meanwhile. Far above any real delivery, far below that.
REVIEWS_PER_DELIVERY = 100


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
            # The shop and its secret in one query, whether or not either exists: a known
            # shop must cost what an unknown one does, or the time would tell who uses Clout.
            found = session.execute(
                select(Shop.id, ReviewSecret.secret)
                .outerjoin(
                    ReviewSecret,
                    (ReviewSecret.shop_id == Shop.id) & (ReviewSecret.provider == provider),
                )
                .where(Shop.domain == shop_domain)
            ).first()
    except SQLAlchemyError as error:
        log.error("delivery_not_recorded", source=provider, error=type(error).__name__)  # noqa: TRY400
        response, status = answer(503, "unavailable", detail="could not record; retry later")
        response.headers["Retry-After"] = "5"
        return response, status
    incoming = review_verify.Request(
        body=raw, headers={k.lower(): v for k, v in request.headers.items()}, args=request.args
    )
    known, sealed = (found[0] is not None, found[1]) if found is not None else (False, None)
    # Anyone may post to any store's URL. A store Clout does not serve, or one with no secret
    # for this platform, is checked against a secret nobody holds, opened as a real one is:
    # refused as a forged delivery is, with the same answer in the same time, so neither tells
    # which stores use Clout. Fail closed: without a secret nothing proves who sent it.
    secret = state.vault.open(sealed if sealed is not None else _nobodys_sealed(state.vault))
    if not review_verify.VERIFIERS[provider](incoming, secret) or sealed is None:
        reason = "unauthorized" if known else "unknown_shop"  # the operator's count says why
        refused_review(
            provider=provider, shop_domain=shop_domain, known=known, reason=reason, at=time.time()
        )
        log.info("delivery_rejected", source=provider, reason=reason, status=401)
        return answer(401, "unauthorized", detail=f"missing or invalid {provider} signature")
    try:
        payload = platforms.loads_lenient(raw)
    except (ValueError, RecursionError):
        return _reject(provider, 400, "bad_request", "the body is not JSON")
    if not isinstance(payload, dict):
        return _reject(provider, 400, "bad_request", "the body is not a JSON object")
    carried = platforms.read_reviews(provider, payload) or []
    if len(carried) > REVIEWS_PER_DELIVERY:
        return _reject(
            provider,
            413,
            "too_large",
            f"at most {REVIEWS_PER_DELIVERY} reviews in one delivery: send fewer at a time",
        )
    # What the sender calls the event; a body that names none (Trustpilot's envelope) by what
    # its first review is: a deletion counted as one, not as a new review.
    named = payload.get("event") or payload.get("topic")
    topic = str(named or (f"review/{carried[0].event}" if carried else "review"))[:100]
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
