"""Unhappiness through intake and the delivery handlers (processed in the test's thread, as a
worker would): reviews and store events become signals,
folded into one open incident per customer."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from service.core.db import session_scope
from service.core.models import Customer, Delivery, Incident, Order, Review, Shop, Signal, utcnow
from service.dev.devstore.store import Customer as DevCustomer
from service.dev.devstore.store import LineItem
from service.dev.devstore.store import Order as DevOrder
from service.shopify.shops import register_shop
from service.signals import events
from service.signals.events import LateDeliveryRule, late_delivery_signals
from service.signals.incidents import resolve_incident
from service.signals.text import MAX_READ, analyse, read_part
from tests.support.clout import RunningDevStore, process_delivery_now, state
from tests.support.helpers import (
    REVIEW_SECRETS,
    SHOP,
    a_refund_sample,
    as_body,
    fixture_bytes,
    fixture_json,
    shopify_headers,
    signed_review,
)

JANE = "jane@example.org"
# No cue of the rules names it; the trained model is sure it is a complaint.
MODEL_ONLY_NOTE = "This is pathetic."


def settle(app: Flask, delivery_id: int, *, shopify: bool = False) -> Delivery:
    """Process the delivery intake recorded, once, here; it must end `done`."""
    process_delivery_now(app, delivery_id, shopify=shopify)
    with state(app).sessions() as session:
        settled = session.get(Delivery, delivery_id)
    assert settled is not None
    assert settled.status == "done", settled.last_error
    return settled


def shopify(client: FlaskClient, app: Flask, topic: str, payload: dict[str, Any]) -> Delivery:
    body = as_body(payload)
    response = client.post("/webhooks/shopify", data=body, headers=shopify_headers(topic, body))
    assert response.status_code == 200, response.json
    return settle(app, response.json["delivery_id"])


def review(
    client: FlaskClient,
    app: Flask,
    provider: str,
    payload: dict[str, Any] | bytes,
    *,
    shopify: bool = False,
) -> Delivery:
    body = as_body(payload)
    headers, query = signed_review(provider, body)
    response = client.post(
        f"/webhooks/reviews/{provider}/{SHOP}", data=body, headers=headers, query_string=query
    )
    assert response.status_code == 200, response.json
    return settle(app, response.json["delivery_id"], shopify=shopify)


def an_order(
    number: int, *, email: str = JANE, customer_id: int = 7001000000050, **changes: Any
) -> dict[str, Any]:
    order = fixture_json("shopify/orders_create.json")
    order_id = 7001000000100 + number - 1000
    order.update(
        id=order_id,
        admin_graphql_api_id=f"gid://shopify/Order/{order_id}",
        name=f"#{number}",
        email=email,
        cancel_reason=None,
        cancelled_at=None,
        financial_status="paid",
        total_price="50.00",
        created_at="2026-11-10T10:00:00Z",
        updated_at="2026-11-10T10:00:00Z",
        line_items=[{"product_id": 7001000000001, "title": "Stoneware mug", "quantity": 1}],
        fulfillments=[],
        note=None,
    )
    order["customer"] = {
        "id": customer_id,
        "email": email,
        "first_name": "Jane",
        "last_name": "Doe",
    }
    order.update(changes)
    return order


def a_refund(refund_id: int, *, order_id: int, note: str | None, amount: str) -> dict[str, Any]:
    """Shopify's refunds/create sample for one order: one line, `amount` paid back."""
    return a_refund_sample(refund_id, order_id=order_id, note=note, moved=[(amount, "success")])


def signals(app: Flask) -> list[Signal]:
    with state(app).sessions() as session:
        return list(session.scalars(select(Signal).order_by(Signal.id)))


def incidents(app: Flask) -> list[Incident]:
    with state(app).sessions() as session:
        return list(session.scalars(select(Incident).order_by(Incident.id)))


def test_a_low_review_with_an_order_reference_is_linked_and_opens_an_incident(
    client: FlaskClient, app: Flask, review_shop: Shop
) -> None:
    shopify(client, app, "orders/create", an_order(1001))

    review(client, app, "okendo", json.loads(fixture_bytes("reviews/okendo_review_created.json")))

    with state(app).sessions() as session:
        stored = session.scalar(select(Review))
        assert stored is not None
        assert (stored.link_method, stored.link_confidence) == ("order_reference", 1.0)
        assert stored.rating == Decimal(2)
        order = session.get(Order, stored.order_id)
        assert order is not None
        assert order.name == "#1001"
    [signal] = signals(app)
    assert (signal.kind, signal.reason) == ("review", "low_rating")
    assert signal.detail is not None
    assert "gave 2 stars" in signal.detail["sentences"]
    assert {"broken", "no_reply"} <= set(signal.detail["reasons"])
    [incident] = incidents(app)
    assert incident.status == "open"
    assert incident.severity == signal.severity


def test_a_glowing_review_raises_nothing(
    client: FlaskClient, app: Flask, review_shop: Shop
) -> None:
    review(client, app, "judgeme", json.loads(fixture_bytes("reviews/judgeme_review_created.json")))

    assert signals(app) == []
    with state(app).sessions() as session:
        stored = session.scalar(select(Review))
        assert stored is not None
        assert stored.rating == 5
        assert stored.analysis is not None
        assert stored.analysis["complaint"] is False


def test_a_four_star_review_that_hides_a_complaint_is_a_signal(
    client: FlaskClient, app: Flask, review_shop: Shop
) -> None:
    review(client, app, "fera", json.loads(fixture_bytes("reviews/fera_review_create.json")))

    [signal] = signals(app)
    assert signal.reason == "hidden_complaint"
    assert signal.detail is not None
    assert "the 4-star rating hides a complaint" in signal.detail["sentences"]


def test_a_one_star_review_then_a_refund_then_a_chargeback_is_one_incident(
    client: FlaskClient, app: Flask, review_shop: Shop
) -> None:
    # given Alex's order #1002
    shopify(
        client,
        app,
        "orders/create",
        an_order(1002, email="alex@example.org", customer_id=7001000000060),
    )

    # when Alex reviews it with one star, is refunded, then disputes the charge
    review(
        client,
        app,
        "reviewsio",
        json.loads(fixture_bytes("reviews/reviewsio_review_submitted.json")),
    )
    refund = a_refund(
        7001000000900, order_id=7001000000102, note="Package never arrived", amount="50.00"
    )
    shopify(client, app, "refunds/create", refund)
    shopify(
        client,
        app,
        "disputes/create",
        {
            "id": 9001,
            "admin_graphql_api_id": "gid://shopify/ShopifyPaymentsDispute/9001",
            "order_id": 7001000000102,
            "type": "chargeback",
            "reason": "product_not_received",
            "amount": "50.00",
            "initiated_at": "2026-11-24T00:00:00Z",
        },
    )

    # then it is one incident with three signals and the highest severity
    [incident] = incidents(app)
    assert [s.kind for s in signals(app)] == ["review", "refund", "dispute"]
    assert {s.incident_id for s in signals(app)} == {incident.id}
    assert incident.severity == "critical"
    refund_signal = signals(app)[1]
    assert refund_signal.reason == "refund_full"
    assert refund_signal.severity == "high"


def test_a_payment_inquiry_reads_as_the_agent_would_say_it(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    # given an order, and the bank's inquiry about its payment
    shopify(client, app, "orders/create", an_order(1012))
    inquiry = {"id": 9002, "order_id": 7001000000112, "type": "inquiry", "reason": "general"}

    # when it arrives
    shopify(client, app, "disputes/create", inquiry)

    # then the agent reads a plain sentence
    [signal] = signals(app)
    assert signal.detail is not None
    assert signal.detail["sentences"] == ["opened an inquiry with their bank (general)"]


def test_a_signal_after_resolution_opens_a_new_incident(
    client: FlaskClient, app: Flask, review_shop: Shop
) -> None:
    shopify(client, app, "orders/create", an_order(1001))
    review(client, app, "okendo", json.loads(fixture_bytes("reviews/okendo_review_created.json")))
    clout = state(app)
    with session_scope(clout.sessions) as session:
        first = session.scalars(select(Incident)).one()
        assert resolve_incident(session=session, incident=first, by="tag", now=utcnow())

    shopify(
        client,
        app,
        "orders/cancelled",
        an_order(
            1001,
            cancelled_at="2026-11-25T00:00:00Z",
            cancel_reason="customer",
            updated_at="2026-11-25T00:00:00Z",
        ),
    )

    [resolved, reopened] = incidents(app)
    assert (resolved.status, reopened.status) == ("resolved", "open")
    assert signals(app)[-1].reason == "customer_cancelled"


def test_a_duplicate_review_delivery_adds_no_second_signal(
    client: FlaskClient, app: Flask, review_shop: Shop
) -> None:
    payload = json.loads(fixture_bytes("reviews/reviewsio_review_submitted.json"))
    review(client, app, "reviewsio", payload)
    payload["title"] = "edited"  # a different body, the same review
    review(client, app, "reviewsio", payload)

    assert len(signals(app)) == 1
    with state(app).sessions() as session:
        assert session.scalars(select(Review)).one().title == "edited"


def test_a_trustpilot_batch_is_linked_by_its_reference(
    client: FlaskClient, app: Flask, review_shop: Shop
) -> None:
    shopify(client, app, "orders/create", an_order(1003))
    batch = json.loads(fixture_bytes("reviews/trustpilot_service-review-created.json"))
    second = json.loads(json.dumps(batch["events"][0]))
    second["eventData"].update(
        id="tp-2", stars=1, text="Still waiting for my parcel.", referenceId="#1003"
    )
    batch["events"].append(second)

    review(client, app, "trustpilot", batch)

    with state(app).sessions() as session:
        stored = {r.platform_review_id: r for r in session.scalars(select(Review))}
    assert set(stored) == {"53bffd360000640002975387", "tp-2"}
    assert stored["tp-2"].link_method == "order_reference"
    assert [s.reason for s in signals(app)] == ["low_rating"]


def test_a_review_nobody_can_be_linked_to_still_raises_a_signal(
    client: FlaskClient, app: Flask, review_shop: Shop
) -> None:
    review(client, app, "loox", json.loads(fixture_bytes("reviews/loox_review.json")))

    [signal] = signals(app)
    assert signal.reason == "hidden_complaint"
    with state(app).sessions() as session:
        customer = session.get(Customer, signal.customer_id)
        assert customer is not None
        assert customer.shopify_id.startswith("reviewer:")
        assert session.scalars(select(Review)).one().link_method == "unmatched"


def test_a_reviewer_known_only_to_shopify_is_found_through_the_admin_api(
    make_app: Callable[..., Flask], devstore: RunningDevStore
) -> None:
    # given a customer and order that exist only in the store (no webhook ever came)
    store = devstore.store
    when = utcnow() - timedelta(days=10)
    person = store.add_customer(
        DevCustomer(
            id=store.next_id(),
            email="sam@example.org",
            first_name="Sam",
            last_name="Lee",
            phone=None,
            created_at=when,
            updated_at=when,
        )
    )
    bought = store.add_order(
        DevOrder(
            id=store.next_id(),
            number=store.next_order_number(),
            customer_id=person.id,
            email=person.email,
            created_at=when,
            updated_at=when,
            total=Decimal(30),
            line_items=[LineItem("Stoneware mug", 1, 7001000000001, Decimal(30))],
        )
    )
    app = make_app(CLOUT_SHOPIFY_ADMIN_URL=devstore.url)
    clout = state(app)
    with session_scope(clout.sessions) as session:
        register_shop(
            session=session,
            vault=clout.vault,
            domain=SHOP,
            access_token=devstore.token,
            now=utcnow(),
            review_secrets=REVIEW_SECRETS,
        )
    payload = json.loads(fixture_bytes("reviews/fera_review_create.json"))
    payload["data"]["customer"].pop("external_id")
    # Written a day after the order (the sample's own date is fixed, the order's is not).
    payload["data"]["created_at"] = (when + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

    review(app.test_client(), app, "fera", payload, shopify=True)

    with clout.sessions() as session:
        stored = session.scalars(select(Review)).one()
        order = session.get(Order, stored.order_id)
        assert stored.link_method == "email_order_match"
        assert order is not None
        assert order.shopify_id == bought.gid


@pytest.mark.parametrize(
    ("reason", "signal"),
    [("customer", "customer_cancelled"), ("inventory", "store_cancelled"), ("fraud", None)],
)
def test_a_cancellation_is_a_signal_unless_it_was_fraud(
    client: FlaskClient, app: Flask, shop: Shop, reason: str, signal: str | None
) -> None:
    shopify(
        client,
        app,
        "orders/cancelled",
        an_order(1004, cancel_reason=reason, cancelled_at="2026-11-12T00:00:00Z"),
    )

    assert [s.reason for s in signals(app)] == ([signal] if signal else [])


def test_a_failed_delivery_and_a_defective_return_are_high(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    shopify(client, app, "orders/create", an_order(1005))
    shopify(
        client,
        app,
        "fulfillment_events/create",
        {
            "id": 555,
            "fulfillment_id": 444,
            "order_id": 7001000000105,
            "status": "failure",
            "happened_at": "2026-11-14T00:00:00Z",
            "message": "Address not found",
        },
    )
    shopify(
        client,
        app,
        "returns/request",
        {
            "id": 777,
            "admin_graphql_api_id": "gid://shopify/Return/777",
            "status": "requested",
            "order": {
                "id": 7001000000105,
                "admin_graphql_api_id": "gid://shopify/Order/7001000000105",
            },
            "return_line_items": [
                {"return_reason": "DEFECTIVE", "customer_note": "It arrived cracked"}
            ],
        },
    )

    assert [(s.reason, s.severity) for s in signals(app)] == [
        ("delivery_failed", "high"),
        ("return_requested", "high"),
    ]
    assert len(incidents(app)) == 1


def test_a_complaint_in_the_order_note_is_a_signal(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    shopify(
        client,
        app,
        "orders/updated",
        an_order(1006, note="Second time asking: where is my order??"),
    )

    [signal] = signals(app)
    assert signal.reason == "note_complaint"


def test_a_note_with_a_dim_tone_but_no_complaint_is_no_signal(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    # given an order note that only sounds sombre
    shopify(
        client,
        app,
        "orders/updated",
        an_order(1009, note="It is for a funeral, please no bright wrapping."),
    )

    # then nobody is told about an unhappy customer
    assert signals(app) == []


@pytest.mark.parametrize(
    "note",
    [
        "no card",
        "leave at door",
        "No bags please, we have loads",
        "Small dog will bark, ignore him. Leave box by the garage.",
        "Please knock, don't ring, the dog goes mad at the bell",
        "The buzzer is broken, please knock loudly.",
        MODEL_ONLY_NOTE,
    ],
)
def test_an_order_note_opens_a_case_only_when_it_names_a_problem(
    client: FlaskClient, app: Flask, shop: Shop, note: str
) -> None:
    # given an order note the trained model reads darkly (instructions are a genre it never
    # trained on: "no card" reads 0.95) but in which no cue names anything wrong
    assert (analyse(note).model or 0) >= 0.5

    # when the order arrives with it
    shopify(client, app, "orders/updated", an_order(1010, note=note))

    # then no case is opened: the model alone does not speak for an order note
    assert signals(app) == []


def test_a_note_that_names_a_problem_says_which_to_the_agent(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    # given a note that tells of an earlier order's damage among its instructions
    note = "Leave at the back door please. The first print arrived bent, so pack it flat."

    # when the order arrives with it
    shopify(client, app, "orders/updated", an_order(1011, note=note))

    # then it is a signal, and the agent reads the problem it names
    [signal] = signals(app)
    assert signal.reason == "note_complaint"
    assert signal.detail is not None
    assert signal.detail["sentences"] == [
        "wrote in the order note: it arrived damaged or spoiled, or stopped working"
    ]


def test_harm_told_in_an_order_note_is_a_case_but_not_an_urgent_one(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    # given a note written at checkout, before the order reached anyone, that tells of harm
    note = "Please no nuts - severe allergy, last time he had an allergic reaction to them."

    # when the order arrives with it
    shopify(client, app, "orders/updated", an_order(1012, note=note))

    # then it is a case (it may be a past order's), at the note's usual severity, not high
    [signal] = signals(app)
    assert (signal.reason, signal.severity) == ("note_complaint", "normal")


@pytest.mark.parametrize(
    ("note", "a_case"),
    [
        # harm told as the reason for this order: no complaint about the shop
        ("My wife got food poisoning last week, so I'm ordering the plain broth bundle", False),
        ("Had a bad allergic reaction to a cheap brand, so I'm trying yours", False),
        ("Kids have been sick all week so we're ordering the soup bundle, thanks!", False),
        # harm from the shop's own, told on the way to another order: still a case
        ("I got sick from your last batch so I'm trying the other flavour", True),
        ("We got food poisoning from the last order, so I'm ordering something else", True),
        ("Your jam made me sick, so I'm only ordering the tea this time", True),
        ("had a bad allergic reaction to the lavender one so I'm ordering unscented", True),
        ("I had a rash from the last bottle so I'm getting the sensitive version", True),
        # a complaint said beside "sick of": still one
        ("I'm sick of waiting for my refund, so I'm ordering from amazon instead", True),
        ("Got food poisoning on a cruise, so just want bland crackers lol", False),
    ],
)
def test_harm_told_as_why_this_order_was_placed_opens_no_case(note: str, a_case: bool) -> None:
    assert (events.note_complaint(note) is not None) is a_case


def test_a_note_far_beyond_the_limit_is_read_by_its_bounded_part_harm_included() -> None:
    # given a note far longer than the detector reads (a cart note has no length of its own:
    # Clout's body limit is its only bound), whose start and end tell of harm from the shop's
    # own, and whose unread middle tells of harm as why they ordered
    filler = "we had the broth and the stew and the bread. " * 400
    note = (
        "Your soup made my daughter sick. "
        + filler
        + "my wife got food poisoning last week, so i'm ordering the plain broth. "
        + filler
        + "It made her sick."
    )

    # when the note is read
    whole, part = events.note_complaint(note), events.note_complaint(read_part(note))

    # then it is read as its bounded part is, the harm check too: no part of a note costs
    # more than the detector's bounded read (the check runs in the handler's transaction)
    assert len(note) > MAX_READ
    assert part is not None
    assert whole is not None
    assert whole.reasons == part.reasons


def test_a_partial_refund_for_harm_is_as_serious_as_a_full_one(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    # given an order, and a small refund whose note says the item harmed the customer
    shopify(client, app, "orders/create", an_order(1013))
    refund = a_refund(
        7001000000913,
        order_id=7001000000113,
        note="Customer had an allergic reaction to it, refunded one jar",
        amount="5.00",
    )

    # when the refund is recorded
    shopify(client, app, "refunds/create", refund)

    # then the partial refund is a high signal, as one for a broken item is, and says why
    [signal] = [s for s in signals(app) if s.kind == "refund"]
    assert (signal.reason, signal.severity) == ("refund_partial", "high")
    assert signal.detail is not None
    assert "says it made someone ill or hurt them, or is unsafe" in signal.detail["sentences"]


def test_a_return_whose_note_tells_of_harm_is_high_and_says_so(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    # given an order, and a return asked for a size, whose note says the item hurt a child
    shopify(client, app, "orders/create", an_order(1014))
    request = {
        "id": 778,
        "admin_graphql_api_id": "gid://shopify/Return/778",
        "status": "requested",
        "order": {
            "id": 7001000000114,
            "admin_graphql_api_id": "gid://shopify/Order/7001000000114",
        },
        "return_line_items": [
            {
                "return_reason": "SIZE_TOO_SMALL",
                "customer_note": "Too small, and the dye gave my daughter a terrible rash",
            }
        ],
    }

    # when the return request arrives
    shopify(client, app, "returns/request", request)

    # then the agent sees the harm, first in the queue, not a size return at low severity
    [signal] = [s for s in signals(app) if s.kind == "return"]
    assert signal.severity == "high"
    assert signal.detail is not None
    assert any("made someone ill or hurt them" in line for line in signal.detail["sentences"])


def test_orders_not_shipped_in_time_are_late(client: FlaskClient, app: Flask, shop: Shop) -> None:
    # given an order placed five days ago, never shipped, and one shipped and delivered
    recent = (utcnow() - timedelta(days=5)).isoformat()
    shopify(client, app, "orders/create", an_order(1007, created_at=recent, updated_at=recent))
    shopify(
        client,
        app,
        "orders/create",
        an_order(
            1008,
            customer_id=7001000000070,
            email="b@example.org",
            created_at=recent,
            updated_at=recent,
            fulfillments=[{"created_at": recent, "shipment_status": "delivered"}],
        ),
    )

    # when the periodic check runs (twice: it must not repeat itself)
    clout = state(app)
    for _ in range(2):
        with session_scope(clout.sessions) as session:
            shop_row = session.scalars(select(Shop)).one()
            late_delivery_signals(
                session=session, shop=shop_row, rule=LateDeliveryRule(), now=utcnow()
            )

    # then only the unshipped one is late, once
    [signal] = signals(app)
    assert signal.reason == "late_delivery"
    with clout.sessions() as session:
        order = session.get(Order, signal.order_id)
        assert order is not None
        assert order.name == "#1007"


def test_a_refund_read_before_its_order_stays_one_signal_when_it_turns_out_full(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    # given a refund that arrives before its order (Shopify's deliveries are unordered): the
    # order's total is unknown, so it reads as partial
    refund = a_refund(7001000000901, order_id=7001000000105, note=None, amount="50.00")
    shopify(client, app, "refunds/create", refund)
    first = [s.reason for s in signals(app)]

    # when the order arrives, and the refund is read again (reconciliation, or a new delivery)
    shopify(client, app, "orders/create", an_order(1005))
    shopify(client, app, "refunds/create", refund)

    # then it is still one signal, now a full refund, and the case is as severe as that
    assert first == ["refund_partial"]
    [signal] = signals(app)
    assert signal.reason == "refund_full"
    assert signal.severity == "high"
    [incident] = incidents(app)
    assert incident.severity == "high"
