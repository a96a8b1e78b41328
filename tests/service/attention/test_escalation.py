"""An escalation's new deadline holds: the attendance that follows it (its overdue tag, its
higher priority) does not put the case back on the deadline that passed, so the next
escalation, and the merchant's next notice, come only if the new deadline passes too. Against
the emulator over HTTP, a real Redis and database, and a merchant's webhook receiver."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update
from werkzeug.serving import make_server

from service.attention.escalation import deliver_notices, escalate_overdue
from service.attention.notify import Notifier
from service.core.db import session_scope
from service.core.models import Incident, Shop, utcnow
from service.core.vocabulary import DEFAULT_FLOORS
from service.dev.devstore.webhooks import order_payload
from service.shopify.shops import mark_uninstalled
from tests.support.clout import (
    RunningDevStore,
    attend_now,
    connect_test_shop,
    record_delivery_now,
    state,
    work_on,
)


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[bytes]]]:
    """The merchant's webhook receiver, on this machine: what it took, in order."""
    received: list[bytes] = []

    def endpoint(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        received.append(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    server = make_server("127.0.0.1", 0, endpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/", received
    server.shutdown()


def a_case_backdated(
    app: Flask,
    devstore: RunningDevStore,
    complaint: Callable[[Any], tuple[str, dict[str, Any]]],
    *,
    opened_ago: timedelta,
    due_ago: timedelta,
) -> int:
    """A customer's order, then the complaint `complaint(order)` names (topic, payload), worked
    on as a worker does; the case then moved back in time: opened and due that long ago."""
    maya = devstore.store.add_person("maya@example.org", "Maya", "Ortiz")
    order = devstore.store.add_purchase(maya)
    work_on(
        app,
        record_delivery_now(
            app, topic="orders/create", payload=order_payload(devstore.store, order)
        ),
    )
    topic, payload = complaint(order)
    [incident_id] = work_on(app, record_delivery_now(app, topic=topic, payload=payload)).incidents
    now = utcnow()
    with session_scope(state(app).sessions) as session:
        session.execute(
            update(Incident)
            .where(Incident.id == incident_id)
            .values(opened_at=now - opened_ago, deadline_at=now - due_ago)
        )
    return incident_id


def a_chargeback_due_an_hour_ago(app: Flask, devstore: RunningDevStore) -> int:
    """A chargeback tagged in Shopify, opened five hours ago: its 4 h floor passed an hour ago."""
    return a_case_backdated(
        app,
        devstore,
        lambda order: ("disputes/create", {"id": 700, "order_id": order.id, "type": "chargeback"}),
        opened_ago=timedelta(hours=5),
        due_ago=timedelta(hours=1),
    )


def the_beat_escalates(app: Flask, notifier: Notifier, *, minutes_on: int = 0) -> list[int]:
    """The beat's minute: overdue cases escalated, their notices sent, then each case attended
    by a worker as the task does."""
    clout = state(app)
    with session_scope(clout.sessions) as session:
        escalated = escalate_overdue(
            session=session,
            now=utcnow() + timedelta(minutes=minutes_on),
            floors=lambda _shop_id: DEFAULT_FLOORS,
            notifier=lambda _shop_id: notifier,
        )
    deliver_notices(sessions=clout.sessions, notifier=lambda _shop_id: notifier, now=utcnow)
    for incident_id in escalated:
        attend_now(app, incident_id)
    return escalated


def test_the_next_minute_does_not_escalate_a_case_again(
    clout: Flask, devstore: RunningDevStore, receiver: tuple[str, list[bytes]]
) -> None:
    # given a chargeback an hour past its deadline, and the merchant's webhook for notices
    url, received = receiver
    notifier = Notifier(webhook_url=url, private_targets=True)
    incident_id = a_chargeback_due_an_hour_ago(clout, devstore)

    # when the beat escalates it, and a worker puts its overdue tag and priority on
    assert the_beat_escalates(clout, notifier) == [incident_id]

    # then it has the escalation's new deadline, hours ahead, not the one that passed
    with session_scope(state(clout).sessions) as session:
        incident = session.scalars(select(Incident).where(Incident.id == incident_id)).one()
        assert incident.deadline_at is not None
        assert incident.deadline_at > utcnow() + timedelta(hours=1), incident.deadline_at
        assert incident.escalations == 1
    # and the beat's next minute leaves it alone: one notice, not one a minute
    assert the_beat_escalates(clout, notifier, minutes_on=1) == []
    assert len(received) == 1
    # and its Shopify order shows it overdue
    assert "clout-overdue" in next(iter(devstore.store.orders.values())).tags


def a_cancellation_escalated_a_day_ago(app: Flask, devstore: RunningDevStore) -> int:
    """A customer's own cancellation (normal: 48 h), opened three days ago and escalated once
    when its deadline passed: high now, a day to go on the escalation's deadline."""

    def cancelled(order: Any) -> tuple[str, dict[str, Any]]:
        return "orders/cancelled", order_payload(devstore.store, order) | {
            "cancelled_at": utcnow().isoformat(),
            "cancel_reason": "customer",
            "updated_at": (utcnow() + timedelta(seconds=1)).isoformat(),
        }

    return a_case_backdated(
        app, devstore, cancelled, opened_ago=timedelta(hours=72), due_ago=timedelta(minutes=1)
    )


def test_a_chargeback_on_an_escalated_case_is_due_within_its_floor(
    clout: Flask, devstore: RunningDevStore, receiver: tuple[str, list[bytes]]
) -> None:
    # given a cancellation case the beat escalated: its new deadline a day away
    url, received = receiver
    notifier = Notifier(webhook_url=url, private_targets=True)
    incident_id = a_cancellation_escalated_a_day_ago(clout, devstore)
    assert the_beat_escalates(clout, notifier) == [incident_id]
    assert len(received) == 1

    # when the customer then opens a chargeback on the order (critical: 4 hours at most)
    order = next(iter(devstore.store.orders.values()))
    dispute = {"id": 701, "order_id": order.id, "type": "chargeback"}
    assert work_on(clout, record_delivery_now(clout, topic="disputes/create", payload=dispute))
    the_beat_escalates(clout, notifier)

    # then the agents see it due within the chargeback's floor, not the cancellation's day
    with session_scope(state(clout).sessions) as session:
        incident = session.scalars(select(Incident).where(Incident.id == incident_id)).one()
        assert incident.deadline_at is not None
        assert incident.deadline_at <= utcnow() + timedelta(hours=4), incident.deadline_at
    # and the merchant was told, as for any case a chargeback finds past its floor
    assert len(received) == 2
    assert b"critical" in received[-1]


def test_a_store_that_uninstalled_clout_is_not_paged_about_its_overdue_cases(
    clout: Flask, devstore: RunningDevStore, receiver: tuple[str, list[bytes]]
) -> None:
    # given a chargeback an hour past its deadline, and the merchant's webhook for notices
    url, received = receiver
    notifier = Notifier(webhook_url=url, private_targets=True)
    incident_id = a_chargeback_due_an_hour_ago(clout, devstore)
    # when the merchant uninstalls Clout (its cases are kept until shop/redact)
    with session_scope(state(clout).sessions) as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        shop = session.get(Shop, incident.shop_id)
        assert shop is not None
        mark_uninstalled(session=session, shop=shop, now=utcnow())

    # then the beat neither escalates the case nor tells the store's channels about it
    assert the_beat_escalates(clout, notifier) == []
    assert received == []
    with session_scope(state(clout).sessions) as session:
        kept = session.get(Incident, incident_id)
        assert kept is not None
        assert (kept.escalations, kept.overdue_at) == (0, None)


def test_a_store_back_after_an_uninstall_has_its_cases_brought_up_to_date_in_shopify(
    clout: Flask, devstore: RunningDevStore, receiver: tuple[str, list[bytes]]
) -> None:
    # given a chargeback an hour past its deadline in a store that uninstalled Clout, and a
    # case of the store's closed by an agent while it was away
    url, received = receiver
    notifier = Notifier(webhook_url=url, private_targets=True)
    overdue = a_chargeback_due_an_hour_ago(clout, devstore)
    clout_state = state(clout)
    with session_scope(clout_state.sessions) as session:
        incident = session.get(Incident, overdue)
        assert incident is not None
        shop = session.get(Shop, incident.shop_id)
        assert shop is not None
        mark_uninstalled(session=session, shop=shop, now=utcnow())
    assert the_beat_escalates(clout, notifier) == []

    # when the merchant connects the store again
    connect_test_shop(clout, access_token=devstore.token)

    # then its case is attended again and escalates from there: the merchant is told, and the
    # order carries the overdue tag in Shopify
    with clout_state.sessions() as session:
        incident = session.get(Incident, overdue)
        assert incident is not None
        assert incident.needs_attention is True
    assert the_beat_escalates(clout, notifier) == [overdue]
    assert len(received) == 1
    [order] = devstore.store.orders.values()
    assert "clout-overdue" in order.tags
