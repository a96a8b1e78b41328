"""End to end: a webhook from the emulated store → Clout's intake over HTTP → a real worker →
tags visible in the emulated store, the way a merchant would see them in the Shopify admin."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from service.attention.escalation import deliver_notices, escalate_overdue
from service.attention.notify import Notifier
from service.attention.retag import change_settings
from service.core.db import session_scope
from service.core.models import Customer, Delivery, InfluenceProfile, Shop, utcnow
from service.core.vocabulary import DEFAULT_FLOORS, PENDING_DELIVERIES
from service.dev.devstore.schema import _change_tags
from service.dev.devstore.server import LeakyBucket, Plan
from service.dev.devstore.store import Fulfillment, LineItem, Refund
from service.dev.devstore.store import Order as DevOrder
from service.dev.devstore.webhooks import order_payload, refund_payload
from tests.support.agents_page import add_agent, log_in, page_csrf
from tests.support.clout import RunningDevStore, orders_changed_an_hour_ago, state
from tests.support.helpers import SHOP, signed_review, wait_for
from tests.support.pipeline import ATTENTION, Pipeline, running_pipeline
from workers import tasks

pytestmark = pytest.mark.e2e


def deliveries_pending(pipeline: Pipeline) -> int:
    with state(pipeline.app).sessions() as session:
        return len(
            session.scalars(select(Delivery).where(Delivery.status.in_(PENDING_DELIVERIES))).all()
        )


@pytest.fixture
def pipeline(make_app: Callable[..., Flask], devstore: RunningDevStore) -> Iterator[Pipeline]:
    with running_pipeline(make_app, devstore) as running:
        yield running


def test_a_refund_tags_the_order_and_the_customer(pipeline: Pipeline) -> None:
    maya = pipeline.customer()
    order = pipeline.order(maya)
    order.refunds.append(
        Refund(
            id=pipeline.dev.store.next_id(),
            created_at=utcnow(),
            note="Arrived broken",
            amount=Decimal("40.00"),
        )
    )

    pipeline.sender.send("refunds/create", refund_payload(order))

    tags = pipeline.tagged(order)
    assert {ATTENTION, "clout-priority-high", "clout-reason-refund"} <= set(tags)
    wait_for(lambda: ATTENTION in maya.tags)
    assert "clout-priority-high" in maya.tags
    # (the database records the tagging a moment after Shopify shows it)
    [incident] = wait_for(lambda: [i for i in pipeline.incidents() if i.tagged_at is not None])
    assert incident.deadline_at is not None
    assert incident.deadline_at - incident.opened_at <= timedelta(hours=24)
    # the deadline, the severity and the reasons are in the customer's metafields
    wait_for(lambda: ("clout", "attention_deadline") in maya.metafields)
    assert maya.metafields[("clout", "attention_priority")].value == "high"
    # and Shopify Flow heard about it once
    wait_for(lambda: pipeline.dev.store.flow_triggers)
    [trigger] = pipeline.dev.store.flow_triggers
    assert trigger["handle"] == "unhappy-customer-detected"
    assert trigger["payload"]["severity"] == "high"


def test_a_new_order_that_reveals_online_reach_raises_an_open_cases_priority(
    pipeline: Pipeline,
) -> None:
    # given an unhappy customer with no known online presence: a refund, high priority
    maya = pipeline.customer()
    first = pipeline.order(maya)
    first.refunds.append(
        Refund(
            id=pipeline.dev.store.next_id(),
            created_at=utcnow(),
            note="Late again",
            amount=Decimal("40.00"),
        )
    )
    pipeline.sender.send("refunds/create", refund_payload(first))
    pipeline.tagged(first, "clout-priority-high")
    wait_for(pipeline.settled)

    # when she orders again and gives her Instagram at checkout, which has a large following
    pipeline.dev.store.social[("instagram", "maya.makes")] = {
        "followers": 420_000,
        "engagement_rate": 0.05,
        "authenticity": 0.95,
    }
    pipeline.order(maya, custom_attributes=[("instagram", "@maya.makes")])
    wait_for(lambda: stale_profiles(pipeline.app))
    pipeline.app.extensions["celery"].send_task("clout.refresh_profiles", queue="clout")

    # then her open case is raised: influence tag and a higher priority on the first order
    tags = pipeline.tagged(first, "clout-influence-high")
    assert "clout-priority-urgent" in tags
    assert not stale_profiles(pipeline.app)


def stale_profiles(app: Flask) -> list[int]:
    with state(app).sessions() as session:
        return list(
            session.scalars(
                select(InfluenceProfile.customer_id).where(
                    InfluenceProfile.stale_since.is_not(None)
                )
            )
        )


@pytest.mark.parametrize(
    ("topic", "make", "reason"),
    [
        (
            "orders/cancelled",
            lambda s, o: order_payload_with(s, o, cancel_reason="customer"),
            "clout-reason-cancellation",
        ),
        (
            "disputes/create",
            lambda s, o: {"id": 1, "order_id": o.id, "type": "chargeback", "reason": "fraudulent"},
            "clout-reason-dispute",
        ),
        (
            "returns/request",
            lambda s, o: {
                "id": 2,
                "order": {"id": o.id},
                "return_line_items": [{"return_reason": "WRONG_ITEM"}],
            },
            "clout-reason-return",
        ),
        (
            "fulfillment_events/create",
            lambda s, o: {"id": 3, "order_id": o.id, "status": "failure"},
            "clout-reason-delivery",
        ),
        (
            "orders/updated",
            lambda s, o: order_payload_with(s, o, note="Still waiting, where is my order??"),
            "clout-reason-note",
        ),
    ],
)
def test_every_kind_of_store_event_lands_the_attention_tag(
    pipeline: Pipeline, topic: str, make: Callable[[Any, DevOrder], dict[str, Any]], reason: str
) -> None:
    order = pipeline.order(pipeline.customer())

    pipeline.sender.send(topic, make(pipeline.dev.store, order))

    tags = pipeline.tagged(order)
    assert reason in tags


def order_payload_with(store: Any, order: DevOrder, **changes: Any) -> dict[str, Any]:
    """The order's webhook payload, changed the way the store would change it (and newer)."""
    payload = order_payload(store, order)
    payload.update(changes, updated_at=utcnow().isoformat())
    if "cancel_reason" in changes:
        payload["cancelled_at"] = utcnow().isoformat()
    return payload


def test_a_review_lands_the_attention_tag_on_its_order(pipeline: Pipeline) -> None:
    order = pipeline.order(pipeline.customer())
    body = json.dumps(
        {"id": "rv-9", "rating": 1, "body": "Never arrived. Never again.", "order": order.gid}
    ).encode()
    headers, query = signed_review("generic", body)
    import requests

    response = requests.post(
        pipeline.intake.replace("/shopify", f"/reviews/generic/{SHOP}"),
        data=body,
        headers=headers,
        params=query,
        timeout=5,
    )
    assert response.status_code == 200

    assert "clout-reason-review" in pipeline.tagged(order)


def test_clouts_own_tag_writes_echo_back_without_a_loop(pipeline: Pipeline) -> None:
    order = pipeline.order(pipeline.customer())
    pipeline.sender.send("disputes/create", {"id": 7, "order_id": order.id, "type": "chargeback"})
    pipeline.tagged(order)
    # Clout's tagsAdd made the store send orders/updated back; let every echo be processed
    wait_for(pipeline.sender.idle, timeout=20)
    wait_for(pipeline.settled, timeout=20)
    before = dict(pipeline.dev.admin.stats.mutations)

    # then a quiet while passes with no further writes
    import time

    time.sleep(3)
    wait_for(pipeline.sender.idle, timeout=20)
    assert pipeline.dev.admin.stats.mutations.get("tagsAdd") == before.get("tagsAdd")
    assert pipeline.dev.admin.stats.mutations.get("tagsRemove") == before.get("tagsRemove")


def test_a_person_adding_the_resolved_tag_resolves_and_clout_tidies_up(pipeline: Pipeline) -> None:
    order = pipeline.order(pipeline.customer())
    pipeline.sender.send("disputes/create", {"id": 8, "order_id": order.id, "type": "chargeback"})
    pipeline.tagged(order, "clout-priority-urgent")
    wait_for(pipeline.settled)

    _change_tags(
        pipeline.dev.store, order.gid, ["clout-resolved"], add=True
    )  # the merchant, in the admin

    wait_for(lambda: pipeline.incidents()[0].status == "resolved")
    wait_for(lambda: not any(t.startswith("clout-priority") for t in order.tags))
    assert "clout-resolved" in order.tags
    [incident] = pipeline.incidents()
    assert incident.resolved_by == "resolved-tag"


def an_order_resolved_by_tag(pipeline: Pipeline, *, dispute: int) -> DevOrder:
    """An order whose case (an inquiry, dispute `dispute`) a person closed by adding the resolved
    tag in the admin, once Clout has taken its own tags off."""
    order = pipeline.order(pipeline.customer())
    pipeline.sender.send(
        "disputes/create", {"id": dispute, "order_id": order.id, "type": "inquiry"}
    )
    pipeline.tagged(order, "clout-priority-high")
    wait_for(pipeline.settled)
    _change_tags(pipeline.dev.store, order.gid, ["clout-resolved"], add=True)
    wait_for(lambda: pipeline.incidents()[0].status == "resolved")
    wait_for(lambda: ATTENTION not in order.tags)
    wait_for(pipeline.settled)
    return order


def test_a_new_complaint_on_an_order_resolved_before_keeps_its_attention_tag(
    pipeline: Pipeline,
) -> None:
    # given an order whose first case a person resolved with the resolved tag
    order = an_order_resolved_by_tag(pipeline, dispute=21)

    # when a chargeback on the same order arrives
    pipeline.sender.send("disputes/create", {"id": 22, "order_id": order.id, "type": "chargeback"})

    # then the new case stays open and the order carries its attention tag, not the old
    # case's resolved tag, once every echo of Clout's own writes has come back
    pipeline.tagged(order, "clout-priority-urgent")
    wait_for(pipeline.sender.idle, timeout=20)
    wait_for(pipeline.settled, timeout=20)
    old, new = sorted(pipeline.incidents(), key=lambda i: i.id)
    assert old.status == "resolved"
    assert new.status == "open"
    assert ATTENTION in order.tags
    assert "clout-resolved" not in order.tags


def test_a_person_can_still_resolve_that_new_case_when_the_floors_echoes_were_missed(
    pipeline: Pipeline,
) -> None:
    # given an order whose first case a person resolved with the resolved tag
    order = an_order_resolved_by_tag(pipeline, dispute=23)

    # and a chargeback whose floor's orders/updated echoes never reach Clout (as when they are
    # read before the floor's record is written, and so passed over)
    store = pipeline.dev.store
    store.listeners.remove(pipeline.sender.on_event)
    pipeline.sender.send("disputes/create", {"id": 24, "order_id": order.id, "type": "chargeback"})
    pipeline.tagged(order, "clout-priority-urgent")
    wait_for(lambda: "clout-resolved" not in order.tags)
    wait_for(pipeline.settled, timeout=20)
    store.listeners.append(pipeline.sender.on_event)

    # when, later, a person resolves the new case with the resolved tag
    _change_tags(store, order.gid, ["clout-resolved"], add=True)

    # then it is resolved: Clout is not left waiting for an echo that will never come
    wait_for(lambda: sorted(pipeline.incidents(), key=lambda i: i.id)[1].status == "resolved")
    assert sorted(pipeline.incidents(), key=lambda i: i.id)[1].resolved_by == "resolved-tag"


def test_the_old_resolved_tag_comes_off_once_shopify_takes_removals_again(
    pipeline: Pipeline,
) -> None:
    # given an order whose first case a person resolved with the resolved tag
    order = an_order_resolved_by_tag(pipeline, dispute=25)

    # when a chargeback arrives while Shopify answers every tagsRemove with a 503
    pipeline.dev.admin.set_faults(failing="tagsRemove")
    pipeline.sender.send("disputes/create", {"id": 26, "order_id": order.id, "type": "chargeback"})

    # then the floor lands all the same (recorded once the retries for the removal ran out),
    # and the echoes of its writes, the old tag still there, do not close the new case
    pipeline.tagged(order, "clout-priority-urgent")
    wait_for(lambda: sorted(pipeline.incidents(), key=lambda i: i.id)[1].tagged_at, timeout=30)
    assert pipeline.dev.admin.stats.server_errors > 0
    wait_for(pipeline.sender.idle, timeout=20)
    wait_for(lambda: not deliveries_pending(pipeline), timeout=20)
    assert sorted(pipeline.incidents(), key=lambda i: i.id)[1].status == "open"

    # and once tagsRemove is answered again, the old resolved tag comes off and the case is open
    pipeline.dev.admin.set_faults(failing="")
    wait_for(lambda: "clout-resolved" not in order.tags, timeout=40)
    wait_for(pipeline.sender.idle, timeout=20)
    assert ATTENTION in order.tags
    assert sorted(pipeline.incidents(), key=lambda i: i.id)[1].status == "open"


def test_a_dispute_that_arrives_before_its_order_still_finds_the_customer(
    pipeline: Pipeline,
) -> None:
    # given an order Clout has not heard of (its orders/create is still on the way)
    maya = pipeline.customer()
    order = pipeline.dev.store.add_purchase(
        maya,
        total=Decimal("40.00"),
        notify=False,
        line_items=[LineItem("Stoneware mug", 1, 7001000000001, Decimal("40.00"))],
    )

    # when a chargeback on it arrives
    pipeline.sender.send("disputes/create", {"id": 12, "order_id": order.id, "type": "chargeback"})

    # then Clout asked Shopify for the order: the case is Maya's, and she is tagged too
    pipeline.tagged(order, "clout-priority-urgent")
    wait_for(lambda: ATTENTION in maya.tags)
    [incident] = pipeline.incidents()
    with state(pipeline.app).sessions() as session:
        customer = session.get(Customer, incident.customer_id)
        assert customer is not None
        assert (customer.first_name, customer.last_name) == ("Maya", "Ortiz")


def test_resolving_on_the_agents_page_does_what_the_resolved_tag_does(pipeline: Pipeline) -> None:
    # given a tagged dispute and an agent signed in to the page
    maya = pipeline.customer()
    order = pipeline.order(maya)
    pipeline.sender.send("disputes/create", {"id": 9, "order_id": order.id, "type": "chargeback"})
    pipeline.tagged(order, "clout-priority-urgent")
    wait_for(pipeline.settled)
    add_agent(pipeline.app, "agent@example.org", SHOP)
    agent = pipeline.app.test_client()
    log_in(agent, "agent@example.org")
    [incident] = pipeline.incidents()

    # when they press Resolve
    answer = agent.post(
        f"/agents/api/incidents/{incident.id}/resolve", headers={"X-CSRF-Token": page_csrf(agent)}
    )

    # then the order in Shopify reads as if a person had added the resolved tag: Clout's tags
    # are gone, the resolved tag is the record, and no escalation follows
    assert answer.status_code == 200
    wait_for(lambda: "clout-resolved" in order.tags and ATTENTION not in order.tags)
    wait_for(lambda: ATTENTION not in maya.tags)
    assert not [t for t in order.tags if t.startswith("clout-") and t != "clout-resolved"]
    [incident] = pipeline.incidents()
    assert incident.status == "resolved"
    assert incident.resolved_by == "page:agent-1"
    assert "Maya" not in str(agent.get("/agents/api/queue").json)


def test_another_app_removing_a_clout_tag_gets_it_back(pipeline: Pipeline) -> None:
    order = pipeline.order(pipeline.customer())
    pipeline.sender.send("disputes/create", {"id": 9, "order_id": order.id, "type": "chargeback"})
    pipeline.tagged(order, "clout-reason-dispute")
    wait_for(pipeline.settled)

    _change_tags(pipeline.dev.store, order.gid, ["clout-reason-dispute"], add=False)

    pipeline.tagged(order, "clout-reason-dispute")
    assert pipeline.incidents()[0].status == "open"


def test_the_floor_lands_when_everything_but_tag_writes_fails(pipeline: Pipeline) -> None:
    pipeline.dev.admin.set_faults(only_tags=True)
    order = pipeline.order(pipeline.customer("nobody-knows@example.org"))
    body = json.dumps(
        {
            "id": "rv-10",
            "rating": 2,
            "body": "It broke.",
            "email": "nobody-knows@example.org",
            "order": order.gid,
        }
    ).encode()
    headers, query = signed_review("generic", body)
    import requests

    requests.post(
        pipeline.intake.replace("/shopify", f"/reviews/generic/{SHOP}"),
        data=body,
        headers=headers,
        params=query,
        timeout=5,
    )

    tags = pipeline.tagged(order, timeout=30)
    assert ATTENTION in tags
    assert tags.count(ATTENTION) == 1


@pytest.mark.reliability
def test_a_429_storm_delays_the_tag_but_does_not_lose_it(pipeline: Pipeline) -> None:
    order = pipeline.order(pipeline.customer())
    pipeline.dev.admin.set_faults(storm_seconds=3)

    pipeline.sender.send("disputes/create", {"id": 11, "order_id": order.id, "type": "chargeback"})

    pipeline.tagged(order, timeout=40)
    assert pipeline.dev.admin.stats.storm_429 > 0


def test_a_missed_webhook_is_caught_by_reconciliation(pipeline: Pipeline) -> None:
    # given an order cancelled by the customer in the store, and no webhook about it at all
    store = pipeline.dev.store
    maya = pipeline.customer()
    when = utcnow() - timedelta(hours=1)
    order = store.add_order(
        DevOrder(
            id=store.next_id(),
            number=store.next_order_number(),
            customer_id=maya.id,
            email=maya.email,
            created_at=when,
            updated_at=when,
            total=Decimal(20),
            cancelled_at=when,
            cancel_reason="CUSTOMER",
            financial_status="VOIDED",
        )
    )

    pipeline.app.extensions["celery"].send_task("clout.reconcile", queue="clout")

    assert "clout-reason-cancellation" in pipeline.tagged(order, timeout=30)


def test_reconciliation_cut_short_goes_on_until_it_has_read_every_page(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given runs with time for about a page each, a Plus-sized API bucket, and 45 orders
    # changed in the last hour with no webhook for any; the last change is a cancellation
    monkeypatch.setattr(tasks, "RECONCILE_RUN_SECONDS", 0.3)
    monkeypatch.setattr(tasks, "RECONCILE_AGAIN_SECONDS", 0.1)
    monkeypatch.setattr(tasks, "RECONCILE_RETRY_SECONDS", 0.5)
    pipeline.dev.admin.bucket = LeakyBucket(Plan(maximum=2000, restore_rate=1000))
    orders = orders_changed_an_hour_ago(pipeline.dev.store, 45)

    # when the quarter-hour's run is rung
    pipeline.app.extensions["celery"].send_task("clout.reconcile", queue="clout")

    # then runs follow one another until the last page is read and the customer is tagged
    assert "clout-reason-cancellation" in pipeline.tagged(orders[-1], timeout=60)
    with session_scope(state(pipeline.app).sessions) as session:
        shop = session.scalars(select(Shop)).one()
        assert shop.reconcile_resume_at is None  # caught up: the next pass starts as usual


def test_an_overdue_incident_escalates_and_notifies(pipeline: Pipeline) -> None:
    received: list[tuple[dict[str, Any], str]] = []

    def chat(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        received.append((json.loads(body), environ.get("HTTP_X_CLOUT_SIGNATURE", "")))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    hook = make_server("127.0.0.1", 0, chat)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    order = pipeline.order(pipeline.customer())
    order.fulfillments.append(
        Fulfillment(id=1, created_at=utcnow(), status="SUCCESS", display_status="FAILURE")
    )
    pipeline.sender.send(
        "fulfillment_events/create", {"id": 12, "order_id": order.id, "status": "failure"}
    )
    pipeline.tagged(order, "clout-priority-high")
    wait_for(pipeline.settled)

    # when the clock passes the deadline (an injected "now", a day and a bit later)
    clout = state(pipeline.app)
    notifier = Notifier(
        webhook_url=f"http://127.0.0.1:{hook.server_port}/",
        webhook_secret="hook-secret",
        private_targets=True,  # the test's receiver is on this machine
    )
    with session_scope(clout.sessions) as session:
        escalated = escalate_overdue(
            session=session,
            now=utcnow() + timedelta(hours=25),
            floors=lambda _shop_id: DEFAULT_FLOORS,
            notifier=lambda _shop_id: notifier,
        )
    deliver_notices(sessions=clout.sessions, notifier=lambda _shop_id: notifier, now=utcnow)
    for incident_id in escalated:
        pipeline.app.extensions["celery"].send_task(
            "clout.attend_incident", args=[incident_id], queue="clout"
        )
    hook.shutdown()

    # then it is overdue in Shopify, a step more urgent, and the merchant's channel heard of it
    tags = pipeline.tagged(order, "clout-overdue")
    assert "clout-priority-urgent" in tags
    # the old priority comes off in the best-effort pass, a moment after the floor's tags land
    wait_for(lambda: "clout-priority-high" not in order.tags)
    [(message, signature)] = received
    raw = json.dumps(message).encode()
    assert message["clout"]["priority"] == "urgent"
    assert "Overdue" in message["text"]
    assert signature == "sha256=" + hmac.new(b"hook-secret", raw, hashlib.sha256).hexdigest()


@pytest.mark.reliability
def test_a_duplicated_and_reordered_stream_tags_once(pipeline: Pipeline) -> None:
    order = pipeline.order(pipeline.customer())
    newer = order_payload_with(pipeline.dev.store, order, cancel_reason="customer")
    older = order_payload(pipeline.dev.store, order)

    for webhook_id, payload in (("w-a", newer), ("w-a", newer), ("w-b", older), ("w-a", newer)):
        pipeline.sender.send("orders/updated", payload, webhook_id=webhook_id)

    pipeline.tagged(order)
    wait_for(pipeline.sender.idle)
    assert len(pipeline.incidents()) == 1
    assert order.tags.count(ATTENTION) == 1


def test_a_person_taking_the_attention_tag_off_a_customer_is_not_left_half_done(
    pipeline: Pipeline,
) -> None:
    # given an open case whose attention tag is on the order and on the customer
    maya = pipeline.customer()
    order = pipeline.order(maya)
    pipeline.sender.send("disputes/create", {"id": 31, "order_id": order.id, "type": "chargeback"})
    pipeline.tagged(order, "clout-priority-urgent")
    wait_for(lambda: ATTENTION in maya.tags)
    wait_for(pipeline.settled)

    # when a person takes the attention tag off the customer in the Shopify admin
    _change_tags(pipeline.dev.store, maya.gid, [ATTENTION], add=False)
    wait_for(pipeline.sender.idle, timeout=20)
    wait_for(pipeline.settled, timeout=20)

    # then Clout either reads it as the order's removal is read (the case resolved) or puts the
    # tag back as it does for drift; left as it is, the case is open on the agents' page while
    # the customer has dropped out of the "Unhappy customers (Clout)" segment and every Flow
    # or search that reads the customer's tag
    def consistent() -> bool:
        [incident] = pipeline.incidents()
        return incident.status == "resolved" or ATTENTION in maya.tags

    wait_for(consistent, timeout=30)


def test_a_renamed_resolved_tag_does_not_leave_the_old_one_on_a_new_case(
    pipeline: Pipeline,
) -> None:
    # given an order whose first case a person resolved with the resolved tag, and then the
    # merchant renaming the resolved tag in the settings
    order = an_order_resolved_by_tag(pipeline, dispute=41)
    clout = state(pipeline.app)
    with session_scope(clout.sessions) as session:
        shop = session.scalars(select(Shop)).one()
        change_settings(
            session=session,
            shop_id=shop.id,
            changes={"resolved_tag": "case-done"},
            by="cli:merchant",
            defaults=clout.settings,
            vault=clout.vault,
            now=utcnow(),
        )

    # when a chargeback on the same order arrives
    pipeline.sender.send("disputes/create", {"id": 42, "order_id": order.id, "type": "chargeback"})
    pipeline.tagged(order, "clout-priority-urgent")
    wait_for(pipeline.sender.idle, timeout=20)
    wait_for(pipeline.settled, timeout=20)

    # then the order shows the open case, not the old case's resolve: Clout wrote
    # "clout-resolved" itself, and a new case takes it off (as it does under the tag's current
    # name); left on, an agent filtering by it, or a win-back Flow on it, reads an open urgent
    # chargeback as resolved
    assert [i.status for i in pipeline.incidents()] == ["resolved", "open"]
    assert ATTENTION in order.tags
    assert "clout-resolved" not in order.tags, order.tags
