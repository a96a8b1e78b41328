"""Redaction against data Clout has recorded but not yet read, and against work that runs after
it (a probe of gaps: each test states what SECURITY.md promises)."""

from __future__ import annotations

import json
from decimal import Decimal

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from service.core.db import session_scope
from service.core.models import Customer, Delivery, Incident, InfluenceProfile, Shop, utcnow
from service.influence.profiles import rebuild_shop
from tests.support.clout import (
    RunningDevStore,
    attend_now,
    chargeback,
    connect_test_shop,
    process_delivery_now,
    record_delivery_now,
    state,
    the_incident,
)
from tests.support.helpers import REVIEW_SECRETS, SHOP, fixture_json, signed_review
from tests.webhooks.test_compliance_topics import (
    CUSTOMER_ID,
    EMAIL,
    NAME,
    an_order_by_the_customer,
    deliver,
    everything_stored,
)


def _with_generic_reviews(app: Flask) -> None:
    connect_test_shop(app, {"generic": REVIEW_SECRETS["generic"]})


def test_customers_redact_erases_a_review_delivery_not_yet_processed(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    _with_generic_reviews(app)
    deliver(client, app, "orders/create", an_order_by_the_customer(299938, "2026-01-01T00:00:00Z"))
    # given a review by the customer, recorded by intake and still waiting for a worker
    body = json.dumps(
        {"id": "r9", "rating": 1, "body": f"Dreadful. Signed, {NAME}", "email": EMAIL}
    ).encode()
    headers, query = signed_review("generic", body)
    response = client.post(
        f"/webhooks/reviews/generic/{SHOP}", data=body, headers=headers, query_string=query
    )
    assert response.status_code == 200
    waiting = response.json["delivery_id"]

    # when Shopify asks for the customer to be redacted
    redact = fixture_json("shopify/customers_redact.json")
    redact["shop_domain"] = SHOP
    redact["customer"]["email"] = EMAIL
    deliver(client, app, "customers/redact", redact)

    # then nothing of theirs is left, the waiting raw body included
    stored = everything_stored(app)
    for personal in (EMAIL, NAME, "Dreadful"):
        assert personal not in stored, personal
    # nor does the waiting delivery, processed afterwards, bring their words back
    process_delivery_now(app, waiting)
    stored = everything_stored(app)
    for personal in (EMAIL, NAME, "Dreadful"):
        assert personal not in stored, personal


def test_a_profile_rebuild_does_not_profile_a_redacted_customer_again(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    for order_id, day in ((299938, "01"), (280263, "02")):
        order = an_order_by_the_customer(order_id, f"2026-01-{day}T00:00:00Z")
        order.update(cancelled_at=None, cancel_reason=None, financial_status="paid")
        deliver(client, app, "orders/create", order)
    redact = fixture_json("shopify/customers_redact.json")
    redact["shop_domain"] = SHOP
    redact["customer"]["id"] = CUSTOMER_ID
    deliver(client, app, "customers/redact", redact)

    # when the operator rebuilds the shop's profiles (as every history import also does)
    clout = state(app)
    with session_scope(clout.sessions) as session:
        stored_shop = session.scalar(select(Shop).where(Shop.domain == SHOP))
        assert stored_shop is not None
        rebuild_shop(
            session=session, shop=stored_shop, klout=None, opt_out_tag="no-profile", now=utcnow()
        )

    # then the customer who asked to be forgotten has no influence profile again
    with clout.sessions() as session:
        redacted = session.scalar(
            select(Customer).where(Customer.shopify_id == f"gid://shopify/Customer/{CUSTOMER_ID}")
        )
        assert redacted is not None
        assert redacted.redacted_at is not None
        profile = session.scalar(
            select(InfluenceProfile).where(InfluenceProfile.customer_id == redacted.id)
        )
        assert profile is None, (profile.clout_score, profile.reasons, profile.sources)


def test_a_redacted_customers_late_case_gets_the_floor_but_no_profile(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a chargeback on a customer's order, then Shopify's request to erase that customer
    person, order = chargeback(clout, devstore, total=Decimal("810.00"))
    redact = fixture_json("shopify/customers_redact.json")
    redact |= {
        "shop_domain": SHOP,
        "customer": {"id": person.id, "email": person.email},
        "orders_to_redact": [order.id],
    }
    assert process_delivery_now(
        clout, record_delivery_now(clout, topic="customers/redact", payload=redact)
    ) == ("done")

    # when the case is attended to
    incident_id = the_incident(clout)
    assert attend_now(clout, incident_id) == "attended"

    # then the order carries the attention tag, and Clout made no profile of them again
    assert "clout-attention" in devstore.store.orders[order.id].tags
    with state(clout).sessions() as session:
        assert session.scalars(select(InfluenceProfile)).all() == []
        case = session.get(Incident, incident_id)
        assert case is not None
        assert (case.influence or {}).get("clout") is None


def test_customers_redact_keeps_a_waiting_review_by_someone_whose_email_contains_theirs(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    # given a review waiting for a worker, by someone whose address holds the customer's
    _with_generic_reviews(app)
    other = f"mary{EMAIL}m"  # "maryjane.doe.unique@example.orgm": not the customer
    body = json.dumps({"id": "r10", "rating": 1, "body": "Late.", "email": other}).encode()
    headers, query = signed_review("generic", body)
    response = client.post(
        f"/webhooks/reviews/generic/{SHOP}", data=body, headers=headers, query_string=query
    )
    waiting = response.json["delivery_id"]

    # when Shopify asks for the customer to be redacted
    redact = fixture_json("shopify/customers_redact.json")
    redact["shop_domain"] = SHOP
    redact["customer"]["email"] = EMAIL
    deliver(client, app, "customers/redact", redact)

    # then the other person's review is still there to be read
    with state(app).sessions() as session:
        kept = session.get(Delivery, waiting)
        assert kept is not None
        assert kept.body == body
