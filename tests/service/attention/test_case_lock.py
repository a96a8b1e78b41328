"""A case's row lock (`signals.incidents.locked_incident`) against the transactions that hold an
order row and a case at once: an `orders/updated` delivery (the order, then the case) and a page
of reconciliation (a case gaining a signal from one order, then the next order of the page).
Against the emulator over HTTP and a real database; the interleaving is forced with a thread."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from service.attention.attend import Pushed, record_pushed
from service.attention.reconcile import _apply
from service.core.db import session_scope
from service.core.models import Incident, Shop, Signal, utcnow
from service.dev.devstore.webhooks import order_payload
from tests.support.clout import RunningDevStore, record_delivery_now, state, work_on
from workers.tasks import admin_factory


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
