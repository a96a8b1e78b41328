"""The whole loop on real parts, for end-to-end tests: the emulated store sends signed webhooks
over HTTP to Clout's intake, a real Celery worker processes them, and tags land in the store."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from celery.contrib.testing.worker import start_worker
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from service.core.db import session_scope
from service.core.models import Incident, utcnow
from service.dev.devstore.store import Customer as DevCustomer
from service.dev.devstore.store import LineItem
from service.dev.devstore.store import Order as DevOrder
from service.dev.devstore.webhooks import WebhookSender
from service.shopify.shops import register_shop
from tests.support.clout import RunningDevStore, state
from tests.support.helpers import REVIEW_SECRETS, SECRET, SHOP, wait_for

ATTENTION = "clout-attention"


@dataclass
class Pipeline:
    app: Flask
    dev: RunningDevStore
    sender: WebhookSender
    intake: str

    def customer(self, email: str = "mother@example.org") -> DevCustomer:
        return self.dev.store.add_person(email, "Maya", "Ortiz")

    def order(self, customer: DevCustomer, **changes: Any) -> DevOrder:
        return self.dev.store.add_purchase(
            customer,
            total=Decimal("40.00"),
            days_ago=2,
            notify=True,
            line_items=[LineItem("Stoneware mug", 1, 7001000000001, Decimal("40.00"))],
            **changes,
        )

    def tags(self, order: DevOrder) -> list[str]:
        return list(order.tags)

    def tagged(self, order: DevOrder, tag: str = ATTENTION, timeout: float = 20) -> list[str]:
        return wait_for(lambda: tag in order.tags and list(order.tags), timeout=timeout)

    def incidents(self) -> list[Incident]:
        with state(self.app).sessions() as session:
            return list(session.scalars(select(Incident).order_by(Incident.id)))

    def settled(self) -> bool:
        """Every incident attended, floor and later work both: what a test waits for before it
        counts Shopify writes (the later work lands after the floor, in its own lane)."""
        return all(not i.needs_attention and i.later_due_at is None for i in self.incidents())


@contextmanager
def running_pipeline(
    make_app: Callable[..., Flask], devstore: RunningDevStore, **overrides: object
) -> Iterator[Pipeline]:
    app = make_app(
        CLOUT_SHOPIFY_ADMIN_URL=devstore.url,
        CLOUT_KLOUT_PROVIDER_URL=f"{devstore.url}/social",
        CLOUT_SWEEP_AFTER_SECONDS="0",
        **overrides,
    )
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
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    intake = f"http://127.0.0.1:{server.server_port}/webhooks/shopify"
    sender = WebhookSender(
        devstore.store, url=intake, secret=SECRET, retry_delays=(0.2, 0.5, 1.0)
    ).start()
    try:
        with start_worker(
            app.extensions["celery"],
            pool="solo",
            perform_ping_check=False,
            queues=["clout"],
            shutdown_timeout=30,
        ):
            yield Pipeline(app=app, dev=devstore, sender=sender, intake=intake)
    finally:
        sender.stop()
        server.shutdown()
        thread.join()
