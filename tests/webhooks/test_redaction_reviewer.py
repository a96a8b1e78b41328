"""A redaction erases the person's review even when the review was linked to someone else.

A review names the order it is about: a gift's recipient, or a partner on a shared order,
reviews an order another customer bought, under their own name and email. Clout links the
review to the order's customer (the buyer). When Shopify asks to redact the reviewer, Clout
erased the reviews *linked to* the reviewer only: their email, name and words stay in the
`reviews` table, and (the buyer not being redacted) their words go on into
`clout text export-labels`."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from service.core.models import Base, DataRequest, Shop
from tests.support.clout import process_delivery_now, record_delivery_now, state
from tests.support.helpers import SHOP, as_body, fixture_json, shopify_headers

BUYER_EMAIL = "buyer.person@example.org"
REVIEWER_ID = 424242
REVIEWER_EMAIL = "gift.recipient.only@example.org"
REVIEWER_NAME = "Philippa Quennell"
WORDS = "The scarf I was given arrived torn and the shop never answered me."


def deliver(client: FlaskClient, app: Flask, topic: str, payload: dict[str, Any]) -> None:
    body = as_body(payload)
    response = client.post("/webhooks/shopify", data=body, headers=shopify_headers(topic, body))
    assert response.status_code == 200
    assert process_delivery_now(app, response.json["delivery_id"]) == "done"


def everything_stored(app: Flask) -> str:
    dump = []
    with state(app).engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(sa.select(table)):
                for value in row:
                    dump.append(
                        value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
                    )
    return "\n".join(dump)


def test_redacting_a_reviewer_erases_their_review_of_someone_elses_order(
    client: FlaskClient, app: Flask, review_shop: Shop
) -> None:
    # given an order bought by one customer
    order = fixture_json("shopify/orders_create.json")
    order.update(email=BUYER_EMAIL, contact_email=BUYER_EMAIL)
    order["customer"] = {**(order.get("customer") or {}), "email": BUYER_EMAIL}
    deliver(client, app, "orders/create", order)
    # and another person's review of it, naming the order, under their own name and email
    review = {
        "id": "rv-gift",
        "rating": 1,
        "body": WORDS,
        "email": REVIEWER_EMAIL,
        "name": REVIEWER_NAME,
        "order": str(order["id"]),
    }
    delivery_id = record_delivery_now(
        app, topic="reviews/generic", payload=review, source="generic"
    )
    assert process_delivery_now(app, delivery_id) == "done"
    assert WORDS in everything_stored(app)

    # when Shopify asks Clout to redact the reviewer
    redact = fixture_json("shopify/customers_redact.json")
    redact["shop_domain"] = SHOP
    redact["customer"] = {"id": REVIEWER_ID, "email": REVIEWER_EMAIL, "phone": None}
    redact["orders_to_redact"] = []
    deliver(client, app, "customers/redact", redact)

    # then nothing of theirs is left: not their email, their name, nor their words
    stored = everything_stored(app)
    for personal in (REVIEWER_EMAIL, REVIEWER_NAME, WORDS):
        assert personal not in stored, (personal, rows_holding_the_email(app))


def rows_holding_the_email(app: Flask) -> list[str]:
    """Where the reviewer's email still is (for the failure message)."""
    found = []
    with state(app).engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(sa.select(table)):
                if any(REVIEWER_EMAIL in str(v) for v in row):
                    found.append(f"{table.name}: {row}")
    return found


def test_a_reviewers_data_request_holds_their_review_of_someone_elses_order(
    client: FlaskClient, app: Flask, review_shop: Shop
) -> None:
    # given another person's review of an order a customer bought, linked to the buyer
    order = fixture_json("shopify/orders_create.json")
    order.update(email=BUYER_EMAIL, contact_email=BUYER_EMAIL)
    order["customer"] = {**(order.get("customer") or {}), "email": BUYER_EMAIL}
    deliver(client, app, "orders/create", order)
    review = {"id": "rv-gift", "rating": 1, "body": WORDS, "email": REVIEWER_EMAIL}
    review["order"] = str(order["id"])
    delivery_id = record_delivery_now(
        app, topic="reviews/generic", payload=review, source="generic"
    )
    assert process_delivery_now(app, delivery_id) == "done"

    # when the reviewer asks Shopify what the store's apps hold about them
    request = fixture_json("shopify/customers_data_request.json")
    request["shop_domain"] = SHOP
    request["customer"] = {"id": REVIEWER_ID, "email": REVIEWER_EMAIL, "phone": None}
    request["orders_requested"] = []
    deliver(client, app, "customers/data_request", request)

    # then their review is in the export
    with state(app).sessions() as session:
        export = session.scalars(sa.select(DataRequest)).one().export
    assert export is not None
    assert [r["body"] for r in export["reviews"]] == [WORDS]


def test_a_buyers_data_request_does_not_hand_them_someone_elses_email(
    client: FlaskClient, app: Flask, review_shop: Shop
) -> None:
    # given another person's review of an order a customer bought, linked to the buyer
    order = fixture_json("shopify/orders_create.json")
    order.update(email=BUYER_EMAIL, contact_email=BUYER_EMAIL)
    order["customer"] = {**(order.get("customer") or {}), "email": BUYER_EMAIL}
    deliver(client, app, "orders/create", order)
    review = {"id": "rv-gift", "rating": 1, "body": WORDS, "email": REVIEWER_EMAIL}
    review.update(name=REVIEWER_NAME, order=str(order["id"]))
    delivery_id = record_delivery_now(
        app, topic="reviews/generic", payload=review, source="generic"
    )
    assert process_delivery_now(app, delivery_id) == "done"

    # when the buyer asks Shopify what the store's apps hold about them
    request = fixture_json("shopify/customers_data_request.json")
    request["shop_domain"] = SHOP
    request["customer"] = {"id": order["customer"]["id"], "email": BUYER_EMAIL, "phone": None}
    request["orders_requested"] = [order["id"]]
    deliver(client, app, "customers/data_request", request)

    # then the export the merchant hands the buyer holds no one else's email or name
    with state(app).sessions() as session:
        export = session.scalars(sa.select(DataRequest)).one().export
    shown = json.dumps(export)
    assert REVIEWER_EMAIL not in shown
    assert REVIEWER_NAME not in shown
