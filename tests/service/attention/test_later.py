"""Best-effort work runs after the floor, in its own step, and never becomes a retry storm: when
Shopify answers tag writes but fails every read (a partial incident), every attention tag still
lands, the reads are tried a few times, then skipped while a circuit is open, and done once
Shopify is well again; when it fails the tag writes, a case is tried on one backoff, not at
every sweep. Against the emulator over HTTP, with a real Redis and database."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import redis
from flask import Flask
from sqlalchemy import select

from service.agents.desk import close_cases
from service.attention.attend import Pushed, attend_incident, attend_later, record_pushed
from service.core.db import session_scope
from service.core.models import Incident, Shop, utcnow
from service.deliveries.dispatch import FLOOR, LATER, FairQueue, Unit
from service.deliveries.lifecycle import ATTEND_TASK, QUEUE
from service.dev.devstore.webhooks import order_payload
from service.shopify.circuit import Circuit
from service.signals.incidents import resolve_incident
from tests.support.clout import (
    RunningDevStore,
    attend_now,
    connect_test_shop,
    process_delivery_now,
    record_delivery_now,
    state,
    work_on,
)
from tests.support.helpers import SHOP
from workers.tasks import (
    ATTEND_RETRY_KEY,
    LANE_WORK,
    admin_factory,
    sweep_deliveries,
    tag_settings,
)

ATTENTION = "clout-attention"


def chargebacks(app: Flask, devstore: RunningDevStore, count: int) -> list[Any]:
    orders = []
    for n in range(count):
        person = devstore.store.add_person(f"p{n}@example.org", f"P{n}", "Buyer")
        order = devstore.store.add_purchase(person)
        orders.append(order)
        for topic, payload in (
            ("orders/create", order_payload(devstore.store, order)),
            ("disputes/create", {"id": 500 + n, "order_id": order.id, "type": "chargeback"}),
        ):
            assert process_delivery_now(app, record_delivery_now(app, topic=topic, payload=payload))
    return orders


def incident_ids(app: Flask) -> list[int]:
    with session_scope(state(app).sessions) as session:
        return list(session.scalars(select(Incident.id).order_by(Incident.id)))


def floor(app: Flask, incident_id: int) -> str:
    clout = state(app)
    return attend_incident(
        sessions=clout.sessions,
        incident_id=incident_id,
        admin=admin_factory(clout),
        shop_settings=tag_settings(clout),
        now=utcnow(),
    )


def later(app: Flask, incident_id: int, circuit: Circuit) -> str:
    clout = state(app)
    return attend_later(
        sessions=clout.sessions,
        incident_id=incident_id,
        admin=admin_factory(clout),
        shop_settings=tag_settings(clout),
        now=utcnow(),
        circuit=circuit,
    )


def test_reads_failing_cost_a_few_calls_then_wait_and_every_floor_still_lands(
    clout: Flask, devstore: RunningDevStore, redis_url: str
) -> None:
    # given six chargebacks, and Shopify taking tag writes but failing everything else
    orders = chargebacks(clout, devstore, 6)
    clock = [time.time()]
    circuit = Circuit(redis.Redis.from_url(redis_url), open_seconds=60, clock=lambda: clock[0])
    devstore.admin.set_faults(only_tags=True)

    # when each case's floor is attended, then its later work
    floors = [floor(clout, i) for i in incident_ids(clout)]
    before = devstore.admin.stats.server_errors
    laters = [later(clout, i, circuit) for i in incident_ids(clout)]

    # then every attention tag landed, the later work was put off, and failed calls stayed few:
    # three per operation before its circuit opened (each tried twice), not one per case
    assert floors == ["attended"] * 6
    assert all(ATTENTION in devstore.store.orders[o.id].tags for o in orders)
    assert laters == ["postponed"] * 6
    failed_calls = devstore.admin.stats.server_errors - before
    assert failed_calls <= 3 * 3 * 2  # read_tags, metafields, flow
    with session_scope(state(clout).sessions) as session:
        due = session.scalars(select(Incident.later_due_at)).all()
    assert all(when is not None and when > utcnow() for when in due)

    # when Shopify is well again and the circuits' minute has passed
    devstore.admin.set_faults(only_tags=False)
    clock[0] += 61
    with session_scope(state(clout).sessions) as session:
        for incident in session.scalars(select(Incident)):
            incident.later_due_at = utcnow()  # as the sweeper finds it due

    # then the later work is done: metafields and the Flow trigger reach Shopify
    assert [later(clout, i, circuit) for i in incident_ids(clout)] == ["done"] * 6
    assert len(devstore.store.flow_triggers) == 6


def put_off_while_shopify_failed_reads(
    clout: Flask, devstore: RunningDevStore, redis_url: str, *, cases: int
) -> Circuit:
    """Chargebacks whose floors landed and whose later work was put off while Shopify failed
    every read; Shopify well again and the circuits' minute passed. The circuit to use."""
    chargebacks(clout, devstore, cases)
    clock = [time.time()]
    circuit = Circuit(redis.Redis.from_url(redis_url), open_seconds=60, clock=lambda: clock[0])
    devstore.admin.set_faults(only_tags=True)
    for incident_id in incident_ids(clout):
        floor(clout, incident_id)
        later(clout, incident_id, circuit)
    devstore.admin.set_faults(only_tags=False)
    clock[0] += 61
    return circuit


def test_the_probe_that_finds_shopify_well_brings_the_shops_other_cases_back(
    clout: Flask, devstore: RunningDevStore, redis_url: str
) -> None:
    # given four cases whose later work was put off while Shopify failed every read
    circuit = put_off_while_shopify_failed_reads(clout, devstore, redis_url, cases=4)
    first, *others = incident_ids(clout)
    with session_scope(state(clout).sessions) as session:
        session.get(Incident, first).later_due_at = utcnow()  # the first one comes due

    # when its later work probes Shopify and finds it answering
    assert later(clout, first, circuit) == "done"

    # then the others are due now, not a whole retry interval later
    with session_scope(state(clout).sessions) as session:
        due = [session.get(Incident, i).later_due_at for i in others]
    assert all(when is not None and when <= utcnow() for when in due)


def test_put_off_work_is_rung_by_the_sweeper_at_its_own_due_time(
    make_app: Callable[..., Flask], devstore: RunningDevStore
) -> None:
    # given a Clout whose sweeper gives lost bells five minutes, and two cases: one whose
    # put-off later work came due a few seconds ago, one due in a minute
    app = make_app(CLOUT_SHOPIFY_ADMIN_URL=devstore.url, CLOUT_SWEEP_AFTER_SECONDS="300")
    connect_test_shop(app, access_token=devstore.token)
    chargebacks(app, devstore, 2)
    due, waiting = incident_ids(app)
    with session_scope(state(app).sessions) as session:
        for incident_id, when in ((due, -10), (waiting, 60)):
            incident = session.get(Incident, incident_id)
            incident.needs_attention = False
            incident.later_due_at = utcnow() + timedelta(seconds=when)
    fair = FairQueue(state(app).redis)
    while fair.pop() is not None:  # what the deliveries rang on their way in
        pass

    # when the sweeper runs
    with app.app_context():
        sweep_deliveries()

    # then the due one is rung in the later lane (not five minutes later), the other not yet
    rung = []
    while (unit := fair.pop()) is not None:
        rung.append((unit.lane, unit.item))
    assert rung == [(LATER, due)]


def attend_tasks_queued(app: Flask) -> int:
    """Floor tries waiting in the broker for a worker (each a message naming the attend task)."""
    messages = state(app).redis.lrange(QUEUE, 0, -1)
    return sum(1 for m in messages if json.loads(m)["headers"]["task"] == ATTEND_TASK)


def test_a_case_shopify_cannot_tag_is_tried_on_one_backoff_not_at_every_ring(
    make_app: Callable[..., Flask], devstore: RunningDevStore
) -> None:
    # given a Clout whose sweeper rings a case whose floor waited 5 s, Shopify answering 503
    # to every tagsAdd, and a chargeback case opened a minute ago
    app = make_app(CLOUT_SHOPIFY_ADMIN_URL=devstore.url, CLOUT_SWEEP_AFTER_SECONDS="0")
    connect_test_shop(app, access_token=devstore.token)
    devstore.admin.set_faults(failing="tagsAdd")
    chargebacks(app, devstore, 1)
    [incident_id] = incident_ids(app)
    with session_scope(state(app).sessions) as session:
        session.get(Incident, incident_id).opened_at = utcnow() - timedelta(minutes=1)
    celery = app.extensions["celery"]
    fair = FairQueue(state(app).redis)
    while fair.pop() is not None:  # what the deliveries rang on their way in
        pass
    state(app).redis.delete(QUEUE)
    with app.app_context():
        # when its floor is tried and Shopify fails it
        assert LANE_WORK[FLOOR](celery, Unit(FLOOR, SHOP, incident_id)) == "retrying"
        tried = devstore.admin.stats.server_errors
        assert tried > 0
        assert attend_tasks_queued(app) == 1

        # and a second signal rings the case at once, and Shopify fails that try too
        assert LANE_WORK[FLOOR](celery, Unit(FLOOR, SHOP, incident_id)) == "retrying"

        # and the sweeper runs three times while the first try is on its way
        for _ in range(3):
            sweep_deliveries()
        rung = [u for u in iter(fair.pop, None) if u.lane == FLOOR]

        # and a third ring comes once that try's time has come (a worker is trying it now)
        due = json.loads(state(app).redis.get(ATTEND_RETRY_KEY.format(incident_id)))[1]
        time.sleep(max(0.0, due - time.time()) + 0.1)
        assert LANE_WORK[FLOOR](celery, Unit(FLOOR, SHOP, incident_id)) == "retrying"

    # then Shopify was asked once more (for the signal: it might have been back), still one try
    # waits (the case's backoff goes on, no second one begins), and the sweeper left the case
    # to it
    assert devstore.admin.stats.server_errors > tried
    assert attend_tasks_queued(app) == 1
    assert rung == []


def a_case_on_an_order_a_closed_case_left_resolved(
    app: Flask, devstore: RunningDevStore
) -> tuple[int, Any, datetime]:
    """A chargeback's case on an order still carrying a closed case's resolved tag, its floor
    landed (the old tag taken off); the case, the order, and the second Shopify stamped that
    removal with (`in_step_at`)."""
    store = devstore.store
    person = store.add_person("ana@example.org", "Ana", "Buyer")
    order = store.add_purchase(person)
    order.tags = ["clout-resolved"]
    for topic, payload in (
        ("orders/create", order_payload(store, order)),
        ("disputes/create", {"id": 700, "order_id": order.id, "type": "chargeback"}),
    ):
        work_on(app, record_delivery_now(app, topic=topic, payload=payload))
    [incident_id] = incident_ids(app)
    assert "clout-resolved" not in order.tags
    with session_scope(state(app).sessions) as session:
        written = session.get(Incident, incident_id).tag_state[order.gid]
    return incident_id, order, datetime.fromisoformat(written["in_step_at"])


def orders_updated(
    app: Flask, devstore: RunningDevStore, order: Any, tags: list[str], at: datetime
) -> None:
    """orders/updated as Shopify sends it, showing `tags`, stamped `at`, taken by a worker (the
    delivery, then the attendance of the case it touched)."""
    payload = order_payload(devstore.store, order)
    payload.update(tags=", ".join(tags), updated_at=at.isoformat())
    work_on(app, record_delivery_now(app, topic="orders/updated", payload=payload))


def test_a_person_resolving_in_the_second_clout_took_the_old_tag_off_is_heard(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a new case on an order whose old resolved tag Clout has just taken off
    incident_id, order, in_step_at = a_case_on_an_order_a_closed_case_left_resolved(clout, devstore)

    # when a person puts the resolved tag back within the same second: Shopify stamps its
    # orders/updated with the very second of Clout's removal (it stamps whole seconds)
    order.tags = sorted({*order.tags, "clout-resolved"})
    orders_updated(clout, devstore, order, order.tags, in_step_at)

    # then the case's later work reads the order, finds the person's tag, and closes the case
    with session_scope(state(clout).sessions) as session:
        incident = session.get(Incident, incident_id)
        assert (incident.status, incident.resolved_by) == ("resolved", "resolved-tag")
        assert incident.needs_attention

    # and the attendance it rings takes Clout's tags off, the person's resolved tag staying
    attend_now(clout, incident_id)
    assert ATTENTION not in order.tags
    assert "clout-resolved" in order.tags


def test_the_echo_of_clouts_own_tagging_in_that_second_closes_nothing(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a new case on an order whose old resolved tag Clout has just taken off
    incident_id, order, in_step_at = a_case_on_an_order_a_closed_case_left_resolved(clout, devstore)

    # when the echo of Clout's tagsAdd arrives, stamped in the same second as the removal and
    # showing the old resolved tag still there (it was sent before the removal)
    orders_updated(clout, devstore, order, sorted({*order.tags, "clout-resolved"}), in_step_at)

    # then the order is read, shows no resolved tag, and the case stays open with its tag
    with session_scope(state(clout).sessions) as session:
        assert session.get(Incident, incident_id).status == "open"
    assert ATTENTION in order.tags
    assert "clout-resolved" not in order.tags


def test_a_person_taking_the_attention_tag_off_in_that_second_is_heard(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a new case on an order whose old resolved tag Clout has just taken off
    incident_id, order, in_step_at = a_case_on_an_order_a_closed_case_left_resolved(clout, devstore)

    # when a person takes the attention tag off within the same second
    order.tags = [t for t in order.tags if t != ATTENTION]
    orders_updated(clout, devstore, order, order.tags, in_step_at)

    # then the case is closed as they meant: none of Clout's own echoes lacks that tag
    with session_scope(state(clout).sessions) as session:
        incident = session.get(Incident, incident_id)
        assert (incident.status, incident.resolved_by) == ("resolved", "attention-tag-removed")


def test_a_resolved_tag_shopify_would_not_take_off_closes_no_new_case(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given Shopify refusing every tagsRemove, and an order a closed case left resolved
    devstore.admin.set_faults(refusing="tagsRemove")
    store = devstore.store
    order = store.add_purchase(store.add_person("ana@example.org", "Ana", "Buyer"))
    order.tags = ["clout-resolved"]

    # when a chargeback's case lands its floor there (the old tag stays), and the echo of
    # Clout's own tagsAdd comes back showing both tags
    for topic, payload in (
        ("orders/create", order_payload(store, order)),
        ("disputes/create", {"id": 701, "order_id": order.id, "type": "chargeback"}),
    ):
        work_on(clout, record_delivery_now(clout, topic=topic, payload=payload))
    assert {ATTENTION, "clout-resolved"} <= set(order.tags)
    orders_updated(clout, devstore, order, list(order.tags), utcnow() + timedelta(seconds=1))

    # then the new case stays open: that resolved tag is the one Shopify kept, not a person's
    [incident_id] = incident_ids(clout)
    with session_scope(state(clout).sessions) as session:
        assert session.get(Incident, incident_id).status == "open"

    # and a person can still close it by taking the attention tag off
    order.tags = [t for t in order.tags if t != ATTENTION]
    orders_updated(clout, devstore, order, order.tags, utcnow() + timedelta(seconds=2))
    with session_scope(state(clout).sessions) as session:
        assert session.get(Incident, incident_id).resolved_by == "attention-tag-removed"


def test_a_closed_cases_late_clearance_leaves_the_customers_new_case_its_tags(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given Ana's chargeback case, tagged, then resolved on the agents' page, its clearance
    # not yet run (Shopify was down, say)
    store = devstore.store
    order = store.add_purchase(store.add_person("ana@example.org", "Ana", "Buyer"))
    created = order_payload(store, order)
    work_on(clout, record_delivery_now(clout, topic="orders/create", payload=created))
    dispute = {"id": 702, "order_id": order.id, "type": "chargeback"}
    work_on(clout, record_delivery_now(clout, topic="disputes/create", payload=dispute))
    [first] = incident_ids(clout)
    with session_scope(state(clout).sessions) as session:
        resolve_incident(
            session=session, incident=session.get(Incident, first), by="page:maya", now=utcnow()
        )

    # and a second chargeback on the same order: a new case, tagged at once
    dispute = {"id": 703, "order_id": order.id, "type": "chargeback"}
    work_on(clout, record_delivery_now(clout, topic="disputes/create", payload=dispute))
    [_, second] = incident_ids(clout)
    customer = store.customers[order.customer_id]
    assert ATTENTION in order.tags
    assert ATTENTION in customer.tags

    # when the first case's clearance finally runs
    attend_now(clout, first)

    # then the order and the customer keep the open case's attention tag (and the first
    # case's resolved tag is not put on the order, where it would read as closing the second)
    assert ATTENTION in order.tags
    assert "clout-resolved" not in order.tags
    assert ATTENTION in customer.tags
    with session_scope(state(clout).sessions) as session:
        assert session.get(Incident, second).status == "open"


def test_a_person_resolving_while_clout_records_its_own_work_is_still_heard(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a new case on an order whose old resolved tag Clout has just taken off, and the
    # orders/updated of a person putting the resolved tag back in that same second, received
    incident_id, order, in_step_at = a_case_on_an_order_a_closed_case_left_resolved(clout, devstore)
    order.tags = sorted({*order.tags, "clout-resolved"})
    payload = order_payload(devstore.store, order)
    payload.update(tags=", ".join(order.tags), updated_at=in_step_at.isoformat())
    delivery_id = record_delivery_now(clout, topic="orders/updated", payload=payload)
    sessions = state(clout).sessions
    with session_scope(sessions) as session:
        written = dict(session.get(Incident, incident_id).tag_state[order.gid])

    # when a worker records what Clout's later work wrote on that order, and while its
    # transaction is open another worker takes the delivery
    recording = sessions()
    record_pushed(
        session=recording,
        incident_id=incident_id,
        pushed=Pushed(
            written={order.gid: {"tags": written["tags"], "written_at": utcnow().isoformat()}}
        ),
        now=utcnow(),
    )
    taken = ThreadPoolExecutor(1).submit(work_on, clout, delivery_id, attend=False)
    time.sleep(0.5)  # long enough for it to reach the case, whatever it then waits for
    recording.commit()
    recording.close()

    # then neither write is lost: the case's attendance checks the order, and the person's
    # resolve is heard
    assert taken.result(timeout=30).incidents == (incident_id,)
    attend_now(clout, incident_id)
    with session_scope(sessions) as session:
        incident = session.get(Incident, incident_id)
        assert (incident.status, incident.resolved_by) == ("resolved", "resolved-tag")


def test_a_batch_resolve_while_the_probe_brings_cases_back_both_finish(
    clout: Flask, devstore: RunningDevStore, redis_url: str
) -> None:
    # given four cases whose later work was put off while Shopify failed every read, two of
    # them since changed (so a scan of the table meets the fourth before them)
    circuit = put_off_while_shopify_failed_reads(clout, devstore, redis_url, cases=4)
    first, c1, c2, c3 = incident_ids(clout)
    sessions = state(clout).sessions
    with session_scope(sessions) as session:
        for changed in (c1, c2):
            session.get(Incident, changed).snoozed_until = utcnow()  # type: ignore[union-attr]
        session.get(Incident, first).later_due_at = utcnow()  # type: ignore[union-attr]

    # when a worker is recording on the second case, an agent resolves the other three in one
    # batch, and the first case's probe finds Shopify answering and brings the rest back
    recording = sessions()
    record_pushed(session=recording, incident_id=c2, pushed=Pushed(), now=utcnow())
    recording.flush()

    def resolve_all() -> list[str]:
        with session_scope(sessions) as session:
            shop = session.scalars(select(Shop)).one()
            done = close_cases(
                session=session, shop=shop, incident_ids=[c1, c2, c3], by="page:a", now=utcnow()
            )
            return [d.outcome for d in done]

    with ThreadPoolExecutor(2) as pool:
        batch = pool.submit(resolve_all)
        time.sleep(0.3)  # the batch holds the first case and waits for the second
        probe = pool.submit(later, clout, first, circuit)
        time.sleep(0.3)  # the probe reaches the cases it brings back
        recording.commit()
        recording.close()

        # then both finish: no deadlock, nothing for an agent to retry
        assert batch.result(timeout=30) == ["resolved"] * 3
        assert probe.result(timeout=30) == "done"


def test_a_resolved_tag_a_person_typed_in_capitals_comes_off_a_new_cases_order(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given an order a closed case left resolved, the tag typed by a person as `Clout-Resolved`
    # (Shopify's search and Flow read it as the resolved tag)
    store = devstore.store
    order = store.add_purchase(store.add_person("ana@example.org", "Ana", "Buyer"))
    order.tags = ["Clout-Resolved"]

    # when a chargeback opens a new case on it, and the echo of Clout's tagsAdd comes back
    for topic, payload in (
        ("orders/create", order_payload(store, order)),
        ("disputes/create", {"id": 704, "order_id": order.id, "type": "chargeback"}),
    ):
        work_on(clout, record_delivery_now(clout, topic=topic, payload=payload))
    orders_updated(clout, devstore, order, list(order.tags), utcnow() + timedelta(seconds=1))

    # then the old resolved tag came off, and the new case is not closed by its own echo
    assert [t for t in order.tags if t.casefold() == "clout-resolved"] == []
    [incident_id] = incident_ids(clout)
    with session_scope(state(clout).sessions) as session:
        assert session.get(Incident, incident_id).status == "open"
