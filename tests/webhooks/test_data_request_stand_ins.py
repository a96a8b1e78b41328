"""A customer's data request must return what Clout keeps of them before it knew who they were.

A review from an address Clout has no customer for (the review came before the customer's own
webhooks, or past a batch's lookups) is kept on a stand-in customer (`reviewer:…`) holding the
email, the name and the words. `customers/redact` erases those stand-ins by the email Shopify's
request names; `customers/data_request` must export them by the same email, or the merchant
hands the customer an export that leaves out the very review that made them a case."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from service.core.models import Customer, DataRequest, Shop
from tests.support.clout import process_delivery_now, record_delivery_now, state
from tests.support.helpers import SHOP, as_body, fixture_json, shopify_headers

EMAIL = "wilhelmina.reviewer@example.org"
WORDS = "The lamp arrived smashed and nobody answers my emails. I want my money back."


def deliver(client: FlaskClient, app: Flask, topic: str, payload: dict[str, Any]) -> None:
    body = as_body(payload)
    response = client.post("/webhooks/shopify", data=body, headers=shopify_headers(topic, body))
    assert response.status_code == 200
    assert process_delivery_now(app, response.json["delivery_id"]) == "done"


def test_a_data_request_exports_the_review_kept_under_the_customers_email(
    client: FlaskClient, app: Flask, review_shop: Shop
) -> None:
    # given a 1★ review from an address Clout knows no customer by: kept on a stand-in
    review = {"id": "rv-7", "rating": 1, "body": WORDS, "email": EMAIL, "name": "Wilhelmina"}
    delivery_id = record_delivery_now(
        app, topic="reviews/generic", payload=review, source="generic"
    )
    assert process_delivery_now(app, delivery_id) == "done"
    with state(app).sessions() as session:
        stand_in = session.scalars(select(Customer)).one()
        assert stand_in.shopify_id.startswith("reviewer:")

    # when Shopify asks, for the customer with that email, what Clout holds about them
    request = fixture_json("shopify/customers_data_request.json")
    request["shop_domain"] = SHOP
    request["customer"]["email"] = EMAIL
    deliver(client, app, "customers/data_request", request)

    # then the export holds their review, as a redaction of the same customer would erase it
    with state(app).sessions() as session:
        export = session.scalars(select(DataRequest)).one().export
    assert export is not None
    assert WORDS in [r["body"] for r in export["reviews"]], export
