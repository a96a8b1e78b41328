"""Side effects sent once, whatever dies when: a worker killed between Shopify's answer to a
Flow trigger and the record of it does not make the merchant's automation run twice. Against
the emulator over HTTP, with a real Redis and database; the crash is injected at the edge (the
HTTP transport), after Shopify has answered."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine, delete, select, text
from werkzeug.serving import make_server

from service.attention import outbox
from service.attention.attend import attend_incident, attend_later, flow_key
from service.attention.escalation import deliver_notices, escalate_overdue
from service.attention.notify import Notifier
from service.attention.pending import alert_pending
from service.core.audit import case_events
from service.core.db import session_scope
from service.core.models import Incident, OutboundEffect, Shop, utcnow
from service.core.shop_settings import shop_config
from service.core.vocabulary import DEFAULT_FLOORS
from service.dev.devstore.webhooks import order_payload
from service.shopify.admin import ShopifyAdmin
from tests.support.agents_page import add_agent, log_in
from tests.support.clout import RunningDevStore, process_delivery_now, record_delivery_now, state
from tests.support.helpers import SHOP, wait_for
from workers.tasks import admin_factory, tag_settings


class WorkerKilled(BaseException):
    """The process dying: nothing after this line of the worker runs."""


def a_chargeback(app: Flask, devstore: RunningDevStore) -> int:
    maya = devstore.store.add_person("maya@example.org", "Maya", "Ortiz")
    order = devstore.store.add_purchase(maya)
    for topic, payload in (
        ("orders/create", order_payload(devstore.store, order)),
        ("disputes/create", {"id": 500, "order_id": order.id, "type": "chargeback"}),
    ):
        assert process_delivery_now(app, record_delivery_now(app, topic=topic, payload=payload))
    with session_scope(state(app).sessions) as session:
        return session.scalars(select(Incident.id)).one()


def a_tagged_chargeback(app: Flask, devstore: RunningDevStore) -> int:
    """A chargeback whose floor (its attention tag) has landed; its later work still to do."""
    incident_id = a_chargeback(app, devstore)
    app_state = state(app)
    attend_incident(
        sessions=app_state.sessions,
        incident_id=incident_id,
        admin=admin_factory(app_state),
        shop_settings=tag_settings(app_state),
        now=utcnow(),
    )
    return incident_id


def later(app: Flask, incident_id: int, admin: Callable[[Shop], ShopifyAdmin]) -> str:
    clout = state(app)
    return attend_later(
        sessions=clout.sessions,
        incident_id=incident_id,
        admin=admin,
        shop_settings=tag_settings(clout),
        now=utcnow(),
    )


def flow_triggers(devstore: RunningDevStore) -> int:
    return devstore.admin.stats.mutations.get("flowTriggerReceive", 0)


def effect(app: Flask, key: str) -> OutboundEffect:
    with session_scope(state(app).sessions) as session:
        return session.scalars(select(OutboundEffect).where(OutboundEffect.key == key)).one()


def test_a_worker_killed_after_flow_answered_does_not_trigger_it_twice(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a chargeback whose attention tag has landed
    incident_id = a_tagged_chargeback(clout, devstore)
    app_state = state(clout)

    # when the worker sending its Flow trigger dies the moment Shopify has answered
    def hook(response: httpx.Response) -> None:
        if b"flowTriggerReceive" in response.request.content:
            response.read()
            raise WorkerKilled

    with httpx.Client(event_hooks={"response": [hook]}) as dying:

        def dying_admin(shop: Shop) -> ShopifyAdmin:
            return dataclasses.replace(admin_factory(app_state)(shop), http=dying)

        with pytest.raises(WorkerKilled):
            later(clout, incident_id, dying_admin)
    assert flow_triggers(devstore) == 1

    # and a restarted worker takes the case's later work up again
    assert later(clout, incident_id, admin_factory(app_state)) == "done"

    # then Flow ran once; the send is left for a person to check, never repeated
    assert flow_triggers(devstore) == 1
    assert effect(clout, flow_key(incident_id)).status == "sending"
    with session_scope(app_state.sessions) as session:
        marked = outbox.mark_uncertain(
            session=session, now=utcnow() + outbox.UNCERTAIN_AFTER + timedelta(seconds=1)
        )
    assert marked == [flow_key(incident_id)]
    assert later(clout, incident_id, admin_factory(app_state)) in {"done", "nothing"}
    assert flow_triggers(devstore) == 1
    # and the case's trail says Flow may not have started, for a person to check
    [(what, detail)] = flow_in_trail(clout, incident_id)
    assert (what, detail["outcome"]) == ("flow_failed", "uncertain")


def test_a_flow_trigger_shopify_could_not_take_is_sent_later_once(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a chargeback whose tag landed, and Shopify failing every call for now
    incident_id = a_tagged_chargeback(clout, devstore)
    app_state = state(clout)
    devstore.admin.set_faults(error_rate=1.0)

    # when the later work is tried while Shopify is down, then again once it is well
    assert later(clout, incident_id, admin_factory(app_state)) == "postponed"
    devstore.admin.set_faults(error_rate=0.0)
    assert later(clout, incident_id, admin_factory(app_state)) == "done"
    assert later(clout, incident_id, admin_factory(app_state)) == "nothing"

    # then the trigger was sent once, and recorded as sent; the case's trail says so once
    assert flow_triggers(devstore) == 1
    assert effect(clout, flow_key(incident_id)).status == "sent"
    assert flow_in_trail(clout, incident_id) == [
        ("flow_triggered", {"trigger": "unhappy-customer-detected"})
    ]


def flow_in_trail(app: Flask, incident_id: int) -> list[tuple[str, dict[str, Any]]]:
    with session_scope(state(app).sessions) as session:
        trail = case_events(session=session, incident_ids=[incident_id])[incident_id]
        return [(e.kind, dict(e.detail or {})) for e in trail if e.kind.startswith("flow_")]


class FlowRefuses(httpx.BaseTransport):
    """Shopify (the edge) answering the Flow trigger with a userError, as it does when the
    app's trigger extension is not deployed; every other call reaches the emulator."""

    def __init__(self) -> None:
        self.emulator = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if b"flowTriggerReceive" in request.content:
            errors = [{"field": ["handle"], "message": "Invalid handle or payload"}]
            return httpx.Response(
                200, json={"data": {"flowTriggerReceive": {"userErrors": errors}}}
            )
        return self.emulator.handle_request(request)


def test_a_flow_trigger_shopify_refuses_is_in_the_trail_with_its_reason(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a chargeback whose tag landed, and a store whose Flow refuses Clout's trigger
    incident_id = a_tagged_chargeback(clout, devstore)
    app_state = state(clout)

    # when the case's later work sends the trigger
    with httpx.Client(transport=FlowRefuses()) as refusing:
        done = later(
            clout,
            incident_id,
            lambda shop: dataclasses.replace(admin_factory(app_state)(shop), http=refusing),
        )

    # then an agent reading the trail learns Flow was not started, and Shopify's reason
    assert done == "done"
    assert effect(clout, flow_key(incident_id)).status == "failed"
    assert flow_in_trail(clout, incident_id) == [
        (
            "flow_failed",
            {
                "trigger": "unhappy-customer-detected",
                "outcome": "failed",
                "why": "Invalid handle or payload",
                "tries": 1,
            },
        )
    ]


def test_a_flow_trigger_shopify_never_took_is_in_the_trail_once_given_up(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a chargeback whose tag landed, and then a Shopify down for as long as the trigger
    # is tried
    incident_id = a_tagged_chargeback(clout, devstore)
    app_state = state(clout)
    devstore.admin.set_faults(error_rate=1.0)

    # when its later work is tried as often as a trigger is
    outcomes = [
        later(clout, incident_id, admin_factory(app_state)) for _ in range(outbox.MAX_ATTEMPTS)
    ]

    # then the trail says, once, that Flow was never started, after how many tries, and why
    assert outcomes[0] == "postponed"
    assert effect(clout, flow_key(incident_id)).status == "failed"
    [(what, detail)] = flow_in_trail(clout, incident_id)
    assert (what, detail["outcome"], detail["tries"]) == (
        "flow_failed",
        "failed",
        outbox.MAX_ATTEMPTS,
    )
    assert "Unavailable" in detail["why"]
    assert flow_triggers(devstore) == 0


def serving_channel(status: str) -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A merchant's notification endpoint on this machine (the edge), answering `status`:
    what it received."""
    received: list[dict[str, str]] = []

    def endpoint(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        received.append({"key": environ.get("HTTP_X_CLOUT_EFFECT_KEY", "")})
        start_response(status, [("Content-Type", "text/plain")])
        return [b"ok"]

    server = make_server("127.0.0.1", 0, endpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/", received
    server.shutdown()


@pytest.fixture
def channel() -> Iterator[tuple[str, list[dict[str, str]]]]:
    yield from serving_channel("200 OK")


@pytest.fixture
def removed_channel() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A channel the merchant deleted: a removed Slack or webhook URL answers 404."""
    yield from serving_channel("404 Not Found")


NOTICES = {"notified", "notice_failed"}


def notices_in_trail(app: Flask, incident_id: int) -> list[tuple[str, dict[str, Any]]]:
    """What the case's trail says its channels were told: (kind, detail), oldest first."""
    with session_scope(state(app).sessions) as session:
        events = case_events(session=session, incident_ids=[incident_id])[incident_id]
        return [(e.kind, e.detail or {}) for e in events if e.kind in NOTICES]


def overdue_case(app: Flask, devstore: RunningDevStore, notifier: Notifier) -> int:
    """A chargeback past its deadline, escalated: its notices recorded, not yet sent."""
    incident_id = a_tagged_chargeback(app, devstore)
    app_state = state(app)
    with session_scope(app_state.sessions) as session:
        escalated = escalate_overdue(
            session=session,
            now=utcnow() + timedelta(hours=5),
            floors=lambda _shop_id: DEFAULT_FLOORS,
            notifier=lambda _shop_id: notifier,
        )
    assert escalated == [incident_id]
    return incident_id


def die_after_sending(notifier: Notifier) -> Callable[[outbox.Effect], outbox.Result]:
    def send(effect: outbox.Effect) -> outbox.Result:
        notifier.deliver(effect)
        raise WorkerKilled

    return send


@pytest.mark.parametrize(
    ("kind", "times"),
    [("slack", 1), ("webhook", 2)],  # Slack cannot tell a repeat; the webhook's receiver can
)
def test_a_worker_killed_after_a_notice_went_out(
    clout: Flask,
    devstore: RunningDevStore,
    channel: tuple[str, list[dict[str, str]]],
    kind: str,
    times: int,
) -> None:
    # given an overdue case whose notice to the merchant's channel is recorded
    url, received = channel
    notifier = (
        Notifier(slack_url=url, private_targets=True)
        if kind == "slack"
        else Notifier(webhook_url=url, private_targets=True)
    )
    incident_id = overdue_case(clout, devstore, notifier)
    key = f"escalation:{incident_id}:1:{kind}"
    sessions = state(clout).sessions

    # when the worker dies right after the channel took the notice, before recording it
    with pytest.raises(WorkerKilled):
        outbox.send_effect(sessions=sessions, key=key, send=die_after_sending(notifier), now=utcnow)

    # and the notices are delivered again, now and once the send is long overdue (the
    # sweeper having looked for sends cut short in between)
    overdue = utcnow() + outbox.UNCERTAIN_AFTER + timedelta(seconds=1)
    deliver_notices(sessions=sessions, notifier=lambda _shop_id: notifier, now=utcnow)
    with session_scope(sessions) as session:
        outbox.mark_uncertain(session=session, now=overdue)
    deliver_notices(sessions=sessions, notifier=lambda _shop_id: notifier, now=lambda: overdue)

    # then Slack heard of it once (the send is left for a person to check); the webhook
    # heard of it again, with the same key, so its receiver drops the repeat
    assert len(received) == times
    if kind == "webhook":
        assert [r["key"] for r in received] == [key, key]
        assert effect(clout, key).status == "sent"
    else:
        assert effect(clout, key).status == "uncertain"
    # and the case's trail says so once, however many times it was sent: told (the webhook),
    # or cut short and perhaps never heard (Slack)
    [(what, detail)] = notices_in_trail(clout, incident_id)
    assert detail["channels"] == [kind]
    if kind == "webhook":
        assert what == "notified"
    else:
        assert (what, detail["outcome"]) == ("notice_failed", "uncertain")


def test_a_notice_recorded_before_a_crash_is_sent_after_it(
    clout: Flask, devstore: RunningDevStore, channel: tuple[str, list[dict[str, str]]]
) -> None:
    # given an escalation whose notice was recorded, the worker dying before it sent anything
    url, received = channel
    notifier = Notifier(slack_url=url, private_targets=True)
    incident_id = overdue_case(clout, devstore, notifier)

    # when the next escalation run delivers what waits
    sent = deliver_notices(
        sessions=state(clout).sessions, notifier=lambda _shop_id: notifier, now=utcnow
    )

    # then the notice goes out once
    assert sent == 1
    assert len(received) == 1
    assert effect(clout, f"escalation:{incident_id}:1:slack").status == "sent"


def pending_alert(app: Flask, devstore: RunningDevStore, notifier: Notifier) -> str:
    """A chargeback whose attention tag has not reached Shopify for an hour, announced: the
    alert to the merchant's channels recorded, not yet sent; its key, less the channel."""
    incident_id = a_chargeback(app, devstore)
    clout = state(app)
    with session_scope(clout.sessions) as session:
        shop_id = session.scalars(select(Shop.id)).one()
        announced = alert_pending(
            session=session,
            now=utcnow() + timedelta(hours=1),
            config_of=lambda shop: shop_config(
                session=session, shop_id=shop, defaults=clout.settings, vault=clout.vault
            ),
            notifier_of=lambda _shop: notifier,
        )
    assert announced == [incident_id]
    return f"pending:{shop_id}:{incident_id}"


@pytest.mark.parametrize(
    ("kind", "times"),
    # Slack and a mail server cannot tell a repeat; the signed webhook's receiver can
    [("slack", 1), ("email", 1), ("webhook", 2)],
)
def test_a_worker_killed_after_a_pending_alert_went_out(
    clout: Flask,
    devstore: RunningDevStore,
    channel: tuple[str, list[dict[str, str]]],
    smtp: Any,
    kind: str,
    times: int,
) -> None:
    # given a case whose tag has waited an hour, its alert to the merchant's channel recorded
    url, received = channel
    notifier = {
        "slack": Notifier(slack_url=url, private_targets=True),
        "webhook": Notifier(webhook_url=url, private_targets=True),
        "email": Notifier(
            smtp_url=f"smtp://127.0.0.1:{smtp.server_address[1]}", email_to="owner@example.org"
        ),
    }[kind]
    key = f"{pending_alert(clout, devstore, notifier)}:{kind}"
    sessions = state(clout).sessions

    # when the worker dies right after the channel took the alert, before recording it
    with pytest.raises(WorkerKilled):
        outbox.send_effect(sessions=sessions, key=key, send=die_after_sending(notifier), now=utcnow)

    # and what waits is delivered again, now and once the send is long overdue (the sweeper
    # having looked for sends cut short in between)
    overdue = utcnow() + outbox.UNCERTAIN_AFTER + timedelta(seconds=1)
    deliver_notices(sessions=sessions, notifier=lambda _shop_id: notifier, now=utcnow)
    with session_scope(sessions) as session:
        outbox.mark_uncertain(session=session, now=overdue)
    deliver_notices(sessions=sessions, notifier=lambda _shop_id: notifier, now=lambda: overdue)

    # then Slack and the mailbox heard of it once (the send is left for a person to check);
    # the webhook heard of it again with the same key, for its receiver to drop the repeat
    heard = len(smtp.messages) if kind == "email" else len(received)
    assert heard == times
    assert effect(clout, key).status == ("sent" if kind == "webhook" else "uncertain")
    if kind == "webhook":
        assert [r["key"] for r in received] == [key, key]


def test_a_pending_alert_recorded_before_a_crash_is_sent_after_it_once(
    clout: Flask, devstore: RunningDevStore, channel: tuple[str, list[dict[str, str]]]
) -> None:
    # given an alert recorded with its case, the worker dying before it sent anything
    url, received = channel
    notifier = Notifier(slack_url=url, private_targets=True)
    key = f"{pending_alert(clout, devstore, notifier)}:slack"
    sessions = state(clout).sessions

    # when the next runs deliver what waits
    first = deliver_notices(sessions=sessions, notifier=lambda _shop_id: notifier, now=utcnow)
    second = deliver_notices(sessions=sessions, notifier=lambda _shop_id: notifier, now=utcnow)

    # then the alert goes out once
    assert (first, second) == (1, 0)
    assert len(received) == 1
    assert effect(clout, key).status == "sent"


def test_one_notice_whose_send_crashes_does_not_hold_back_the_others(
    app: Flask, shop: Shop, channel: tuple[str, list[dict[str, str]]]
) -> None:
    # given an email notice to a mail server set with a port that cannot be (the operator's
    # typo: 99999), and a Slack notice recorded after it
    url, received = channel
    notifier = Notifier(
        slack_url=url,
        smtp_url="smtp://127.0.0.1:99999",
        email_to="owner@example.org",
        private_targets=True,
    )
    sessions = state(app).sessions
    with session_scope(sessions) as session:
        for kind in (outbox.EffectKind.EMAIL, outbox.EffectKind.SLACK):
            outbox.stage(
                session=session,
                shop_id=shop.id,
                incident_id=None,
                kind=kind,
                key=f"escalation:1:1:{kind.value}",
                payload={"subject": "Overdue", "message": "Order #1001."},
                now=utcnow(),
            )

    # when the escalation run delivers what waits
    sent = deliver_notices(sessions=sessions, notifier=lambda _shop_id: notifier, now=utcnow)

    # then the Slack notice still goes out, and the email is settled for a person to see
    # (never left "sending", where nothing would look at it again)
    assert sent == 1
    assert len(received) == 1
    assert effect(app, "escalation:1:1:email").status == "uncertain"


def test_the_trail_says_which_channels_heard_of_an_escalation_once_the_sends_settle(
    clout: Flask,
    devstore: RunningDevStore,
    channel: tuple[str, list[dict[str, str]]],
    removed_channel: tuple[str, list[dict[str, str]]],
) -> None:
    # given an overdue case whose store has a working Slack and a webhook URL it since deleted
    slack_url, heard = channel
    webhook_url, _ = removed_channel
    notifier = Notifier(slack_url=slack_url, webhook_url=webhook_url, private_targets=True)
    incident_id = overdue_case(clout, devstore, notifier)

    # then, while its notices are only recorded, the trail does not say anybody was told
    assert notices_in_trail(clout, incident_id) == []

    # when the notices are delivered, and the run comes again (a retried task)
    sessions = state(clout).sessions
    deliver_notices(sessions=sessions, notifier=lambda _shop_id: notifier, now=utcnow)
    deliver_notices(sessions=sessions, notifier=lambda _shop_id: notifier, now=utcnow)

    # then the trail says, once each, that Slack was told the case is overdue and that the
    # webhook refused, why in a few words that name neither the address nor anything of the
    # customer's
    assert len(heard) == 1
    trail = notices_in_trail(clout, incident_id)
    assert [(what, detail["channels"], detail["why"]) for what, detail in trail] == [
        ("notified", ["slack"], "overdue"),
        ("notice_failed", ["webhook"], "overdue"),
    ]
    failed = trail[1][1]
    assert failed["outcome"] == "failed"
    assert "404" in failed["error"]
    assert "127.0.0.1" not in str(failed)
    assert webhook_url.rsplit(":", 1)[1] not in str(failed)
    # and an agent opening the case is told the same
    agent = clout.test_client()
    add_agent(clout, "agent@example.org", SHOP)
    log_in(agent, "agent@example.org")
    seen = agent.get(f"/agents/api/incidents/{incident_id}").json["trail"]
    assert [(e["what"], e["detail"]) for e in seen if e["what"] in NOTICES] == [
        ("notified", {"channels": ["slack"], "why": "overdue"}),
        ("notice_failed", failed),
    ]


def test_a_pending_alert_to_a_private_address_is_in_the_trail_as_refused(
    clout: Flask, devstore: RunningDevStore, channel: tuple[str, list[dict[str, str]]]
) -> None:
    # given a store whose webhook address is on this machine (not allowed for a store)
    url, received = channel
    notifier = Notifier(webhook_url=url)
    pending_alert(clout, devstore, notifier)
    with session_scope(state(clout).sessions) as session:
        incident_id = session.scalars(select(Incident.id)).one()

    # when its alert that a tag has not reached Shopify is delivered
    deliver_notices(sessions=state(clout).sessions, notifier=lambda _shop_id: notifier, now=utcnow)

    # then nothing was sent, and the case's trail says the alert was refused, and why
    assert received == []
    [(what, detail)] = notices_in_trail(clout, incident_id)
    assert what == "notice_failed"
    assert (detail["channels"], detail["why"], detail["outcome"]) == (
        ["webhook"],
        "pending",
        "failed",
    )
    assert "private" in detail["error"]
    assert "127.0.0.1" not in str(detail)


def test_a_channel_that_stays_down_is_in_the_trail_once_clout_gives_up(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given an overdue case whose store's webhook has nothing listening behind it
    notifier = Notifier(webhook_url="http://127.0.0.1:9/", timeout=1, private_targets=True)
    incident_id = overdue_case(clout, devstore, notifier)
    sessions = state(clout).sessions

    # when every try but the last fails, the trail says nothing yet: it may still go out
    for _ in range(outbox.MAX_ATTEMPTS - 1):
        deliver_notices(sessions=sessions, notifier=lambda _shop_id: notifier, now=utcnow)
    assert notices_in_trail(clout, incident_id) == []

    # and when the last try fails too, it says once that the notice never arrived, and why
    deliver_notices(sessions=sessions, notifier=lambda _shop_id: notifier, now=utcnow)
    deliver_notices(sessions=sessions, notifier=lambda _shop_id: notifier, now=utcnow)
    [(what, detail)] = notices_in_trail(clout, incident_id)
    assert (what, detail["channels"], detail["outcome"]) == ("notice_failed", ["webhook"], "failed")
    assert detail["tries"] == outbox.MAX_ATTEMPTS
    assert "connect" in detail["error"]


@pytest.fixture
def slow_channel() -> Iterator[tuple[str, list[bytes]]]:
    """A merchant's webhook receiver that takes each notice and answers after Clout has
    stopped waiting (a busy ticketing system): every request lands."""
    received: list[bytes] = []

    def endpoint(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        received.append(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        time.sleep(1.5)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    server = make_server("127.0.0.1", 0, endpoint, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/", received
    server.shutdown()


def test_a_webhook_that_took_every_try_is_not_said_never_to_have_arrived(
    clout: Flask, devstore: RunningDevStore, slow_channel: tuple[str, list[bytes]]
) -> None:
    # given an overdue case whose store's webhook receiver answers later than Clout waits
    url, received = slow_channel
    notifier = Notifier(webhook_url=url, timeout=0.5, deadline=1.0, private_targets=True)
    incident_id = overdue_case(clout, devstore, notifier)
    sessions = state(clout).sessions

    # when every try runs out of time after the request went out
    for _ in range(outbox.MAX_ATTEMPTS):
        deliver_notices(sessions=sessions, notifier=lambda _shop_id: notifier, now=utcnow)

    # then the receiver has it, and the trail says it may have arrived, not that it never did
    assert len(received) == outbox.MAX_ATTEMPTS
    [(what, detail)] = notices_in_trail(clout, incident_id)
    assert (what, detail["outcome"], detail["tries"]) == (
        "notice_failed",
        "uncertain",
        outbox.MAX_ATTEMPTS,
    )
    assert detail["error"] == "no answer in time"


def test_a_case_deleted_while_its_alert_settles_leaves_the_alert_sent(
    clout: Flask, devstore: RunningDevStore, channel: tuple[str, list[dict[str, str]]]
) -> None:
    """A customer merged or redacted deletes their case while a notice about it settles. The
    settlement waits for the delete (on PostgreSQL; SQLite writers take turns anyway) and
    records the send: not an integrity error that loses it and every other case's trail."""
    # given a pending-tag alert about a case, to a Slack that takes it
    url, received = channel
    notifier = Notifier(slack_url=url, private_targets=True)
    pending_alert(clout, devstore, notifier)
    sessions = state(clout).sessions
    with session_scope(sessions) as session:
        incident_id = session.scalars(select(Incident.id)).one()
        key = session.scalars(select(OutboundEffect.key)).one()
    database = state(clout).settings.database_url
    if not database.startswith("postgresql"):
        pytest.skip("row locks are PostgreSQL's; SQLite writers take turns")

    # when the case is deleted in a transaction still open as the alert is sent and settled
    other = create_engine(database)
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            deliver_notices(sessions=sessions, notifier=lambda _shop_id: notifier, now=utcnow)
        except Exception as error:  # noqa: BLE001 - the test reports it
            errors.append(error)

    with other.connect() as deleting:
        deleting.execute(delete(Incident).where(Incident.id == incident_id))
        sender = threading.Thread(target=deliver)
        sender.start()
        wait_for(lambda: received != [] and waits_for_a_lock(other), timeout=20)
        deleting.commit()
    sender.join(timeout=20)
    other.dispose()

    # then Slack has it once, and the alert is recorded sent
    assert errors == []
    assert len(received) == 1
    assert effect(clout, key).status == "sent"


def waits_for_a_lock(engine: Engine) -> bool:
    """Whether some other session of the database is waiting for a row lock."""
    with engine.connect() as looking:
        return bool(
            looking.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"
                )
            ).scalar()
        )


def test_an_escalation_says_whether_the_priority_rose(
    clout: Flask, devstore: RunningDevStore, channel: tuple[str, list[dict[str, str]]]
) -> None:
    # given a chargeback, urgent from the start, that passes its deadline
    url, _ = channel
    incident_id = overdue_case(clout, devstore, Notifier(slack_url=url, private_targets=True))

    # then the notice does not claim a rise that did not happen: it is still urgent
    notice = effect(clout, f"escalation:{incident_id}:1:slack")
    assert notice.payload["subject"] == "Overdue: unhappy customer waiting (critical, still urgent)"
