"""A tag Shopify has not taken does not look like one it has: pending cases are visible in the
CLI, the agents' page and /metrics, and the shop's channels hear of them once, in time."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from service.attention.attend import attend_incident
from service.attention.escalation import deliver_notices
from service.attention.notify import Notifier
from service.attention.pending import alert_pending, announce_landed
from service.cli import main
from service.core.db import session_scope
from service.core.errors import TransientError
from service.core.models import Incident, Shop, utcnow
from service.core.shop_settings import change, shop_config
from service.dev.devstore.webhooks import order_payload
from service.shopify.shops import mark_uninstalled, register_shop
from tests.support.agents_page import add_agent, log_in
from tests.support.clout import (
    RunningDevStore,
    process_delivery_now,
    record_delivery_now,
    state,
    work_on,
)
from tests.support.helpers import SHOP
from workers.tasks import admin_factory, notifier_of, tag_settings


@pytest.fixture
def channel() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """The merchant's webhook: a local server that keeps what it is sent."""
    received: list[dict[str, Any]] = []

    def hook(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        received.append(json.loads(body))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    server = make_server("127.0.0.1", 0, hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/", received
    server.shutdown()


@pytest.fixture
def clout(make_app: Callable[..., Flask], devstore: RunningDevStore, channel: Any) -> Flask:
    # The merchant's channel is this test's receiver, on this machine: allowed by the operator.
    app = make_app(CLOUT_SHOPIFY_ADMIN_URL=devstore.url, CLOUT_NOTIFY_PRIVATE_TARGETS="on")
    clout = state(app)
    with session_scope(clout.sessions) as session:
        shop = register_shop(
            session=session,
            vault=clout.vault,
            domain=SHOP,
            access_token=devstore.token,
            now=utcnow(),
        )
        change(
            session=session,
            shop_id=shop.id,
            changes={"notify.webhook_url": channel[0], "pending_alert_minutes": "10"},
            by="test",
            defaults=clout.settings,
            vault=clout.vault,
            now=utcnow(),
        )
    return app


def attend(app: Flask, incident_id: int) -> str:
    clout = state(app)
    return attend_incident(
        sessions=clout.sessions,
        incident_id=incident_id,
        admin=admin_factory(clout),
        shop_settings=tag_settings(clout),
        now=utcnow(),
    )


def cli(settings: dict[str, Any], *args: str) -> str:
    env = {k: str(v) for k, v in settings.items() if k != "TESTING"}
    return CliRunner(env=env).invoke(main, list(args)).output


def announce(app: Flask, minutes_later: float) -> list[int]:
    clout = state(app)
    with session_scope(clout.sessions) as session:

        def config(shop_id: int) -> Any:
            return shop_config(
                session=session, shop_id=shop_id, defaults=clout.settings, vault=clout.vault
            )

        announced = alert_pending(
            session=session,
            now=utcnow() + timedelta(minutes=minutes_later),
            config_of=config,
            notifier_of=lambda shop_id: Notifier.for_shop(
                config=config(shop_id), defaults=clout.settings
            ),
        )
        announce_landed(
            session=session,
            now=utcnow() + timedelta(minutes=minutes_later),
            notifier_of=lambda shop_id: Notifier.for_shop(
                config=config(shop_id), defaults=clout.settings
            ),
        )
    # recorded with the cases above; sent once that committed, as the beat task does
    deliver_notices(
        sessions=clout.sessions, notifier=lambda shop_id: notifier_of(clout, shop_id), now=utcnow
    )
    return announced


def test_a_shopify_outage_shows_pending_everywhere_then_alerts_once_then_clears(
    clout: Flask,
    devstore: RunningDevStore,
    settings: dict[str, Any],
    channel: tuple[str, list[dict[str, Any]]],
) -> None:
    # given Shopify answering 503 to everything, and a chargeback on a known customer's order
    maya = devstore.store.add_person("maya@example.org", "Maya", "Ortiz")
    order = devstore.store.add_purchase(maya)
    devstore.admin.set_faults(error_rate=1.0)
    delivery = record_delivery_now(
        clout,
        topic="disputes/create",
        payload={"id": 51, "order_id": order.id, "type": "chargeback"},
    )
    process_delivery_now(clout, delivery, shopify=True)
    [incident_id] = [i.id for i in incidents(clout)]

    # when the attention tag cannot land
    with pytest.raises(TransientError):
        attend(clout, incident_id)

    # then every place an operator or agent looks says it is pending
    settings = {**settings, "CLOUT_SHOPIFY_ADMIN_URL": devstore.url}
    assert "PENDING" in cli(settings, "incidents", "list")
    assert "done, tag pending in Shopify" in cli(settings, "deliveries", "list")
    metrics = clout.test_client().get("/metrics").get_data(as_text=True)
    assert "clout_attention_pending 1.0" in metrics
    agent = clout.test_client()
    add_agent(clout, "agent@example.org", SHOP)
    log_in(agent, "agent@example.org")
    [card] = agent.get("/agents/api/queue").json["incidents"]
    assert card["tag_state"] == "pending"

    # and past the shop's 10 minutes its channel hears of it once, not every minute
    assert announce(clout, minutes_later=5) == []
    assert announce(clout, minutes_later=11) == [incident_id]
    assert announce(clout, minutes_later=12) == []
    [alert] = channel[1]
    assert alert["text"].startswith(
        f"Clout: 1 attention tag has not reached Shopify ({SHOP})\n"
        f"1 unhappy customer of {SHOP} is not tagged in Shopify yet; the oldest has waited "
        "11 minutes."
    )
    assert alert["clout"]["pending"] == 1
    # and the case's trail says its channels were told why
    case = agent.get(f"/agents/api/incidents/{incident_id}").json
    notified = [e for e in case["trail"] if e["what"] == "notified"]
    assert [(e["by"], e["detail"]["why"]) for e in notified] == [("clout", "pending")]
    assert notified[0]["detail"]["channels"]

    # when Shopify is back and the case is attended, nothing is pending any more
    devstore.admin.set_faults(error_rate=0.0)
    assert attend(clout, incident_id) == "attended"
    assert "clout-attention" in order.tags
    metrics = clout.test_client().get("/metrics").get_data(as_text=True)
    assert "clout_attention_pending 0.0" in metrics
    assert "tagged" in cli(settings, "incidents", "list")
    # and the channel that heard of the outage hears, once, that it is over
    announce(clout, minutes_later=13)
    announce(clout, minutes_later=14)
    [_, landed] = channel[1]
    assert landed["text"].startswith(
        f"Clout: the attention tag has reached Shopify ({SHOP})\n"
        f"The unhappy customer of {SHOP} Clout said was not tagged in Shopify is tagged now"
    )


def test_a_case_with_nothing_in_shopify_is_not_pending(clout: Flask) -> None:
    # a one-star review by someone neither Clout nor Shopify knows, on no order
    delivery = record_delivery_now(
        clout,
        topic="customers/update",
        payload={"id": 9, "email": "x@example.org", "updated_at": "2026-11-20T00:00:00Z"},
    )
    process_delivery_now(clout, delivery)

    assert announce(clout, minutes_later=60) == []


def incidents(app: Flask) -> list[Incident]:
    with state(app).sessions() as session:
        return list(session.query(Incident).all())


def test_a_renamed_attention_tag_is_pending_until_the_new_name_lands(
    clout: Flask, devstore: RunningDevStore, settings: dict[str, Any]
) -> None:
    # given a chargeback whose attention tag has landed
    maya = devstore.store.add_person("maya@example.org", "Maya", "Ortiz")
    order = devstore.store.add_purchase(maya)
    delivery = record_delivery_now(
        clout,
        topic="disputes/create",
        payload={"id": 52, "order_id": order.id, "type": "chargeback"},
    )
    process_delivery_now(clout, delivery, shopify=True)
    [incident_id] = [i.id for i in incidents(clout)]
    assert attend(clout, incident_id) == "attended"
    settings = {**settings, "CLOUT_SHOPIFY_ADMIN_URL": devstore.url}
    assert "PENDING" not in cli(settings, "incidents", "list")
    due_before = incidents(clout)[0].deadline_at

    # when the merchant renames the tag and shortens the deadline while Shopify is down
    devstore.admin.set_faults(error_rate=1.0)
    said = cli(settings, "settings", "set", SHOP, "attention_tag=needs-care", "deadline.critical=1")

    # then the case is pending again (its tag in Shopify is no longer the shop's) ...
    assert "1 open case(s)" in said
    assert "PENDING" in cli(settings, "incidents", "list", "--pending")
    with pytest.raises(TransientError):
        attend(clout, incident_id)

    # ... until Shopify is back: the new name lands, the old one comes off, the deadline is nearer
    devstore.admin.set_faults(error_rate=0.0)
    assert attend(clout, incident_id) == "attended"
    assert "needs-care" in order.tags
    assert "PENDING" not in cli(settings, "incidents", "list")
    [case] = incidents(clout)
    assert case.deadline_at is not None
    assert due_before is not None
    assert case.deadline_at < due_before
    assert case.deadline_at <= case.opened_at + timedelta(hours=1, seconds=1)


def test_a_store_that_uninstalled_clout_is_not_told_its_tags_are_pending(
    clout: Flask, devstore: RunningDevStore, channel: tuple[str, list[dict[str, Any]]]
) -> None:
    # given a chargeback whose attention tag Shopify could not take (Shopify failing), and
    # then the merchant removing the app: nothing of the case can reach Shopify any more
    maya = devstore.store.add_person("maya@example.org", "Maya", "Ortiz")
    order = devstore.store.add_purchase(maya)
    devstore.admin.set_faults(error_rate=1.0)
    delivery = record_delivery_now(
        clout,
        topic="disputes/create",
        payload={"id": 52, "order_id": order.id, "type": "chargeback"},
    )
    process_delivery_now(clout, delivery, shopify=True)
    with session_scope(state(clout).sessions) as session:
        shop = session.scalars(select(Shop)).one()
        mark_uninstalled(session=session, shop=shop, now=utcnow())

    # when the shop's pending-alert time has passed
    announced = announce(clout, minutes_later=11)

    # then its Slack or webhook is not told to run `clout doctor` about a store it left (as
    # escalation leaves it alone); reconnected, its cases are attended again
    assert announced == []
    assert channel[1] == []


def test_the_alert_for_a_tag_shopify_refused_says_what_the_store_can_do(
    clout: Flask, devstore: RunningDevStore, channel: tuple[str, list[dict[str, Any]]]
) -> None:
    # given a guest's complaint on an order deleted in Shopify after its webhook: Shopify
    # refuses the attention tag of the only record there is to tag
    maya = devstore.store.add_person("maya@example.org", "Maya", "Ortiz")
    order = devstore.store.add_purchase(maya)
    payload = {**order_payload(devstore.store, order), "note": "It arrived broken. Refund me."}
    payload["customer"] = None
    del devstore.store.orders[order.id]
    [incident_id] = work_on(
        clout, record_delivery_now(clout, topic="orders/create", payload=payload)
    ).incidents

    # when the shop's 10 minutes pass
    assert announce(clout, minutes_later=11) == [incident_id]

    # then its channel hears that Shopify refused the tag and what the store can do, not that
    # Clout keeps trying: waiting will not land it
    [alert] = channel[1]
    assert "Shopify refused its tag (" in alert["text"]
    assert "the order or customer still exists" in alert["text"]
    assert "keeps trying" not in alert["text"]
