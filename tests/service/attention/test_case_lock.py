"""A case's row lock (`signals.incidents.locked_incident`) against the transactions that hold an
order row and a case at once: an `orders/updated` delivery (the order, then the case) and a page
of reconciliation (a case gaining a signal from one order, then the next order of the page).
Against the emulator over HTTP and a real database; the interleaving is forced with a thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from service.agents.desk import Done, close_case, reopen_case
from service.attention.attend import Pushed, attend_incident, record_pushed
from service.attention.reconcile import _apply
from service.core.db import session_scope
from service.core.models import Incident, Shop, Signal, utcnow
from service.dev.devstore.webhooks import order_payload
from tests.support.clout import RunningDevStore, record_delivery_now, state, work_on
from workers.tasks import admin_factory, escalate, tag_settings

ATTENTION, RESOLVED = "clout-attention", "clout-resolved"


def test_an_orders_echo_and_a_reconciled_page_of_the_same_customer_both_go_through(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a customer's case on two orders (a chargeback on each), its tags landed on both
    store = devstore.store
    person = store.add_person("bo@example.org", "Bo", "Buyer")
    first, second = store.add_purchase(person), store.add_purchase(person)
    for n, order in enumerate((first, second)):
        for topic, payload in (
            ("orders/create", order_payload(store, order)),
            ("disputes/create", {"id": 800 + n, "order_id": order.id, "type": "chargeback"}),
        ):
            work_on(clout, record_delivery_now(clout, topic=topic, payload=payload))
    sessions = state(clout).sessions
    with session_scope(sessions) as session:
        [incident_id] = session.scalars(select(Incident.id)).all()
        shop_id = session.scalars(select(Shop.id)).one()
        client = admin_factory(state(clout))(session.get(Shop, shop_id))
    # and since then: the customer cancelled the first order (its webhook never came), and the
    # second's orders/updated — Clout's own tags echoing back — was received
    first.cancelled_at, first.cancel_reason = utcnow(), "CUSTOMER"
    first.updated_at = utcnow()
    second.updated_at = utcnow() + timedelta(seconds=1)
    echo = record_delivery_now(clout, topic="orders/updated", payload=order_payload(store, second))
    nodes, _ = client.orders_updated_page(utcnow() - timedelta(minutes=10))
    assert [node["id"] for node in nodes] == [first.gid, second.gid]

    # when reconciliation's page reads the cancellation into the case, a worker takes the
    # echo meanwhile, and the page goes on to the second order
    page = sessions()
    try:
        shop = page.get(Shop, shop_id)
        _apply(session=page, shop=shop, node=nodes[0], now=utcnow())
        taken = ThreadPoolExecutor(1).submit(work_on, clout, echo, attend=False)
        time.sleep(0.5)  # long enough for it to reach the case, whatever it then waits for
        _apply(session=page, shop=shop, node=nodes[1], now=utcnow())
        page.commit()
    finally:
        page.close()

    # then both went through: the echo is done (no deadlock to retry), and the case has the
    # customer's cancellation
    assert taken.result(timeout=30).status == "done"
    with session_scope(sessions) as session:
        reasons = session.scalars(select(Signal.reason).where(Signal.incident_id == incident_id))
        assert "customer_cancelled" in set(reasons)


def test_a_stand_in_case_joining_the_customers_case_keeps_what_clout_recorded_meanwhile(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given Maya's open case (a chargeback on one order), its tags landed
    store = devstore.store
    maya = store.add_person("maya@example.org", "Maya", "Ortiz")
    first = store.add_purchase(maya)
    for topic, payload in (
        ("orders/create", order_payload(store, first)),
        ("disputes/create", {"id": 900, "order_id": first.id, "type": "chargeback"}),
    ):
        work_on(clout, record_delivery_now(clout, topic=topic, payload=payload))
    sessions = state(clout).sessions
    with session_scope(sessions) as session:
        [maya_case] = session.scalars(select(Incident.id)).all()
        written = dict(session.get(Incident, maya_case).tag_state[first.gid])
    # and a chargeback on another of her orders that Clout could not place (a stand-in's case)
    second = store.add_purchase(maya)
    devstore.admin.set_faults(only_tags=True)
    work_on(
        clout,
        record_delivery_now(
            clout,
            topic="disputes/create",
            payload={"id": 901, "order_id": second.id, "type": "chargeback"},
        ),
    )
    devstore.admin.set_faults(only_tags=False)
    # and that order's own orders/updated, naming Maya, received
    named = record_delivery_now(clout, topic="orders/updated", payload=order_payload(store, second))

    # when a worker records what Clout's floor just wrote on Maya's first order (the second
    # Shopify stamped it with), and while its transaction is open another worker takes the
    # delivery that moves the stand-in's case into hers
    stamp = utcnow().replace(microsecond=0).isoformat()
    recording = sessions()
    try:
        record_pushed(
            session=recording,
            incident_id=maya_case,
            pushed=Pushed(
                written={first.gid: {**written, "written_at": stamp, "in_step_at": stamp}}
            ),
            now=utcnow(),
        )
        taken = ThreadPoolExecutor(1).submit(work_on, clout, named, attend=False)
        time.sleep(0.5)  # long enough for it to reach the case, whatever it then waits for
        recording.commit()
    finally:
        recording.close()
    assert taken.result(timeout=30).status == "done"

    # then Maya's case holds both: the stand-in's order, and what Clout recorded on the first
    with session_scope(sessions) as session:
        state_now = session.get(Incident, maya_case).tag_state
        assert second.gid in state_now
        assert state_now[first.gid].get("in_step_at") == stamp


def attended_chargeback(clout: Flask, devstore: RunningDevStore) -> tuple[int, Any, Any]:
    """A chargeback's case, attended: its tags in Shopify. The case, its order, the person."""
    store = devstore.store
    person = store.add_person("ana@example.org", "Ana", "Buyer")
    order = store.add_purchase(person)
    work_on(
        clout,
        record_delivery_now(clout, topic="orders/create", payload=order_payload(store, order)),
    )
    dispute = {"id": 1, "order_id": order.id, "type": "chargeback"}
    [incident_id] = work_on(
        clout, record_delivery_now(clout, topic="disputes/create", payload=dispute)
    ).incidents
    return incident_id, order, person


def attendance(clout: Flask, incident_id: int) -> threading.Thread:
    clout_state = state(clout)
    worker = threading.Thread(
        target=lambda: attend_incident(
            sessions=clout_state.sessions,
            incident_id=incident_id,
            admin=admin_factory(clout_state),
            shop_settings=tag_settings(clout_state),
            now=utcnow(),
        )
    )
    worker.start()
    return worker


def at_the_desk(
    clout: Flask, act: Callable[..., Done | None], incident_id: int, **options: Any
) -> Done | None:
    """One of the desk's actions on the store's case, in its own transaction, as an agent's
    click on the page is."""
    with session_scope(state(clout).sessions) as session:
        shop = session.scalars(select(Shop)).one()
        return act(
            session=session,
            shop=shop,
            incident_id=incident_id,
            by="page:a",
            now=utcnow(),
            **options,
        )


@contextmanager
def while_a_slow_clearance_runs(
    clout: Flask, devstore: RunningDevStore, incident_id: int
) -> Iterator[None]:
    """What is done inside happens while a worker pushes the closed case's clearance to a slow
    Shopify (it has begun, and not ended)."""
    devstore.admin.set_faults(latency=0.3)
    clearance = attendance(clout, incident_id)
    time.sleep(0.2)
    try:
        yield
    finally:
        clearance.join(30)
        devstore.admin.set_faults(latency=0.0)


def test_a_resolve_while_the_floor_is_pushed_keeps_the_case_waiting_for_its_clearance(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a case whose tags landed, now overdue and escalated: new tags to push
    sessions = state(clout).sessions
    incident_id, order, person = attended_chargeback(clout, devstore)
    with session_scope(sessions) as session:
        session.get(Incident, incident_id).deadline_at = utcnow() - timedelta(minutes=1)  # type: ignore[union-attr]
    with clout.app_context():
        escalate()  # the beat's escalation of what is overdue
    with session_scope(sessions) as session:
        assert session.get(Incident, incident_id).escalations == 1  # type: ignore[union-attr]

    # when a worker pushes the escalated floor to a slow Shopify and, meanwhile, a person adds
    # the resolved tag in the admin and that orders/updated is taken
    devstore.admin.set_faults(latency=0.5)
    floor = attendance(clout, incident_id)
    time.sleep(0.2)
    order.tags = sorted({*order.tags, RESOLVED})
    payload = order_payload(devstore.store, order)
    payload.update(tags=", ".join(order.tags), updated_at=utcnow().isoformat())
    devstore.admin.set_faults(latency=0.0)
    delivery = record_delivery_now(clout, topic="orders/updated", payload=payload)
    assert work_on(clout, delivery, attend=False).incidents == (incident_id,)
    devstore.admin.set_faults(latency=0.5)
    floor.join(30)
    devstore.admin.set_faults(latency=0.0)

    # then the closed case still waits for its clearance (Clout's tags are on the customer
    # yet), so the sweeper rings for it should the bell be lost
    assert ATTENTION in devstore.store.customers[person.id].tags
    with session_scope(sessions) as session:
        incident = session.get(Incident, incident_id)
        assert (incident.status, incident.needs_attention) == ("resolved", True)  # type: ignore[union-attr]


def test_an_undo_during_the_clearance_leaves_the_case_waiting_for_its_floor(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given an attended case an agent has resolved
    sessions = state(clout).sessions
    incident_id, order, _ = attended_chargeback(clout, devstore)
    at_the_desk(clout, close_case, incident_id)

    # when a worker clears Shopify for the close (slowly) and, meanwhile, the agent clicks Undo
    with while_a_slow_clearance_runs(clout, devstore, incident_id):
        done = at_the_desk(clout, reopen_case, incident_id)
    assert done is not None
    assert done.outcome == "reopened"

    # then Shopify shows it resolved for now, and the open case still waits for its floor
    assert RESOLVED in order.tags
    assert ATTENTION not in order.tags
    with session_scope(sessions) as session:
        incident = session.get(Incident, incident_id)
        assert (incident.status, incident.tagged_at, incident.needs_attention) == (
            "open",
            None,
            True,
        )  # type: ignore[union-attr]


def test_an_undo_and_a_new_close_during_the_clearance_get_their_own_clearance(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given an attended case an agent has resolved
    sessions = state(clout).sessions
    incident_id, order, _ = attended_chargeback(clout, devstore)
    at_the_desk(clout, close_case, incident_id)

    # when a worker clears Shopify for that close (slowly) and, meanwhile, the agent clicks
    # Undo and then closes the case as not a complaint
    with while_a_slow_clearance_runs(clout, devstore, incident_id):
        at_the_desk(clout, reopen_case, incident_id)
        at_the_desk(clout, close_case, incident_id, not_a_complaint=True)

    # then the case still waits for the second close's clearance ...
    with session_scope(sessions) as session:
        incident = session.get(Incident, incident_id)
        assert (incident.resolution, incident.needs_attention) == ("not_a_complaint", True)  # type: ignore[union-attr]
    # ... which leaves Shopify as if the three clicks had come one after another: no resolved
    # tag for a case that was never a complaint, none of Clout's tags
    attendance(clout, incident_id).join(30)
    assert RESOLVED not in order.tags
    assert ATTENTION not in order.tags
    with session_scope(sessions) as session:
        assert session.get(Incident, incident_id).needs_attention is False  # type: ignore[union-attr]
