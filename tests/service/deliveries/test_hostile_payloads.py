"""Signed but mis-shaped Shopify payloads, generated: every topic handler either processes a
delivery or refuses it as a permanent error with a reason. None crashes (a crash would be
retried for hours and end `dead`, hiding a real problem among hostile noise)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from service.core.models import Delivery, Incident, Review, Shop
from tests.support.clout import process_delivery_now, record_delivery_now, state
from tests.support.helpers import fixture_json, shopify_sample

pytestmark = pytest.mark.fuzz

SAMPLES = {
    "orders/create": "shopify/orders_create.json",
    "orders/updated": "shopify/orders_create.json",
    "orders/cancelled": "shopify/orders_cancelled.json",
    "refunds/create": "shopify/refunds_create.json",
    "customers/update": None,
    "customer.tags_added": None,
    "customer.tags_removed": None,
    "customers/data_request": "shopify/customers_data_request.json",
    "customers/redact": "shopify/customers_redact.json",
    "disputes/create": None,
    "returns/request": None,
    "fulfillment_events/create": None,
    "bulk_operations/finish": "shopify/bulk_operations_finish.json",
}
SMALL = {
    "customers/update": {
        "id": 115310627314723954,
        "email": "john@example.com",
        "first_name": "John",
        "updated_at": "2026-11-20T12:00:00-05:00",
        "tags": "vip",
    },
    # the customer above: the tag topics name a customer by GID, and only a known one's change
    "customer.tags_added": {
        "customerId": "gid://shopify/Customer/115310627314723954",
        "tags": ["clout-opt-out", "vip"],
        "occurredAt": "2026-11-20T17:00:00.000Z",
    },
    "customer.tags_removed": {
        "customerId": "gid://shopify/Customer/115310627314723954",
        "tags": ["vip"],
        "occurredAt": "2026-11-20T17:01:00.000Z",
    },
    "disputes/create": {"id": 1, "order_id": 820982911946154508, "type": "chargeback"},
    "returns/request": {"id": 2, "order": {"id": 820982911946154508}},
    "fulfillment_events/create": {"id": 3, "order_id": 820982911946154508, "status": "failure"},
}
json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    # half an emoji too: JSON can escape a lone surrogate, json.loads keeps it, and no database
    # takes it (st.text never draws one)
    | st.lists(st.characters() | st.sampled_from(["\ud83d", "\udfff"]), max_size=8).map("".join)
)
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value[:3]):
            found += _paths(inner, (*prefix, index))
    return found


def _replace(document: Any, path: tuple[Any, ...], new: Any) -> None:
    target = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A real sample with one to three fields swapped for any JSON value."""
    topic = draw(st.sampled_from(sorted(SAMPLES)))
    sample = SAMPLES[topic]
    document = copy.deepcopy(shopify_sample(sample) if sample else SMALL[topic])
    paths = _paths(document)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        _replace(document, draw(st.sampled_from(paths)), draw(json_value))
        paths = _paths(document)
    return topic, document


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=mutated())
def test_a_mis_shaped_payload_is_processed_or_refused_never_a_crash(
    app: Flask, shop: Shop, case: tuple[str, dict[str, Any]]
) -> None:
    topic, payload = case
    delivery_id = record_delivery_now(app, topic=topic, payload=payload)
    process_delivery_now(app, delivery_id)

    with state(app).sessions() as session:
        settled = session.get(Delivery, delivery_id)
        assert settled is not None
        # done, ignored, or refused with Clout's own reason — never a bare exception type
        error = settled.last_error or ""
        assert settled.status in ("done", "ignored", "failed", "dead"), settled.status
        assert error == "" or error.startswith(("PermanentError", "TransientError")), (
            f"{topic}: {error}"
        )


def test_the_unmutated_samples_are_processed(app: Flask, shop: Shop) -> None:
    # the control for the property above: the same path, on the payloads as Shopify sends them
    outcomes = {}
    for topic, sample in SAMPLES.items():
        body = shopify_sample(sample) if sample else SMALL[topic]
        outcomes[topic] = process_delivery_now(
            app, record_delivery_now(app, topic=topic, payload=body)
        )

    assert outcomes == dict.fromkeys(SAMPLES, "done")


def test_nul_characters_in_a_payload_are_dropped_not_a_database_error(
    app: Flask, shop: Shop
) -> None:
    # found by the property above on PostgreSQL, whose text and JSONB refuse U+0000
    payloads = [
        {"id": 1, "order_id": 820982911946154508, "type": "charge\x00back"},
        {"id": "a\x00b", "order_id": 820982911946154508},
        {"id": 3, "order_id": 820982911946154508, "reason": "fraud\x00ulent"},
    ]

    statuses = [
        process_delivery_now(app, record_delivery_now(app, topic="disputes/create", payload=p))
        for p in payloads
    ]

    assert statuses == ["done", "done", "done"]


def test_compliance_requests_with_odd_shapes_are_handled(app: Flask, shop: Shop) -> None:
    # found by the property above: ids that are not ids, order lists that are not lists
    request = shopify_sample("shopify/customers_data_request.json")
    redact = shopify_sample("shopify/customers_redact.json")
    cases = [
        ("customers/data_request", {**request, "orders_requested": 5}),
        ("customers/data_request", {**request, "data_request": {"id": [1, {"a": 2}]}}),
        ("customers/redact", {**redact, "orders_to_redact": "12,13"}),
        ("disputes/create", {"id": {"nested": [1, 2, 3]}, "order_id": 820982911946154508}),
        ("refunds/create", {**fixture_json("shopify/refunds_create.json"), "transactions": 7}),
    ]

    outcomes = [
        process_delivery_now(app, record_delivery_now(app, topic=topic, payload=payload))
        for topic, payload in cases
    ]

    assert outcomes == ["done", "failed", "done", "failed", "done"]
    with state(app).sessions() as session:
        errors = [d.last_error for d in session.scalars(select(Delivery).order_by(Delivery.id))]
    assert errors[1] is not None
    assert "no usable id" in errors[1]
    assert errors[3] is not None
    assert "no usable id" in errors[3]


def test_a_lone_surrogate_in_a_customers_words_is_read_and_kept_not_a_crash(
    app: Flask, review_shop: Shop
) -> None:
    # given an order note and a review whose JSON escapes half an emoji ("\ud83d"): json.loads
    # keeps it as a lone surrogate, which no UTF-8 encoder (fastText's, the database's) accepts
    broken = "It arrived broken \ud83d and nobody answers."
    order = {**fixture_json("shopify/orders_create.json"), "note": broken}
    review = {
        "id": 82,
        "rating": 5,
        "comments": broken,
        "user": {"name": "Nora \udc8e", "email_address": "nora@example.org"},
    }

    # when a worker processes them
    statuses = [
        process_delivery_now(app, record_delivery_now(app, topic="orders/create", payload=order)),
        process_delivery_now(
            app,
            record_delivery_now(app, topic="reviews/reviewsio", payload=review, source="reviewsio"),
        ),
    ]

    # then both are handled, and the hidden complaint under five stars is a case for "broken"
    assert statuses == ["done", "done"]
    with state(app).sessions() as session:
        kept = session.scalars(select(Review)).one()
        cases = session.scalars(select(Incident)).all()
    assert kept.analysis is not None
    assert "broken" in kept.analysis["reasons"]
    assert kept.analysis["hidden_complaint"]
    assert cases


def test_a_lenient_review_body_with_half_an_emoji_is_read_not_a_crash(
    app: Flask, review_shop: Shop
) -> None:
    # given a review body only the lenient reader takes (a trailing comma, as in Yotpo's
    # published samples) that escapes half an emoji and a NUL
    body = (
        b'{"id": 83, "rating": 5, "comments": "Arrived broken \\ud83d \\u0000 want a refund",'
        b' "user": {"name": "Nora", "email_address": "nora@example.org"},}'
    )

    # when a worker processes it
    status = process_delivery_now(
        app, record_delivery_now(app, topic="reviews/reviewsio", raw=body, source="reviewsio")
    )

    # then it is read and kept like any other review
    assert status == "done"
    with state(app).sessions() as session:
        kept = session.scalars(select(Review)).one()
    assert kept.body == "Arrived broken \ufffd  want a refund"
    assert kept.analysis is not None
    assert "refund" in kept.analysis["reasons"]


def test_a_body_nested_past_the_recursion_limit_is_refused_not_left_claimed(
    app: Flask, shop: Shop
) -> None:
    # given a body nested 600 deep, holding a NUL to clean: intake's parser takes it, but
    # cleaning it goes past Python's recursion limit
    body = b'{"a": ' * 600 + b'"\\u0000"' + b"}" * 600

    # when a worker processes it
    delivery_id = record_delivery_now(app, topic="disputes/create", raw=body)
    status = process_delivery_now(app, delivery_id)

    # then it is refused for good with a reason, not an exception that leaves it claimed
    assert status == "failed"
    with state(app).sessions() as session:
        settled = session.get(Delivery, delivery_id)
        assert settled is not None
        assert "nested too deeply" in (settled.last_error or "")
