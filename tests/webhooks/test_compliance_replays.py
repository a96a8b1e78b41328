"""The webhooks that disconnect or erase a store, believed only when Shopify agrees. Shopify
signs a webhook's body and nothing else, and its signature never expires: the delivery id that
makes a repeat a `duplicate` is a header anyone can change. A captured `app/uninstalled` or
`shop/redact` sent again after the merchant came back must not disconnect or erase the store;
a real uninstall (Shopify refuses the app's token) must."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from flask import Flask
from sqlalchemy import select

from service.core.db import session_scope
from service.core.models import Delivery, Order, Shop, utcnow
from service.deliveries import lifecycle
from service.deliveries.prepare import still_installed
from service.deliveries.topics import TOPIC_HANDLERS
from service.shopify.admin import ShopifyAdmin
from service.shopify.oauth import Grant, store_grant
from tests.support.clout import (
    RunningDevStore,
    connect_test_shop,
    process_delivery_now,
    state,
    work_on,
)
from tests.support.helpers import CLIENT_ID, SHOP, as_body, fixture_json, shopify_headers
from tests.webhooks.test_compliance_topics import an_order_by_the_customer

UNINSTALLED = {"id": 548380009, "myshopify_domain": SHOP}
TOKEN_AFTER_REINSTALL = "shpat_after_reinstall"


def shop_redact() -> dict[str, Any]:
    redact = fixture_json("shopify/shop_redact.json")
    redact["shop_domain"] = SHOP
    return redact


def deliver(app: Flask, topic: str, body: bytes) -> tuple[str, Delivery | None]:
    """The signed bytes through intake, under a delivery id of the sender's own, then worked
    once as a worker would (asking the emulator's Shopify): its status, and its row."""
    answer = app.test_client().post(
        "/webhooks/shopify", data=body, headers=shopify_headers(topic, body)
    )
    assert answer.status_code == 200, answer.json
    delivery_id = answer.json["delivery_id"]
    status = process_delivery_now(app, delivery_id, shopify=True)
    with state(app).sessions() as session:
        return status, session.get(Delivery, delivery_id)


def reinstall(app: Flask, devstore: RunningDevStore) -> None:
    """The merchant adds the app again: Shopify grants a new token, Clout stores it."""
    devstore.store.tokens.add(TOKEN_AFTER_REINSTALL)
    connect_test_shop(app, access_token=TOKEN_AFTER_REINSTALL)


def the_shop(app: Flask) -> Shop | None:
    with state(app).sessions() as session:
        return session.scalar(select(Shop).where(Shop.domain == SHOP))


def test_an_uninstall_shopify_confirms_disconnects_the_store(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given the merchant removes the app (Shopify revokes its token and sends the webhook)
    devstore.store.uninstall()

    # when the uninstall is delivered
    status, _ = deliver(clout, "app/uninstalled", as_body(UNINSTALLED))

    # then Clout stops calling the store and forgets its token
    shop = the_shop(clout)
    assert status == "done"
    assert shop is not None
    assert (shop.status, shop.access_token, shop.uninstalled_at is not None) == (
        "uninstalled",
        None,
        True,
    )


def test_an_old_app_uninstalled_replayed_after_a_reinstall_disconnects_nothing(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a merchant who uninstalled once and came back
    captured = as_body(UNINSTALLED)
    devstore.store.uninstall()
    deliver(clout, "app/uninstalled", captured)
    reinstall(clout, devstore)

    # when the uninstall's captured body is sent again under a new delivery id
    status, delivery = deliver(clout, "app/uninstalled", captured)

    # then it is set aside, and the store stays connected with its new token
    shop = the_shop(clout)
    assert status == "ignored"
    assert delivery is not None
    assert delivery.status == "ignored"
    assert delivery.last_error == (
        "Shopify still takes the store's token: the app is installed (a stale body)"
    )
    assert shop is not None
    assert (shop.status, shop.access_token is not None) == ("active", True)


def test_an_old_shop_redact_replayed_after_a_reinstall_erases_nothing(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a merchant who uninstalled, was erased 48 hours later, and came back with a new order
    captured = as_body(shop_redact())
    devstore.store.uninstall()
    deliver(clout, "app/uninstalled", as_body(UNINSTALLED))
    deliver(clout, "shop/redact", captured)
    reinstall(clout, devstore)
    order = as_body(an_order_by_the_customer(299938, "2026-03-01T00:00:00Z"))
    deliver(clout, "orders/create", order)

    # when someone who kept that shop/redact request sends it again
    status, _ = deliver(clout, "shop/redact", captured)

    # then the store, connected now, keeps its connection and its orders
    assert status == "ignored"
    shop = the_shop(clout)
    assert shop is not None
    assert shop.status == "active"
    with state(clout).sessions() as session:
        assert session.scalars(select(Order.shopify_id)).all() == ["gid://shopify/Order/299938"]


def test_a_shop_redact_after_an_uninstall_clout_never_heard_of_still_erases(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a store whose uninstall never reached Clout (its delivery lost), with an order
    deliver(
        clout, "orders/create", as_body(an_order_by_the_customer(299938, "2026-01-01T00:00:00Z"))
    )
    devstore.store.uninstall()

    # when Shopify's shop/redact arrives 48 hours later
    status, _ = deliver(clout, "shop/redact", as_body(shop_redact()))

    # then Shopify's refusal of the token confirms it, and everything of the store goes
    assert status == "done"
    assert the_shop(clout) is None
    with state(clout).sessions() as session:
        assert session.scalars(select(Order)).all() == []


def test_while_shopify_cannot_say_the_store_stays_connected_and_the_uninstall_waits(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given Shopify answering every call with an error
    devstore.admin.set_faults(error_rate=1.0)

    # when an uninstall arrives and a worker takes it
    body = as_body(UNINSTALLED)
    answer = clout.test_client().post(
        "/webhooks/shopify", data=body, headers=shopify_headers("app/uninstalled", body)
    )
    outcome = work_on(clout, answer.json["delivery_id"], max_attempts=8)

    # then nothing is disconnected on the body's word alone: the delivery is tried again later
    assert outcome.status == "retrying"
    with state(clout).sessions() as session:
        delivery = session.get(Delivery, answer.json["delivery_id"])
        assert delivery is not None
        assert delivery.last_error == (
            "TransientError: Shopify did not say whether the app is still installed"
        )
    shop = the_shop(clout)
    assert shop is not None
    assert (shop.status, shop.access_token is not None) == ("active", True)


def test_an_uninstall_of_a_store_whose_hour_long_token_ran_out_is_believed(
    make_app: Callable[..., Flask], devstore: RunningDevStore
) -> None:
    # given a public app's store, quiet for over an hour: its offline token ran out, and only
    # the (single-use) refresh token would get a new one
    app = make_app(SHOPIFY_API_KEY=CLIENT_ID, CLOUT_SHOPIFY_ADMIN_URL=devstore.url)
    devstore.store.refresh_tokens.add("shprt_quiet")
    now = utcnow()
    with session_scope(state(app).sessions) as session:
        store_grant(
            session=session,
            vault=state(app).vault,
            shop_domain=SHOP,
            now=now,
            grant=Grant(
                access_token="shpat_ran_out",
                scope="read_orders",
                expires_at=now - timedelta(hours=2),
                refresh_token="shprt_quiet",
                refresh_token_expires_at=now + timedelta(days=90),
            ),
        )

    # when the merchant removes the app (Shopify revokes the refresh token too) and the
    # uninstall is delivered
    devstore.store.uninstall()
    status, _ = deliver(app, "app/uninstalled", as_body(UNINSTALLED))

    # then Shopify's refusal to refresh is its refusal of the token: the store is disconnected
    shop = the_shop(app)
    assert status == "done"
    assert shop is not None
    assert shop.status == "uninstalled"


def forbidding(status: int) -> Callable[[Shop], ShopifyAdmin]:
    """A store's Admin API client that Shopify answers with `status` (no body of note)."""

    def admin_for(shop: Shop) -> ShopifyAdmin:
        http = httpx.Client(
            transport=httpx.MockTransport(
                lambda _: httpx.Response(status, json={"errors": "Forbidden"})
            )
        )
        return ShopifyAdmin(
            shop=shop.domain, access_token="shpat_live", api_version="2026-07", http=http
        )

    return admin_for


def test_a_403_is_no_word_that_the_app_was_removed(app: Flask, shop: Shop) -> None:
    # given a connected store Shopify answers 403 (a scope the call lacks, a store Shopify
    # holds for review): its token is not what is refused, the app may well be installed
    # when an app/uninstalled body is replayed for it
    clout = state(app)

    # when a worker asks whether the app is still installed
    answer = still_installed(
        sessions=clout.sessions,
        shop_id=shop.id,
        topic_key="app/uninstalled",
        admin_for=forbidding(403),
    )

    # then Shopify has not said so: the delivery waits (None), it does not disconnect (False)
    assert answer is None
    assert (
        still_installed(
            sessions=clout.sessions,
            shop_id=shop.id,
            topic_key="app/uninstalled",
            admin_for=forbidding(401),
        )
        is False
    )


def test_a_reinstall_while_shopify_answers_is_not_disconnected_by_the_old_refusal(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a merchant who removed the app, and an uninstall waiting for a worker
    devstore.store.uninstall()
    body = as_body(UNINSTALLED)
    answer = clout.test_client().post(
        "/webhooks/shopify", data=body, headers=shopify_headers("app/uninstalled", body)
    )
    delivery_id = answer.json["delivery_id"]

    def refused_while_the_merchant_comes_back(shop: Shop) -> ShopifyAdmin:
        def shopify(_: httpx.Request) -> httpx.Response:
            # Shopify refuses the old token; the merchant adds the app again meanwhile
            reinstall(clout, devstore)
            return httpx.Response(401, json={"errors": "Invalid API key or access token"})

        return ShopifyAdmin(
            shop=shop.domain,
            access_token="shpat_revoked",
            api_version="2026-07",
            http=httpx.Client(transport=httpx.MockTransport(shopify)),
        )

    # when the worker's question is answered with the old token's refusal
    with clout.app_context():
        outcome = lifecycle.process_delivery(
            sessions=state(clout).sessions,
            delivery_id=delivery_id,
            handlers=TOPIC_HANDLERS,
            max_attempts=8,
            stale_after=600,
            admin_for=refused_while_the_merchant_comes_back,
        )

    # then the store, connected again with a new token, is not disconnected by that answer:
    # the delivery waits, and asked again with the new token, Shopify says the app is there
    shop = the_shop(clout)
    assert outcome.status == "retrying"
    assert shop is not None
    assert (shop.status, shop.access_token is not None) == ("active", True)
    assert work_on(clout, delivery_id).status == "ignored"
    shop = the_shop(clout)
    assert shop is not None
    assert shop.status == "active"
