"""Each review platform's delivery, normalised into reviews Clout reads the same way: ratings as
numbers on a 1–5 scale (some platforms send strings, some other scales), times in UTC, update and
delete events, and the order or product the review names."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from service.core import db
from service.shopify.payloads import parse_time
from service.signals.reviews import ReviewInput


def loads_lenient(raw: bytes) -> Any:
    """JSON, forgiving the trailing commas in Yotpo's published samples, as a database can
    hold it (`db.storable`: a lone surrogate as U+FFFD, no NUL). ValueError for anything else,
    a body nested past Python's recursion limit included."""
    try:
        try:
            value = json.loads(raw)
        except ValueError:
            text = raw.decode("utf-8")
            value = json.loads(re.sub(r",\s*([}\]])", r"\1", text))
        return db.storable(value) if db.may_be_unstorable(raw) else value
    except RecursionError:
        raise ValueError("the body is nested too deeply") from None


def _obj(value: object) -> dict[str, Any]:
    """A nested object as sent, or an empty one when the sender put something else there."""
    return value if isinstance(value, dict) else {}


def _rating(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() and Decimal(0) <= number <= Decimal(5) else None


def _rescaled(raw: object, scale_max: object) -> Decimal | None:
    """A rating on 1–`scale_max`, mapped onto 1–5 (1 + (raw − 1) × 4 / (max − 1))."""
    try:
        top = Decimal(str(scale_max))
        value = Decimal(str(raw))
    except InvalidOperation:
        return None
    if not (top.is_finite() and value.is_finite()):
        return None
    if top == 5:
        return _rating(value)
    if top <= 1 or not Decimal(1) <= value <= top:
        return None
    try:
        return (Decimal(1) + (value - 1) * 4 / (top - 1)).quantize(Decimal("0.01"))
    except ArithmeticError:  # a scale past the decimal context (5e999999 of 9e999999)
        return None


def _flag(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    return None


def _time(value: object) -> datetime | None:
    if isinstance(value, str) and value.endswith(" UTC"):
        value = value.removesuffix(" UTC").replace(" ", "T") + "+00:00"
    return parse_time(value)


def _text(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


def _id(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


def _product(value: object) -> str | None:
    text = _id(value)
    if text is None:
        return None
    text = text.removeprefix("shopify-")
    return f"gid://shopify/Product/{text}" if text.isdigit() else text


JUDGEME_VERIFIED = {
    "confirmed-buyer",
    "buyer",
    "verified-purchase",
    "semi-verified-purchase",
    "admin",
}


def judgeme(payload: dict[str, Any]) -> list[ReviewInput]:
    review = _obj(payload.get("review"))
    reviewer = _obj(review.get("reviewer"))
    event = str(payload.get("event", "review/created"))
    return [
        ReviewInput(
            platform_review_id=_id(review.get("id")) or "",
            event="updated" if event.endswith("updated") else "created",
            status="hidden"
            if review.get("hidden")
            else ("published" if review.get("published", True) else "pending"),
            rating=_rating(review.get("rating")),
            rating_raw=_id(review.get("rating")),
            title=_text(review.get("title")),
            body=_text(review.get("body")),
            reviewer_email=_text(reviewer.get("email")),
            reviewer_name=_text(reviewer.get("name")),
            reviewer_customer_id=_id(reviewer.get("external_id")),
            product_ref=_product(review.get("product_external_id")),
            product_title=_text(review.get("product_title")),
            order_ref=None,
            verified_buyer=str(review.get("verified", "")) in JUDGEME_VERIFIED,
            created_at=_time(review.get("created_at")),
            updated_at=_time(review.get("updated_at")),
        )
    ]


def yotpo(payload: dict[str, Any]) -> list[ReviewInput]:
    data = _obj(payload.get("data"))
    order = _obj(data.get("order"))
    deleted = _flag(data.get("deleted")) or _flag(data.get("archived"))
    return [
        ReviewInput(
            platform_review_id=_id(data.get("id")) or "",
            event="updated" if "updated" in str(payload.get("event", "")) else "created",
            status="deleted" if deleted else "published",
            rating=_rating(data.get("score")),
            rating_raw=_id(data.get("score")),
            title=_text(data.get("title")),
            body=_text(data.get("content")),
            reviewer_email=_text(data.get("customer_email")),
            reviewer_name=_text(data.get("reviewer_display_name") or data.get("display_name")),
            reviewer_customer_id=None,
            product_ref=_product(data.get("external_product_id") or data.get("product_id")),
            product_title=None,
            order_ref=_id(
                data.get("external_order_id")
                or order.get("external_id")
                or data.get("order_id")
                or order.get("id")
            ),
            verified_buyer=_flag(data.get("verified_buyer")),
            created_at=_time(data.get("created_at")),
            updated_at=_time(data.get("updated_at")),
        )
    ]


def okendo(payload: dict[str, Any]) -> list[ReviewInput]:
    review = _obj(payload.get("resource")) or _obj(payload.get("review")) or payload
    reviewer = _obj(review.get("reviewer"))
    order = _obj(review.get("order"))
    status = str(review.get("status", "approved"))
    return [
        ReviewInput(
            platform_review_id=_id(review.get("reviewId") or review.get("id")) or "",
            event=str(payload.get("topic", payload.get("type", "review.create")))
            .rsplit(".", 1)[-1]
            .replace("create", "created")
            .replace("update", "updated")
            .replace("delete", "deleted"),
            status={"approved": "published", "pending": "pending", "rejected": "hidden"}.get(
                status, "published"
            ),
            rating=_rating(review.get("rating")),
            rating_raw=_id(review.get("rating")),
            title=_text(review.get("title")),
            body=_text(review.get("body")),
            reviewer_email=_text(reviewer.get("email")),
            reviewer_name=_text(reviewer.get("displayName") or reviewer.get("name")),
            reviewer_customer_id=None,
            product_ref=_product(review.get("productId")),
            product_title=_text(review.get("productName")),
            order_ref=_id(order.get("orderId") or order.get("orderNumber")),
            verified_buyer=_flag(reviewer.get("isVerified")),
            created_at=_time(review.get("dateCreated")),
            updated_at=_time(review.get("dateUpdated")),
        )
    ]


def stamped(payload: dict[str, Any]) -> list[ReviewInput]:
    return [
        ReviewInput(
            platform_review_id=_id(payload.get("id")) or "",
            event="created",
            status="published",
            rating=_rating(payload.get("reviewRating")),
            rating_raw=_id(payload.get("reviewRating")),
            title=_text(payload.get("reviewTitle")),
            body=_text(payload.get("reviewMessage")),
            reviewer_email=_text(payload.get("customerEmail")),
            reviewer_name=_text(payload.get("author")),
            reviewer_customer_id=None,
            product_ref=_product(payload.get("productId")),
            product_title=_text(payload.get("productName")),
            order_ref=None,
            verified_buyer=payload.get("reviewVerifiedType") == 2,
            # Stamped's timestamps carry no zone; Clout reads them as UTC.
            created_at=_time(payload.get("dateCreated")),
            updated_at=None,
        )
    ]


def fera(payload: dict[str, Any]) -> list[ReviewInput]:
    data = payload.get("data")
    review: dict[str, Any] = data if isinstance(data, dict) else payload
    customer = _obj(review.get("customer"))
    event = str(payload.get("event", review.get("event", "review_create")))
    return [
        ReviewInput(
            platform_review_id=_id(review.get("id")) or "",
            event="deleted"
            if "delete" in event
            else ("updated" if "update" in event else "created"),
            status="deleted"
            if "delete" in event
            else ("hidden" if review.get("state") == "declined" else "published"),
            rating=_rating(review.get("rating")),
            rating_raw=_id(review.get("rating")),
            title=_text(review.get("heading")),
            body=_text(review.get("body")),
            reviewer_email=_text(customer.get("email") or review.get("customer_email")),
            reviewer_name=_text(customer.get("name") or review.get("customer_name")),
            reviewer_customer_id=_id(customer.get("external_id")),
            product_ref=_product(
                _obj(review.get("product")).get("external_id") or review.get("product_id")
            ),
            product_title=None,
            order_ref=_id(_obj(review.get("order")).get("external_id") or review.get("order_id")),
            verified_buyer=_flag(review.get("is_verified")),
            created_at=_time(review.get("created_at")),
            updated_at=_time(review.get("updated_at")),
        )
    ]


def reviewsio(payload: dict[str, Any]) -> list[ReviewInput]:
    user = _obj(payload.get("user")) or _obj(payload.get("reviewer"))
    product = _obj(payload.get("product"))
    return [
        ReviewInput(
            platform_review_id=_id(payload.get("id") or payload.get("review_id")) or "",
            event="created",
            status="published",
            rating=_rating(payload.get("rating")),
            rating_raw=_id(payload.get("rating")),
            title=_text(payload.get("title")),
            body=_text(payload.get("comments") or payload.get("review")),
            reviewer_email=_text(user.get("email_address") or user.get("email")),
            reviewer_name=_text(user.get("name")),
            reviewer_customer_id=None,
            product_ref=_id(product.get("sku")),
            product_title=_text(product.get("name")),
            order_ref=_id(payload.get("order_id")),
            verified_buyer=_flag(payload.get("verified_buyer")),
            created_at=_time(payload.get("date_created") or payload.get("created_at")),
            updated_at=None,
        )
    ]


def trustpilot(payload: dict[str, Any]) -> list[ReviewInput]:
    reviews = []
    events = payload.get("events")
    for event in events if isinstance(events, list) else []:
        if not isinstance(event, dict):
            continue
        name = str(event.get("eventName", ""))
        data = _obj(event.get("eventData"))
        consumer = _obj(data.get("consumer"))
        reviews.append(
            ReviewInput(
                platform_review_id=_id(data.get("id")) or "",
                event="deleted"
                if name.endswith("deleted")
                else ("updated" if name.endswith("updated") else "created"),
                status="deleted" if name.endswith("deleted") else "published",
                rating=_rating(data.get("stars")),
                rating_raw=_id(data.get("stars")),
                title=_text(data.get("title")),
                body=_text(data.get("text") or data.get("content")),
                # Trustpilot leaves the email out of service reviews; the reference links them.
                reviewer_email=_text(consumer.get("email")),
                reviewer_name=_text(consumer.get("name")),
                reviewer_customer_id=None,
                product_ref=None,
                product_title=None,
                order_ref=_id(data.get("referenceId")),
                verified_buyer=_flag(data.get("isVerified")),
                created_at=_time(data.get("createdAt")),
                updated_at=_time(data.get("updatedAt")),
            )
        )
    return reviews


def generic(payload: dict[str, Any]) -> list[ReviewInput]:
    """Clout's documented shape for anything else (see the README):
    `{"id", "event", "rating", "scale_max", "title", "body", "email", "name", "order",
    "product", "verified", "created_at"}`; `rating` on 1–`scale_max` (default 5)."""
    raw = payload.get("rating")
    rating = _rescaled(raw, payload.get("scale_max", 5))
    event = str(payload.get("event", "created"))
    return [
        ReviewInput(
            platform_review_id=_id(payload.get("id")) or "",
            event=event if event in {"created", "updated", "deleted"} else "created",
            status="deleted" if event == "deleted" else "published",
            rating=rating,
            rating_raw=_id(raw),
            rating_scale=f"1-{payload.get('scale_max', 5)}",
            title=_text(payload.get("title")),
            body=_text(payload.get("body")),
            reviewer_email=_text(payload.get("email")),
            reviewer_name=_text(payload.get("name")),
            reviewer_customer_id=_id(payload.get("customer")),
            product_ref=_product(payload.get("product")),
            product_title=None,
            order_ref=_id(payload.get("order")),
            verified_buyer=_flag(payload.get("verified")),
            created_at=_time(payload.get("created_at")),
            updated_at=_time(payload.get("updated_at")),
        )
    ]


def loox(payload: dict[str, Any]) -> list[ReviewInput]:
    # Loox's webhook format is not public; accept its review fields by their likely names.
    nested = payload.get("review")
    review: dict[str, Any] = nested if isinstance(nested, dict) else payload
    return generic(
        {
            "id": review.get("id"),
            "rating": review.get("rating"),
            "body": review.get("review") or review.get("body"),
            "email": review.get("email"),
            "name": review.get("name") or review.get("full_name"),
            "product": review.get("product_id"),
            "order": review.get("order_id"),
            "verified": review.get("verified_purchase"),
            "created_at": review.get("date") or review.get("created_at"),
        }
    )


NORMALISERS: dict[str, Callable[[dict[str, Any]], list[ReviewInput]]] = {
    "judgeme": judgeme,
    "yotpo": yotpo,
    "okendo": okendo,
    "stamped": stamped,
    "fera": fera,
    "reviewsio": reviewsio,
    "trustpilot": trustpilot,
    "loox": loox,
    "generic": generic,
}


def read_reviews(provider: str, body: object) -> list[ReviewInput] | None:
    """The reviews a platform's body carries, as the worker reads them; None when it reads
    none (not this platform's shape: the worker's handler says what is wrong with it)."""
    if not isinstance(body, dict):
        return None
    try:
        return NORMALISERS[provider](body)
    except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError):
        return None
