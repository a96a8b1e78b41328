"""Working with a Clout built for a test: its state, a connected shop, deliveries recorded and
processed in the test's own thread (no worker), and the emulator's handle."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from service.agents.desk import close_case
from service.attention.attend import attend_incident, attend_later
from service.core import db
from service.core.models import Incident, Shop, utcnow
from service.core.state import Clout
from service.deliveries import lifecycle
from service.deliveries.topics import TOPIC_HANDLERS
from service.dev.devstore.server import DevAdmin
from service.dev.devstore.store import DevStore
from service.dev.devstore.store import Order as DevOrder
from service.dev.devstore.webhooks import order_payload
from service.shopify.shops import register_shop
from tests.support.helpers import SHOP
from workers.tasks import admin_factory, tag_settings

DEVSTORE_TOKEN = "shpat_devstore_test_token"
TEST_TOKEN = "shpat_test_token_0123456789"  # a shop's token where no Admin API is called


def state(flask_app: Flask) -> Clout:
    clout: Clout = flask_app.extensions["clout"]
    return clout


def connect_test_shop(
    app: Flask,
    review_secrets: dict[str, str] | None = None,
    *,
    domain: str = SHOP,
    access_token: str = TEST_TOKEN,
) -> Shop:
    """The shop connected as `clout shops add` leaves it (the emulator's token, to talk to it)."""
    clout = state(app)
    with db.session_scope(clout.sessions) as session:
        return register_shop(
            session=session,
            vault=clout.vault,
            domain=domain,
            access_token=access_token,
            now=utcnow(),
            review_secrets=review_secrets,
        )


@dataclass
class RunningDevStore:
    store: DevStore
    admin: DevAdmin
    url: str
    token: str


def record_delivery_now(
    app: Flask,
    *,
    topic: str,
    payload: object = None,
    shop_domain: str = SHOP,
    source: str = "shopify",
    raw: bytes | None = None,
) -> int:
    """Record a delivery as intake would after its checks (a review platform's with `source`
    and topic `reviews/<provider>`); its id. `raw` is the body as sent, where `payload` would
    not serialise to it (a trailing comma, an escape)."""
    clout = state(app)
    with db.session_scope(clout.sessions) as session:
        return lifecycle.record_delivery(
            session=session,
            source=source,
            webhook_id=str(uuid.uuid4()),
            topic=topic,
            shop_domain=shop_domain,
            body=raw if raw is not None else json.dumps(payload).encode(),
        ).delivery_id


def process_delivery_now(app: Flask, delivery_id: int, *, shopify: bool = False) -> str:
    """Process one delivery in this thread, once (no retries), as a worker would; its status.
    With `shopify`, lookups go to the app's Admin API (CLOUT_SHOPIFY_ADMIN_URL)."""
    clout = state(app)
    with app.app_context():
        return lifecycle.process_delivery(
            sessions=clout.sessions,
            delivery_id=delivery_id,
            handlers=TOPIC_HANDLERS,
            max_attempts=1,
            stale_after=600,
            admin_for=admin_factory(clout) if shopify else None,
        ).status


def work_on(
    app: Flask, delivery_id: int, *, attend: bool = True, max_attempts: int = 1
) -> lifecycle.Outcome:
    """A worker's whole turn at a delivery, in this thread: lookups in the app's Shopify, the
    handler, then attendance of every case it touched (tags, priority, deadline); without
    `attend`, the attendance is left to the caller (as when another worker takes it).
    `max_attempts` as the delivery's retry budget (one: a failure is final)."""
    clout = state(app)
    with app.app_context():
        outcome = lifecycle.process_delivery(
            sessions=clout.sessions,
            delivery_id=delivery_id,
            handlers=TOPIC_HANDLERS,
            max_attempts=max_attempts,
            stale_after=600,
            admin_for=admin_factory(clout),
            tag_settings=tag_settings(clout),
        )
        for incident_id in outcome.incidents if attend else ():
            attend_now(app, incident_id)
    return outcome


def attend_now(app: Flask, incident_id: int) -> str:
    """Attend to an incident in this thread as the workers would: its floor, then (once that
    landed) its later work; the floor's result."""
    clout = state(app)
    floor = attend_incident(
        sessions=clout.sessions,
        incident_id=incident_id,
        admin=admin_factory(clout),
        shop_settings=tag_settings(clout),
        now=utcnow(),
    )
    if floor == "attended":
        attend_later(
            sessions=clout.sessions,
            incident_id=incident_id,
            admin=admin_factory(clout),
            shop_settings=tag_settings(clout),
            now=utcnow(),
        )
    return floor


def orders_changed_an_hour_ago(store: DevStore, count: int) -> list[DevOrder]:
    """`count` orders changed a second apart, starting an hour ago, no webhook for any: the
    last changed five minutes after the first, because its customer cancelled it."""
    start = utcnow() - timedelta(hours=1)
    orders = []
    for n in range(count):
        person = store.add_person(f"quiet{n}@example.org", f"Quiet{n}", "Lee")
        order = store.add_purchase(person, days_ago=0.05)
        order.updated_at = start + timedelta(seconds=n)
        orders.append(order)
    orders[-1].cancelled_at, orders[-1].cancel_reason = utcnow(), "CUSTOMER"
    orders[-1].updated_at = start + timedelta(minutes=5)
    return orders


def chargeback(app: Flask, devstore: RunningDevStore, **order_fields: Any) -> tuple[Any, Any]:
    """A customer's new order in the store (`order_fields` on it), then a chargeback on it,
    both processed as a worker would (the case not yet attended): the person and the order."""
    person = devstore.store.add_person("mother@example.org", "Maya", "Ortiz")
    order = devstore.store.add_purchase(person, **order_fields)
    for topic, payload in (
        ("orders/create", order_payload(devstore.store, order)),
        ("disputes/create", {"id": 501, "order_id": order.id, "type": "chargeback"}),
    ):
        assert process_delivery_now(app, record_delivery_now(app, topic=topic, payload=payload))
    return person, order


def the_incident(app: Flask) -> int:
    """The one case there is."""
    with db.session_scope(state(app).sessions) as session:
        return session.scalars(select(Incident.id)).one()


def closed_by_an_agent(app: Flask, incident_id: int) -> str:
    """An agent resolves the case on the page; then Clout attends it: the outcome."""
    with db.session_scope(state(app).sessions) as session:
        shop = session.scalars(select(Shop)).one()
        close_case(
            session=session, shop=shop, incident_id=incident_id, by="page:agent-1", now=utcnow()
        )
    return attend_now(app, incident_id)
