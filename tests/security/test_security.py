"""Security cases across the whole service: secrets and personal data never reach the logs on
any path, one shop's deliveries can never read or change another shop's data, and a replayed
signed request changes nothing twice."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import func, select

from service.core.models import Customer, Delivery, Incident, Order, Shop, Signal
from service.core.vocabulary import PENDING_DELIVERIES
from service.dev.devstore.store import LineItem, Refund
from service.dev.devstore.webhooks import refund_payload
from tests.support.agents_page import PASSWORD, add_agent, connect_shop, log_in
from tests.support.clout import (
    RunningDevStore,
    process_delivery_now,
    record_delivery_now,
    state,
)
from tests.support.helpers import (
    SECRET,
    SHOP,
    as_body,
    fixture_json,
    session_token,
    shopify_headers,
    signed_review,
    wait_for,
)
from tests.support.pipeline import Pipeline, running_pipeline

OTHER_SHOP = "other-shop.myshopify.com"


@pytest.fixture
def debug_pipeline(make_app: Callable[..., Flask], devstore: RunningDevStore) -> Iterator[Pipeline]:
    """The whole loop with every log line switched on (DEBUG)."""
    with running_pipeline(make_app, devstore, CLOUT_LOG_LEVEL="DEBUG") as running:
        yield running


@pytest.mark.e2e
def test_no_token_secret_password_or_personal_data_reaches_the_logs(
    debug_pipeline: Pipeline, capfd: pytest.CaptureFixture[str]
) -> None:
    # given a customer whose every field is personal, and everything Clout keeps secret
    pipe = debug_pipeline
    secret_person = {
        "email": "maya.private@example.org",
        "first": "Mayalinde",
        "last": "Quistorp",
        "phone": "+1-555-0199-773",
        "street": "17 Hiddenbrook Lane",
    }
    customer = pipe.dev.store.add_person(
        secret_person["email"], secret_person["first"], secret_person["last"]
    )
    customer.phone = secret_person["phone"]
    order = pipe.dev.store.add_purchase(
        customer,
        total=Decimal("60.00"),
        notify=True,
        note=f"Call me on {secret_person['phone']}, I am at {secret_person['street']}",
        line_items=[LineItem("Linen throw", 1, 7001000000002, Decimal("60.00"))],
    )
    order.refunds.append(
        Refund(
            id=pipe.dev.store.next_id(),
            created_at=order.created_at,
            note=f"Broken. Email me at {secret_person['email']}",
            amount=Decimal("60.00"),
        )
    )

    # when it passes through every path: intake, worker, tags, a review, the agents' page with
    # a wrong and a right password, an embedded session token, and a Shopify outage
    pipe.sender.send("refunds/create", refund_payload(order))
    pipe.tagged(order)
    review = json.dumps(
        {
            "event": "review/created",
            "review": {
                "id": 991,
                "rating": 1,
                "body": f"Awful. {secret_person['first']} {secret_person['last']} here.",
                "reviewer": {"email": secret_person["email"], "name": secret_person["first"]},
            },
        }
    ).encode()
    headers, query = signed_review("judgeme", review)
    client = pipe.app.test_client()
    assert (
        client.post(
            f"/webhooks/reviews/judgeme/{SHOP}", data=review, headers=headers, query_string=query
        ).status_code
        == 200
    )
    add_agent(pipe.app, "agent@example.org", SHOP)
    assert log_in(client, "agent@example.org", "a-wrong-password-1234").status_code == 401
    assert log_in(client, "agent@example.org").status_code == 302
    assert client.get("/agents/api/queue").status_code == 200
    token = session_token()
    client.get("/agents/api/queue", headers={"Authorization": f"Bearer {token}"})
    pipe.dev.admin.set_faults(error_rate=1.0)
    later = pipe.dev.store.add_purchase(customer, notify=True, cancel_reason="customer")
    pipe.sender.send("disputes/create", {"id": 5, "order_id": later.id, "type": "chargeback"})
    logged = ""

    def read() -> str:
        nonlocal logged
        logged += capfd.readouterr().err
        return logged

    wait_for(lambda: "attend_retrying" in read(), timeout=20)
    pipe.dev.admin.set_faults(error_rate=0.0)
    pipe.tagged(later)
    read()

    # then the logs tell what happened, by ids, and carry none of it
    assert "delivery_processed" in logged
    assert "agent_login_refused" in logged
    forbidden = [
        *secret_person.values(),
        pipe.dev.token,  # the shop's Admin API token
        SECRET,  # the app secret
        PASSWORD,
        "a-wrong-password-1234",
        token,  # the staff member's session token
        "shpat_",
    ]
    for value in forbidden:
        assert value not in logged, f"{value!r} was logged"


def _process(app: Flask, shop_domain: str, topic: str, payload: dict[str, object]) -> str:
    delivery_id = record_delivery_now(app, topic=topic, payload=payload, shop_domain=shop_domain)
    return process_delivery_now(app, delivery_id)


def test_one_shops_delivery_cannot_read_or_change_another_shops_data(app: Flask) -> None:
    # given the same customer and order ids known in the first shop
    connect_shop(app, SHOP)
    connect_shop(app, OTHER_SHOP)
    order = fixture_json("shopify/orders_create.json")
    assert _process(app, SHOP, "orders/create", order) == "done"
    with state(app).sessions() as session:
        mine = session.scalars(select(Order).join(Shop).where(Shop.domain == SHOP)).one()
        before = (mine.email, mine.note, mine.total_price, mine.customer_id)
        signals_before = session.scalar(
            select(func.count()).select_from(Signal).where(Signal.shop_id == mine.shop_id)
        )

    # when the other shop sends deliveries naming those ids: an update, a dispute, a redaction
    changed = {**order, "email": "attacker@example.org", "note": "mine now", "total_price": "1.00"}
    changed["updated_at"] = "2099-01-01T00:00:00-05:00"
    outcomes = [
        _process(app, OTHER_SHOP, "orders/updated", changed),
        _process(app, OTHER_SHOP, "disputes/create", {"id": 7, "order_id": order["id"]}),
        _process(
            app,
            OTHER_SHOP,
            "customers/redact",
            {"shop_id": 2, "shop_domain": OTHER_SHOP, "customer": {"id": order["customer"]["id"]}},
        ),
    ]

    # then the first shop's order, customer and cases are exactly as they were
    assert outcomes == ["done", "done", "done"]
    with state(app).sessions() as session:
        mine = session.scalars(select(Order).join(Shop).where(Shop.domain == SHOP)).one()
        assert (mine.email, mine.note, mine.total_price, mine.customer_id) == before
        first_shop = session.scalars(select(Shop).where(Shop.domain == SHOP)).one()
        customer = session.scalars(select(Customer).where(Customer.shop_id == first_shop.id)).one()
        assert customer.redacted_at is None
        assert customer.email == order["customer"]["email"]
        signals_now = session.scalar(
            select(func.count()).select_from(Signal).where(Signal.shop_id == first_shop.id)
        )
        assert signals_now == signals_before  # the dispute did not land on the first shop


def test_a_replayed_signed_request_with_a_new_webhook_id_changes_nothing_twice(
    pipeline: Pipeline,
) -> None:
    # given a refund delivery an attacker captured on the wire (Shopify's signature covers the
    # body only, so they can change the webhook id header)
    order = pipeline.order(pipeline.customer())
    order.refunds.append(
        Refund(
            id=pipeline.dev.store.next_id(),
            created_at=order.created_at,
            note="Late",
            amount=Decimal("40.00"),
        )
    )
    wait_for(lambda: order_known(pipeline.app, order.gid))  # its orders/create came first
    body = as_body(refund_payload(order))
    client = pipeline.app.test_client()
    first = client.post(
        "/webhooks/shopify", data=body, headers=shopify_headers("refunds/create", body)
    )
    pipeline.tagged(order)
    wait_for(pipeline.settled)
    writes = dict(pipeline.dev.admin.stats.mutations)
    signals = signal_count(pipeline.app)

    # when it is replayed: as captured, and with fresh webhook ids
    again = client.post(
        "/webhooks/shopify",
        data=body,
        headers=shopify_headers(
            "refunds/create", body, webhook_id=first.request.headers["X-Shopify-Webhook-Id"]
        ),
    )
    fresh = [
        client.post("/webhooks/shopify", data=body, headers=shopify_headers("refunds/create", body))
        for _ in range(3)
    ]
    wait_for(lambda: settled_all(pipeline.app))

    # then the copy is a duplicate, the fresh ones are processed to no effect: no new signal,
    # one incident, and not one more tag write
    assert again.json["outcome"] == "duplicate"
    assert [r.json["outcome"] for r in fresh] == ["accepted"] * 3
    assert signal_count(pipeline.app) == signals
    assert len(pipeline.incidents()) == 1
    assert dict(pipeline.dev.admin.stats.mutations) == writes


def order_known(app: Flask, gid: str) -> bool:
    with state(app).sessions() as session:
        found = session.scalar(select(Order).where(Order.shopify_id == gid))
        return found is not None and found.total_price is not None


def signal_count(app: Flask) -> int:
    with state(app).sessions() as session:
        return session.scalar(select(func.count()).select_from(Signal)) or 0


def settled_all(app: Flask) -> bool:
    with state(app).sessions() as session:
        waiting = session.scalar(
            select(func.count()).where(Delivery.status.in_(PENDING_DELIVERIES))
        )
        busy = session.scalar(
            select(func.count()).where(
                Incident.needs_attention.is_(True) | Incident.later_due_at.is_not(None)
            )
        )
    return waiting == 0 and busy == 0


@pytest.fixture
def pipeline(make_app: Callable[..., Flask], devstore: RunningDevStore) -> Iterator[Pipeline]:
    with running_pipeline(make_app, devstore) as running:
        yield running
