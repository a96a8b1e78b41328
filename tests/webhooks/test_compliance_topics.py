"""The mandatory privacy webhooks, through intake and their handlers (processed in the test's
thread, as a worker would)."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from service.cli import main
from service.core.models import Base, Customer, DataRequest, Delivery, Order, Shop
from tests.support.clout import RunningDevStore, process_delivery_now, state
from tests.support.helpers import SHOP, as_body, fixture_json, shopify_headers

CUSTOMER_ID = 191167
EMAIL = "jane.doe.unique@example.org"
PHONE = "555-625-1199"
NAME = "Wilhelmina"
ADDRESS = "17 Quiet Lane"


def deliver(
    client: FlaskClient, app: Flask, topic: str, payload: dict[str, Any], *, shopify: bool = False
) -> Delivery:
    """Through intake, then processed once (`shopify`: asking the app's Shopify, as a worker
    does); the delivery as it ended."""
    body = as_body(payload)
    response = client.post("/webhooks/shopify", data=body, headers=shopify_headers(topic, body))
    assert response.status_code == 200
    delivery_id = response.json["delivery_id"]
    process_delivery_now(app, delivery_id, shopify=shopify)
    with state(app).sessions() as session:
        found = session.get(Delivery, delivery_id)
        return found if found is not None else Delivery(id=delivery_id, status="erased")


def an_order_by_the_customer(order_id: int, updated_at: str) -> dict[str, Any]:
    order = fixture_json("shopify/orders_create.json")
    order.update(
        id=order_id,
        admin_graphql_api_id=f"gid://shopify/Order/{order_id}",
        email=EMAIL,
        contact_email=EMAIL,
        phone=PHONE,
        updated_at=updated_at,
        note=f"Please call {NAME}",
        note_attributes=[{"name": "gift", "value": NAME}],
    )
    order["customer"] = {
        "id": CUSTOMER_ID,
        "email": EMAIL,
        "first_name": NAME,
        "last_name": "Doe",
        "phone": PHONE,
        "default_address": {"address1": ADDRESS, "name": NAME},
    }
    order["shipping_address"] = {"address1": ADDRESS, "name": NAME, "phone": PHONE}
    order["billing_address"] = {"address1": ADDRESS, "name": NAME}
    return order


def everything_stored(app: Flask) -> str:
    """Every row of every table, as text, raw payloads included."""
    dump = []
    with state(app).engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(sa.select(table)):
                for value in row:
                    dump.append(
                        value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
                    )
    return "\n".join(dump)


def test_customers_redact_erases_the_customer_everywhere(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    # given a customer with two orders and a data request already answered
    deliver(client, app, "orders/create", an_order_by_the_customer(299938, "2026-01-01T00:00:00Z"))
    deliver(client, app, "orders/updated", an_order_by_the_customer(280263, "2026-01-02T00:00:00Z"))
    request = fixture_json("shopify/customers_data_request.json")
    request["shop_domain"] = SHOP
    request["customer"]["email"] = EMAIL
    deliver(client, app, "customers/data_request", request)
    assert EMAIL in everything_stored(app)

    # when Shopify asks for the customer to be redacted
    redact = fixture_json("shopify/customers_redact.json")
    redact["shop_domain"] = SHOP
    redact["customer"]["email"] = EMAIL
    done = deliver(client, app, "customers/redact", redact)

    # then none of their personal data remains in any table, raw payloads included
    assert done.status == "done"
    stored = everything_stored(app)
    for personal in (EMAIL, PHONE, NAME, ADDRESS):
        assert personal not in stored, personal
    # and the orders themselves (anonymous facts) are still known
    with state(app).sessions() as session:
        orders = session.scalars(select(Order)).all()
        assert {o.shopify_id for o in orders} == {
            "gid://shopify/Order/299938",
            "gid://shopify/Order/280263",
        }
        assert all(o.redacted_at is not None for o in orders)


def test_a_late_delivery_cannot_bring_a_redacted_customer_back(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    redact = fixture_json("shopify/customers_redact.json")
    redact["shop_domain"] = SHOP
    deliver(client, app, "customers/redact", redact)

    deliver(client, app, "orders/updated", an_order_by_the_customer(299938, "2026-02-01T00:00:00Z"))

    stored = everything_stored(app)
    assert EMAIL not in stored
    assert NAME not in stored


def test_a_data_request_is_assembled_for_the_merchant(
    client: FlaskClient, app: Flask, shop: Shop, settings: dict[str, Any]
) -> None:
    deliver(client, app, "orders/create", an_order_by_the_customer(299938, "2026-01-01T00:00:00Z"))
    request = fixture_json("shopify/customers_data_request.json")
    request["shop_domain"] = SHOP

    deliver(client, app, "customers/data_request", request)

    with state(app).sessions() as session:
        data_request = session.scalar(select(DataRequest))
        assert data_request is not None
        assert data_request.request_id == "9999"
    # the merchant retrieves it with the CLI
    env = {k: str(v) for k, v in settings.items() if k != "TESTING"}
    runner = CliRunner(env=env)
    listed = runner.invoke(main, ["data-requests", "list", "--shop", SHOP])
    assert listed.exit_code == 0, listed.output
    assert "request 9999" in listed.output
    shown = runner.invoke(main, ["data-requests", "show", str(data_request.id)])
    assert shown.exit_code == 0, shown.output
    export = json.loads(shown.output)
    assert export["customer"]["email"] == EMAIL
    assert export["customer"]["first_name"] == NAME
    assert [o["id"] for o in export["orders"]] == ["gid://shopify/Order/299938"]


def test_shop_redact_erases_everything_of_the_shop(clout: Flask, devstore: RunningDevStore) -> None:
    client = clout.test_client()
    order = an_order_by_the_customer(299938, "2026-01-01T00:00:00Z")
    deliver(client, clout, "orders/create", order)
    devstore.store.uninstall()
    deliver(client, clout, "app/uninstalled", {"id": 1, "myshopify_domain": SHOP}, shopify=True)
    redact = fixture_json("shopify/shop_redact.json")
    redact["shop_domain"] = SHOP

    deliver(client, clout, "shop/redact", redact, shopify=True)

    with state(clout).sessions() as session:
        for model in (Shop, Customer, Order, Delivery, DataRequest):
            assert session.scalars(select(model)).all() == [], model.__name__


def test_customers_redact_erases_their_reviews_words_and_name(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    from service.core.db import session_scope
    from service.core.models import utcnow
    from service.shopify.shops import register_shop
    from tests.support.helpers import REVIEW_SECRETS, signed_review

    clout = state(app)
    with session_scope(clout.sessions) as session:
        register_shop(
            session=session,
            vault=clout.vault,
            domain=SHOP,
            access_token="shpat_x",
            now=utcnow(),
            review_secrets={"generic": REVIEW_SECRETS["generic"]},
        )
    deliver(client, app, "orders/create", an_order_by_the_customer(299938, "2026-01-01T00:00:00Z"))
    body = json.dumps(
        {
            "id": "r1",
            "rating": 1,
            "body": f"Dreadful. Signed, {NAME}",
            "email": EMAIL,
            "name": f"{NAME} Doe",
            "order": "gid://shopify/Order/299938",
        }
    ).encode()
    headers, query = signed_review("generic", body)
    response = client.post(
        f"/webhooks/reviews/generic/{SHOP}", data=body, headers=headers, query_string=query
    )
    assert response.status_code == 200
    process_delivery_now(app, response.json["delivery_id"])
    assert NAME in everything_stored(app)
    assert "Dreadful" in everything_stored(app)

    redact = fixture_json("shopify/customers_redact.json")
    redact["shop_domain"] = SHOP
    deliver(client, app, "customers/redact", redact)

    stored = everything_stored(app)
    for personal in (EMAIL, NAME, "Dreadful"):
        assert personal not in stored, personal


OTHER_SHOP = "other-shop.myshopify.com"


def assert_nothing_erased(app: Flask) -> None:
    """The shop is still connected with its token, and its customer is as delivered."""
    with state(app).sessions() as session:
        stored = session.scalar(select(Shop))
        assert stored is not None
        assert (stored.status, stored.access_token is not None) == ("active", True)
        kept = session.scalar(select(Customer))
        assert kept is not None
        assert (kept.email, kept.redacted_at) == (EMAIL, None)


def test_a_signed_body_about_another_shop_erases_nothing_here(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    # given this shop with a customer, and signed compliance bodies another shop was sent
    # (Shopify signs the body, not the header: a captured one can be re-sent under any header)
    deliver(client, app, "orders/create", an_order_by_the_customer(299938, "2026-01-01T00:00:00Z"))
    theirs = {"shop_id": 999, "shop_domain": OTHER_SHOP}
    customer = {"id": CUSTOMER_ID, "email": EMAIL}

    # when each is delivered with this shop's header
    delivered = [
        deliver(
            client,
            app,
            "customers/data_request",
            {**theirs, "customer": customer, "data_request": {"id": 77}},
        ),
        deliver(client, app, "customers/redact", {**theirs, "customer": customer}),
        deliver(client, app, "app/uninstalled", {"id": 999, "myshopify_domain": OTHER_SHOP}),
        deliver(client, app, "shop/redact", theirs),
    ]

    # then each fails, saying why, and this shop, its customer and its token are all still here
    assert [d.status for d in delivered] == ["failed"] * 4
    assert {d.last_error for d in delivered} == {
        "PermanentError: the body does not name the delivery's shop"
    }
    assert_nothing_erased(app)
    with state(app).sessions() as session:
        assert session.scalars(select(DataRequest)).all() == []


def test_a_signed_body_of_another_topic_erases_nothing(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    # given this shop with a customer, and a signed order body of this very shop (any captured
    # delivery: Shopify signs the body, not the topic it is sent under)
    order = an_order_by_the_customer(299938, "2026-01-01T00:00:00Z")
    deliver(client, app, "orders/create", order)

    # when it is re-sent as each erasing topic, and with a body that names the shop loosely
    delivered = [
        deliver(client, app, "shop/redact", order),
        deliver(client, app, "app/uninstalled", order),
        deliver(client, app, "customers/redact", order),
        deliver(client, app, "shop/redact", {"shop_id": 1, "shop_domain": f"{SHOP}."}),
        deliver(client, app, "shop/redact", {"shop_id": 1, "shop_domain": None}),
        deliver(client, app, "shop/redact", {"shop_domain": SHOP}),
    ]

    # then each fails, and the shop, its token and its customer are all still here
    assert [d.status for d in delivered] == ["failed"] * 6
    assert_nothing_erased(app)


def test_a_late_delivery_cannot_bring_a_redacted_guest_order_back(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    # given a guest order (no customer object), redacted by its order id
    guest = an_order_by_the_customer(299938, "2026-01-01T00:00:00Z")
    del guest["customer"]
    deliver(client, app, "orders/create", guest)
    redact = fixture_json("shopify/customers_redact.json")
    redact["shop_domain"] = SHOP
    deliver(client, app, "customers/redact", redact)
    assert EMAIL not in everything_stored(app)

    # when a later update of that order arrives (sent before the redaction, delivered after)
    deliver(client, app, "orders/updated", {**guest, "updated_at": "2026-02-01T00:00:00Z"})

    # then the order's personal data stays erased
    stored = everything_stored(app)
    for personal in (EMAIL, PHONE, NAME, ADDRESS):
        assert personal not in stored, personal


def test_a_late_delivery_cannot_bring_a_redacted_customers_discount_codes_back(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    # given a customer's order with a referral code that names someone, then redacted
    order = an_order_by_the_customer(299938, "2026-01-01T00:00:00Z")
    order["discount_codes"] = [{"code": "WILHELMINA-FRIEND", "amount": "10.00", "type": "fixed"}]
    deliver(client, app, "orders/create", order)
    redact = fixture_json("shopify/customers_redact.json")
    redact["shop_domain"] = SHOP
    deliver(client, app, "customers/redact", redact)
    assert "WILHELMINA" not in everything_stored(app)

    # when a later update of that order arrives
    deliver(client, app, "orders/updated", {**order, "updated_at": "2026-02-01T00:00:00Z"})

    # then the code erased with the customer's other data does not come back
    assert "WILHELMINA" not in everything_stored(app)


def test_customers_redact_erases_a_review_kept_before_clout_knew_the_customer(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    from service.core.db import session_scope
    from service.core.models import utcnow
    from service.shopify.shops import register_shop
    from tests.support.helpers import REVIEW_SECRETS, signed_review

    clout = state(app)
    with session_scope(clout.sessions) as session:
        register_shop(
            session=session,
            vault=clout.vault,
            domain=SHOP,
            access_token="shpat_x",
            now=utcnow(),
            review_secrets={"generic": REVIEW_SECRETS["generic"]},
        )
    # given a review from an email no customer Clout knows has (kept on a stand-in)
    body = json.dumps(
        {"id": "r2", "rating": 1, "body": f"Dreadful. Signed, {NAME}", "email": EMAIL}
    ).encode()
    headers, query = signed_review("generic", body)
    response = client.post(
        f"/webhooks/reviews/generic/{SHOP}", data=body, headers=headers, query_string=query
    )
    assert response.status_code == 200
    process_delivery_now(app, response.json["delivery_id"])
    assert "Dreadful" in everything_stored(app)

    # when Shopify asks for the customer with that email to be redacted
    redact = fixture_json("shopify/customers_redact.json")
    redact["shop_domain"] = SHOP
    redact["customer"]["email"] = EMAIL
    deliver(client, app, "customers/redact", redact)

    # then their words, name and email are gone with the rest of their data
    stored = everything_stored(app)
    for personal in (EMAIL, NAME, "Dreadful"):
        assert personal not in stored, personal
