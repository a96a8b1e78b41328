"""Shopify's own sample payload for every topic Clout handles, signed, sent through intake and
processed (in this process, as the worker would): what each must leave behind.

The samples come from Shopify (tests/fixtures/shopify/SOURCES.md), not from Clout's emulator, so a
field Clout assumes and Shopify does not send shows up here first."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from service.core.models import (
    Backfill,
    Customer,
    DataRequest,
    Delivery,
    Order,
    Refund,
    Shop,
    Signal,
)
from service.deliveries.lifecycle import process_delivery
from service.deliveries.topics import TOPIC_HANDLERS
from tests.support.clout import RunningDevStore, process_delivery_now, state
from tests.support.helpers import SHOP, as_body, sample_file, shopify_headers, shopify_sample

SAMPLE_ORDER = "gid://shopify/Order/820982911946154508"


def deliver(
    client: FlaskClient, app: Flask, topic: str, payload: dict[str, Any], *, shopify: bool = False
) -> str:
    """Send a signed delivery to intake, then process it once (`shopify`: asking the app's
    Shopify, as a worker does); its final status."""
    body = as_body(payload)
    answer = client.post("/webhooks/shopify", data=body, headers=shopify_headers(topic, body))
    assert answer.status_code == 200, answer.json
    assert answer.json["outcome"] == "accepted"
    return process_delivery_now(app, answer.json["delivery_id"], shopify=shopify)


def sample(topic: str) -> dict[str, Any]:
    return shopify_sample(f"shopify/{sample_file(topic)}")


def signals(app: Flask) -> list[Signal]:
    with state(app).sessions() as session:
        return list(session.scalars(select(Signal).order_by(Signal.id)))


def sentences(signal: Signal) -> list[str]:
    return list((signal.detail or {}).get("sentences", []))


@pytest.mark.parametrize("topic", ["orders/create", "orders/updated", "orders/cancelled"])
def test_shopifys_order_sample_is_a_cancellation_by_the_customer(
    client: FlaskClient, app: Flask, shop: Shop, topic: str
) -> None:
    # given Shopify's sample order: cancelled by the customer (cancel_reason "customer")
    # when it arrives on each order topic
    assert deliver(client, app, topic, sample(topic)) == "done"

    # then the order is stored with its customer, and the cancellation is one signal
    with state(app).sessions() as session:
        order = session.scalar(select(Order).where(Order.shopify_id == SAMPLE_ORDER))
        assert order is not None
        assert order.total_price == Decimal("404.95")
        assert order.customer is not None
        assert order.customer.shopify_id == "gid://shopify/Customer/115310627314723954"
    [signal] = signals(app)
    assert (signal.kind, signal.reason) == ("cancellation", "customer_cancelled")


def test_shopifys_refund_sample_reads_what_moved_not_what_was_itemised(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    # given Shopify's sample order (404.95 USD)
    deliver(client, app, "orders/create", sample("orders/create"))

    # when Shopify's sample refund arrives: four line items (164.96 of subtotals) refunded,
    # two successful refund transactions moving 75.00 and 10.00, currency null on both
    assert deliver(client, app, "refunds/create", sample("refunds/create")) == "done"

    # then the refund is what moved, in the shop's currency, and it reads as partial
    with state(app).sessions() as session:
        [refund] = session.scalars(select(Refund))
        assert (refund.amount, refund.currency) == (Decimal("85.00"), "USD")
    refund_signal = next(s for s in signals(app) if s.kind == "refund")
    assert refund_signal.reason == "refund_partial"
    assert sentences(refund_signal)[0] == "was refunded 85.00 USD of 404.95 USD"
    # and its note, "Things were damaged", is read: a broken item makes the case high
    assert "it arrived damaged or spoiled, or stopped working" in sentences(refund_signal)
    assert refund_signal.severity == "high"


@pytest.mark.parametrize("topic", ["disputes/create", "disputes/update"])
def test_shopifys_dispute_sample_is_a_chargeback_on_its_order(
    client: FlaskClient, app: Flask, shop: Shop, topic: str
) -> None:
    deliver(client, app, "orders/create", sample("orders/create"))

    assert deliver(client, app, topic, sample(topic)) == "done"

    dispute = next(s for s in signals(app) if s.kind == "dispute")
    assert (dispute.reason, dispute.severity) == ("chargeback", "critical")
    assert sentences(dispute) == ["opened a chargeback with their bank (fraudulent)"]
    with state(app).sessions() as session:
        order = session.get(Order, dispute.order_id)
        assert order is not None
        assert order.shopify_id == SAMPLE_ORDER


def test_the_dispute_update_of_the_same_dispute_adds_no_second_signal(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    deliver(client, app, "disputes/create", sample("disputes/create"))

    deliver(client, app, "disputes/update", sample("disputes/update"))

    assert [s.kind for s in signals(app)] == ["dispute"]


def test_shopifys_return_request_sample_is_a_return_on_the_order_it_names(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    # given a return request for an order Clout has not seen (Shopify's sample names
    # gid://shopify/Order/4783296544821 in an `order` object), with no line items listed
    assert deliver(client, app, "returns/request", sample("returns/request")) == "done"

    [signal] = signals(app)
    assert (signal.kind, signal.reason) == ("return", "return_requested")
    with state(app).sessions() as session:
        order = session.get(Order, signal.order_id)
        assert order is not None
        assert order.shopify_id == "gid://shopify/Order/4783296544821"


def test_shopifys_fulfillment_event_sample_in_transit_is_no_complaint(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    deliver(client, app, "orders/create", sample("orders/create"))
    before = signals(app)

    assert (
        deliver(client, app, "fulfillment_events/create", sample("fulfillment_events/create"))
        == "done"
    )

    # an "in_transit" event is carrier news, not unhappiness: it only dates the last update
    assert [s.id for s in signals(app)] == [s.id for s in before]
    with state(app).sessions() as session:
        order = session.scalar(select(Order).where(Order.shopify_id == SAMPLE_ORDER))
        assert order is not None
        assert order.last_carrier_update_at is not None


@pytest.mark.parametrize("topic", ["customers/create", "customers/update"])
def test_shopifys_customer_sample_is_kept_as_the_customer(
    client: FlaskClient, app: Flask, shop: Shop, topic: str
) -> None:
    assert deliver(client, app, topic, sample(topic)) == "done"

    with state(app).sessions() as session:
        customer = session.scalar(
            select(Customer).where(
                Customer.shopify_id == "gid://shopify/Customer/706405506930370084"
            )
        )
        assert customer is not None
        assert (customer.first_name, customer.email) == ("Bob", "bob@biller.com")
    assert signals(app) == []


def a_customer_known_as_the_tag_samples_one(client: FlaskClient, app: Flask) -> None:
    # The tag samples name gid://shopify/Customer/1: Shopify's customer sample, renumbered.
    renumbered = {"id": 1, "admin_graphql_api_id": "gid://shopify/Customer/1"}
    assert deliver(
        client, app, "customers/create", {**sample("customers/create"), **renumbered}
    ) == ("done")


def tags_of_customer_1(app: Flask) -> list[str]:
    with state(app).sessions() as session:
        customer = session.scalar(
            select(Customer).where(Customer.shopify_id == "gid://shopify/Customer/1")
        )
        assert customer is not None
        return [t.strip() for t in (customer.tags or "").split(",") if t.strip()]


def test_shopifys_tag_samples_add_and_take_off_the_customers_tags(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    # given a customer Clout knows, tagged "vip" when Clout read them
    a_customer_known_as_the_tag_samples_one(client, app)
    with state(app).sessions() as session:
        customer = session.scalars(select(Customer)).one()
        customer.tags = "vip"
        session.commit()

    # when Shopify says tags were added (its sample: tag1, tag2), then taken off
    assert deliver(client, app, "customer.tags_added", sample("customer.tags_added")) == "done"
    added = tags_of_customer_1(app)
    assert deliver(client, app, "customer.tags_removed", sample("customer.tags_removed")) == (
        "done"
    )

    # then Clout's copy follows: the merchant's other tag stays throughout
    assert sorted(added) == ["tag1", "tag2", "vip"]
    assert tags_of_customer_1(app) == ["vip"]
    assert signals(app) == []


def test_tags_of_a_customer_clout_does_not_know_change_nothing(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    # Clout reads an unknown customer's tags when it first looks them up
    assert deliver(client, app, "customer.tags_added", sample("customer.tags_added")) == "done"

    with state(app).sessions() as session:
        assert session.scalars(select(Customer)).all() == []


def test_shopifys_app_uninstalled_sample_stops_the_shop(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given the merchant removed the app (Shopify refuses its token from then on)
    devstore.store.uninstall()
    uninstalled = sample("app/uninstalled")

    assert deliver(clout.test_client(), clout, "app/uninstalled", uninstalled, shopify=True) == (
        "done"
    )

    with state(clout).sessions() as session:
        stored = session.scalar(select(Shop).where(Shop.domain == SHOP))
        assert stored is not None
        assert stored.status == "uninstalled"


def test_shopifys_bulk_operation_sample_carries_the_import_waiting_on_it_on(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    # given a history import waiting on the bulk operation Shopify's sample names
    with state(app).sessions() as session:
        waiting = Backfill(
            shop_id=shop.id,
            status="running",
            bulk_operation_id="gid://shopify/BulkOperation/147595010",
        )
        session.add(waiting)
        session.commit()
    body = as_body(sample("bulk_operations/finish"))
    answer = client.post(
        "/webhooks/shopify",
        data=body,
        headers=shopify_headers("bulk_operations/finish", body),
    )

    # when the worker processes the delivery
    outcome = process_delivery(
        sessions=state(app).sessions,
        delivery_id=answer.json["delivery_id"],
        handlers=TOPIC_HANDLERS,
        max_attempts=1,
        stale_after=600,
    )

    # then the import is rung on at once, the delivery done
    assert (outcome.status, outcome.backfills) == ("done", (waiting.id,))


def test_a_bulk_operation_no_import_waits_on_changes_nothing(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    assert deliver(client, app, "bulk_operations/finish", sample("bulk_operations/finish")) == (
        "done"
    )


def test_shopifys_data_request_sample_is_recorded_for_the_merchant(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    assert (
        deliver(client, app, "customers/data_request", sample("customers/data_request")) == "done"
    )

    with state(app).sessions() as session:
        [request] = session.scalars(select(DataRequest))
        assert request.request_id == "9999"


def test_shopifys_redact_samples_erase_what_they_name(
    clout: Flask, devstore: RunningDevStore
) -> None:
    app, client = clout, clout.test_client()
    # given the customer the redaction sample names (id 191167), with an order Clout stored
    order = sample("orders/create")
    order["customer"] = {**order["customer"], "id": 191167}
    deliver(client, app, "orders/create", order)

    # when the customer is redacted, then the shop
    assert deliver(client, app, "customers/redact", sample("customers/redact")) == "done"
    with state(app).sessions() as session:
        customer = session.scalar(
            select(Customer).where(Customer.shopify_id == "gid://shopify/Customer/191167")
        )
        assert customer is None or customer.redacted_at is not None
    devstore.store.uninstall()  # Shopify sends shop/redact 48 hours after an uninstall
    deliver(client, app, "shop/redact", sample("shop/redact"), shopify=True)

    # then nothing of the shop is left
    with state(app).sessions() as session:
        assert session.scalars(select(Order)).all() == []
        assert session.scalars(select(Delivery).where(Delivery.shop_domain == SHOP)).all() == []
