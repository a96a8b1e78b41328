"""The emulator's webhooks reach Clout's real intake, signed, and are retried on failure."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from service.core.models import Delivery, Shop
from service.dev.devstore.seed import seed_store
from service.dev.devstore.webhooks import WebhookSender
from tests.support.clout import RunningDevStore, process_delivery_now, state
from tests.support.helpers import SECRET, wait_for


@pytest.fixture
def intake_url(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/webhooks/shopify"
    server.shutdown()
    thread.join()


def test_a_tag_change_in_the_store_arrives_at_clouts_intake_signed(
    app: Flask, shop: Shop, devstore: RunningDevStore, intake_url: str
) -> None:
    seed_store(devstore.store, customers=5, orders=5, seed=3)
    order = next(iter(devstore.store.orders.values()))
    sender = WebhookSender(devstore.store, url=intake_url, secret=SECRET).start()
    try:
        from service.dev.devstore.schema import _change_tags

        _change_tags(devstore.store, order.gid, ["vip"], add=True)
        wait_for(lambda: sender.sent and sender.sent[0].delivered)
    finally:
        sender.stop()

    assert sender.sent[0].attempts == [200]
    with state(app).sessions() as session:
        delivery = session.scalar(select(Delivery))
        assert delivery is not None
        assert delivery.topic == "orders/updated"
        assert b'"tags": "vip"' in (delivery.body or b"")


def test_a_failed_delivery_is_retried_until_it_is_accepted(devstore: RunningDevStore) -> None:
    answers = [503, 500, 200]
    seen: list[dict[str, Any]] = []

    def flaky(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append({"topic": environ.get("HTTP_X_SHOPIFY_TOPIC")})
        status = answers.pop(0)
        start_response(f"{status} X", [("Content-Type", "text/plain")])
        return [b""]

    server = make_server("127.0.0.1", 0, flaky, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    sender = WebhookSender(
        devstore.store,
        url=f"http://127.0.0.1:{server.server_port}/",
        secret=SECRET,
        retry_delays=(0.05, 0.05, 0.05),
    ).start()
    try:
        delivery = sender.send("orders/create", {"id": 1, "total_price": str(Decimal("1.00"))})
        wait_for(lambda: delivery.delivered)
    finally:
        sender.stop()
        server.shutdown()
        thread.join()

    assert delivery.attempts == [503, 500, 200]
    assert [s["topic"] for s in seen] == ["orders/create"] * 3


def test_without_a_fixed_address_webhooks_follow_the_subscriptions_made_through_the_api(
    app: Flask, shop: Shop, devstore: RunningDevStore, intake_url: str
) -> None:
    # given a subscription for orders/updated made through the Admin API, as Clout makes them
    devstore.store.subscriptions.append(
        {"id": "gid://shopify/WebhookSubscription/1", "topic": "ORDERS_UPDATED", "uri": intake_url}
    )
    order = devstore.store.add_purchase(devstore.store.add_person("a@example.org"))
    sender = WebhookSender(devstore.store, url=None, secret=SECRET).start()
    try:
        from service.dev.devstore.schema import _change_tags

        # when the order changes (and a customer change, which nobody subscribed to)
        _change_tags(devstore.store, order.gid, ["vip"], add=True)
        _change_tags(devstore.store, f"gid://shopify/Customer/{order.customer_id}", ["x"], add=True)
        wait_for(lambda: sender.sent and sender.sent[0].delivered)
    finally:
        sender.stop()

    # then only the subscribed topic went out, to the subscribed address
    assert [(s.topic, s.url) for s in sender.sent] == [("orders/updated", intake_url)]


def test_a_customers_new_tag_arrives_as_customer_tags_added_with_the_tags_added(
    app: Flask, shop: Shop, devstore: RunningDevStore, intake_url: str
) -> None:
    # given a customer in the store, and the store sending its webhooks to Clout
    seed_store(devstore.store, customers=3, orders=3, seed=5)
    person = next(iter(devstore.store.customers.values()))
    person.tags = ["wholesale"]
    sender = WebhookSender(devstore.store, url=intake_url, secret=SECRET).start()
    try:
        from service.dev.devstore.schema import _change_tags

        # when the merchant tags the customer, then takes the tag off again
        _change_tags(devstore.store, person.gid, ["clout-opt-out"], add=True)
        _change_tags(devstore.store, person.gid, ["clout-opt-out"], add=False)
        wait_for(lambda: len(sender.sent) == 4 and all(d.delivered for d in sender.sent))
    finally:
        sender.stop()

    # then, as Shopify does since API 2025-01 (customers' own webhooks carry no tags), each
    # change comes as customer.tags_added / customer.tags_removed naming only the tags changed
    with state(app).sessions() as session:
        bodies = {d.topic: json.loads(d.body or b"{}") for d in session.scalars(select(Delivery))}
    assert set(bodies) == {"customers/update", "customer.tags_added", "customer.tags_removed"}
    for topic in ("customer.tags_added", "customer.tags_removed"):
        assert bodies[topic]["customerId"] == person.gid
        assert bodies[topic]["tags"] == ["clout-opt-out"]
        assert "occurredAt" in bodies[topic]


def test_an_app_removed_through_the_api_is_uninstalled_as_shopify_does_it(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given Clout connected to the store, with a subscription made through the Admin API
    server = make_server("127.0.0.1", 0, clout, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    intake = f"http://127.0.0.1:{server.server_port}/webhooks/shopify"
    devstore.store.subscriptions.append(
        {"id": "gid://shopify/WebhookSubscription/1", "topic": "APP_UNINSTALLED", "uri": intake}
    )
    sender = WebhookSender(devstore.store, url=None, secret=SECRET).start()
    try:
        # when the app is removed with Shopify's own call
        removed = httpx.delete(
            f"{devstore.url}/admin/api_permissions/current.json",
            headers={"X-Shopify-Access-Token": devstore.token},
        )
        wait_for(lambda: sender.sent and sender.sent[0].delivered)
    finally:
        sender.stop()
        server.shutdown()
        thread.join()

    # then app/uninstalled reached Clout, the token no longer works, the subscriptions are gone
    assert removed.status_code == 200
    assert [s.topic for s in sender.sent] == ["app/uninstalled"]
    refused = httpx.post(
        f"{devstore.url}/admin/api/2026-07/graphql.json",
        headers={"X-Shopify-Access-Token": devstore.token},
        json={"query": "{ shop { name } }"},
    )
    assert refused.status_code == 401
    assert devstore.store.subscriptions == []
    # and a worker, finding Shopify refuses the token, disconnects the store
    with state(clout).sessions() as session:
        delivery = session.scalar(select(Delivery).where(Delivery.topic == "app/uninstalled"))
        assert delivery is not None
        delivery_id = delivery.id
    assert process_delivery_now(clout, delivery_id, shopify=True) == "done"
    with state(clout).sessions() as session:
        shop = session.scalar(select(Shop))
        assert shop is not None
        assert shop.status == "uninstalled"
