"""`clout doctor` finds each fault an operator could meet, says it plainly with the fix, and
exits 1 — against the emulator over HTTP, a real Redis and a real database. Each test plants one
fault in an otherwise healthy install and reads what the doctor says."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from click.testing import CliRunner, Result
from flask import Flask

from service.cli import main
from service.core import db
from service.core.models import Backfill, Delivery, Incident, OutboundEffect, Shop, utcnow
from service.core.vocabulary import DeliveryStatus
from service.deliveries.lifecycle import enqueue_delivery
from service.dev.devstore.webhooks import order_payload
from tests.support.agents_page import add_agent, log_in
from tests.support.clout import (
    RunningDevStore,
    process_delivery_now,
    record_delivery_now,
    work_on,
)
from tests.support.helpers import (
    REVIEW_SECRETS,
    SHOP,
    fixture_bytes,
    shopify_headers,
    signed_review,
)

PUBLIC = "https://clout.example.org"

pytestmark = pytest.mark.usefixtures("connected")


def doctor(environment: dict[str, str], *args: str) -> Result:
    checked = CliRunner(env=environment).invoke(main, ["doctor", *args])
    if checked.exception is not None and not isinstance(checked.exception, SystemExit):
        raise checked.exception
    return checked


@pytest.fixture
def environment(settings: dict[str, Any], devstore: RunningDevStore) -> dict[str, str]:
    env = {k: str(v) for k, v in settings.items() if k != "TESTING"}
    env.update(CLOUT_SHOPIFY_ADMIN_URL=devstore.url, CLOUT_PUBLIC_URL=PUBLIC)
    return env


@pytest.fixture
def connected(environment: dict[str, str], devstore: RunningDevStore) -> None:
    added = CliRunner(env=environment).invoke(
        main, ["shops", "add", SHOP, "--token", devstore.token]
    )
    assert added.exit_code == 0, added.output


def execute(environment: dict[str, str], statement: sa.Executable, **values: object) -> None:
    engine = db.make_engine(environment["CLOUT_DATABASE_URL"])
    with engine.begin() as connection:
        connection.execute(statement, values)
    engine.dispose()


def line_of(output: str, subject: str) -> str:
    return next(line for line in output.splitlines() if f" {subject} " in line)


def test_a_healthy_install_passes(environment: dict[str, str]) -> None:
    checked = doctor(environment, SHOP)

    assert checked.exit_code == 0, checked.output
    assert "No problems" in checked.output
    for subject in (
        "database",
        "redis",
        "token",
        "scopes",
        "webhooks",
        "history",
        "tags",
        "overdue",
        "notifications",
        "clock",
    ):
        assert line_of(checked.output, subject).lstrip().startswith("ok"), checked.output


def revoke_token(env: dict[str, str], devstore: RunningDevStore) -> None:
    devstore.store.tokens.discard(devstore.token)


def withdraw_scope(env: dict[str, str], devstore: RunningDevStore) -> None:
    devstore.store.granted_scopes.discard("read_shopify_payments_disputes")


def lose_a_subscription(env: dict[str, str], devstore: RunningDevStore) -> None:
    # Shopify deletes an API-made subscription after repeated failed deliveries.
    devstore.store.subscriptions = [
        s for s in devstore.store.subscriptions if s["topic"] != "DISPUTES_CREATE"
    ]


def take_shopify_down(env: dict[str, str], devstore: RunningDevStore) -> None:
    devstore.admin.set_faults(error_rate=1.0)


def storm_for_a_minute(env: dict[str, str], devstore: RunningDevStore) -> None:
    # 429 to every call for a minute: the doctor says so within seconds, not after the storm.
    devstore.admin.set_faults(storm_seconds=60, throttle_style="http")


def cut_the_network(env: dict[str, str], devstore: RunningDevStore) -> None:
    env["CLOUT_SHOPIFY_ADMIN_URL"] = "http://127.0.0.1:9"


def drift_the_clock(env: dict[str, str], devstore: RunningDevStore) -> None:
    devstore.admin.set_faults(clock_offset=-90)


def stop_redis(env: dict[str, str], devstore: RunningDevStore) -> None:
    env["CLOUT_REDIS_URL"] = "redis://127.0.0.1:9/0"


def let_a_delivery_die(env: dict[str, str], devstore: RunningDevStore) -> None:
    execute(
        env,
        sa.insert(Delivery).values(
            source="shopify",
            webhook_id="dead-1",
            topic="orders/create",
            shop_domain=SHOP,
            status=DeliveryStatus.DEAD,
            attempts=8,
            last_error="ShopifyUnavailable: 503",
            received_at=utcnow() - timedelta(hours=3),
        ),
    )


def stop_the_workers(env: dict[str, str], devstore: RunningDevStore) -> None:
    execute(
        env,
        sa.insert(Delivery).values(
            source="shopify",
            webhook_id="waiting-1",
            topic="orders/create",
            shop_domain=SHOP,
            status=DeliveryStatus.RECEIVED,
            received_at=utcnow() - timedelta(minutes=30),
        ),
    )


def fail_the_history_import(env: dict[str, str], devstore: RunningDevStore) -> None:
    execute(
        env,
        sa.update(Backfill).values(
            status="failed",
            error="Shopify's bulk operation ended FAILED (INTERNAL_SERVER_ERROR)",
            finished_at=utcnow(),
        ),
    )


def a_notice(
    env: dict[str, str], *, key: str, status: str, ago: timedelta, error: str | None = None
) -> None:
    """A Slack notice to the store, settled `ago` with `status` (and why, when it failed)."""
    engine = db.make_engine(env["CLOUT_DATABASE_URL"])
    with engine.begin() as connection:
        shop_id = connection.execute(sa.select(Shop.id).where(Shop.domain == SHOP)).scalar_one()
        connection.execute(
            sa.insert(OutboundEffect).values(
                shop_id=shop_id,
                kind="slack",
                key=key,
                payload={},
                status=status,
                error=error,
                attempts=1,
                staged_at=utcnow() - ago,
                settled_at=utcnow() - ago,
            )
        )
    engine.dispose()


def refuse_a_notification(env: dict[str, str], devstore: RunningDevStore) -> None:
    # the store's Slack URL was removed: Slack answered 404, and the notice was given up
    a_notice(
        env,
        key="escalation:1:1:slack",
        status="failed",
        ago=timedelta(hours=2),
        error="the channel answered 404 Not Found",
    )


PLANTED: dict[str, tuple[Callable[[dict[str, str], RunningDevStore], None], str, str]] = {
    # fault: (plant, the line that names it, words of the fix)
    "revoked token": (revoke_token, "token", "clout shops add"),
    "missing scope": (withdraw_scope, "scopes", "read_shopify_payments_disputes"),
    "lost subscription": (lose_a_subscription, "webhooks", "--fix"),
    "Shopify failing": (take_shopify_down, "shopify", "may be having an incident"),
    "Shopify throttling": (storm_for_a_minute, "shopify", "keeps throttling"),
    "Shopify unreachable": (cut_the_network, "token", "could not reach Shopify"),
    "clock drift": (drift_the_clock, "clock", "s ahead of Shopify"),
    "Redis down": (stop_redis, "redis", "start Redis"),
    "dead delivery": (let_a_delivery_die, "failures", "clout deliveries retry"),
    "no workers": (stop_the_workers, "workers", "clout worker"),
    "failed history import": (fail_the_history_import, "history", "clout shops backfill"),
    "refused notification": (refuse_a_notification, "notifications", "clout settings show"),
}


def test_one_dead_delivery_is_counted_in_the_singular(
    environment: dict[str, str], devstore: RunningDevStore
) -> None:
    # given one delivery that died in the last week
    let_a_delivery_die(environment, devstore)

    # when the operator asks the doctor
    said = line_of(doctor(environment, SHOP).output, "failures")

    # then it reads as English
    assert "1 dead delivery in the last 7 days" in said


@pytest.mark.parametrize("fault", PLANTED)
def test_each_planted_fault_is_found_with_its_fix(
    fault: str, environment: dict[str, str], devstore: RunningDevStore
) -> None:
    plant, subject, words = PLANTED[fault]
    # given one fault in a healthy install
    plant(environment, devstore)

    # when the operator asks the doctor
    checked = doctor(environment, SHOP)

    # then it fails, on the line that names the fault, with the fix
    assert checked.exit_code == 1, checked.output
    assert line_of(checked.output, subject).lstrip().startswith("FAIL"), checked.output
    assert words in checked.output
    assert "1 problem(s)" in checked.output


def test_a_tag_not_in_shopify_warns_then_fails_past_the_alert_threshold(
    environment: dict[str, str], devstore: RunningDevStore, make_app: Callable[..., Flask]
) -> None:
    # given a chargeback on a known customer's order, worked on, whose tag has not landed yet
    maya = devstore.store.add_person("maya@example.org", "Maya", "Ortiz")
    order = devstore.store.add_purchase(maya)
    app = make_app(CLOUT_SHOPIFY_ADMIN_URL=devstore.url)
    dispute = {"id": 51, "order_id": order.id, "type": "chargeback"}
    delivery = record_delivery_now(app, topic="disputes/create", payload=dispute)
    assert process_delivery_now(app, delivery, shopify=True) == "done"

    # then while it is young the doctor warns, and past the shop's threshold it fails
    young = doctor(environment, SHOP)
    assert young.exit_code == 0, young.output
    assert line_of(young.output, "tags").lstrip().startswith("warn")
    execute(environment, sa.update(Incident).values(opened_at=utcnow() - timedelta(hours=2)))
    old = doctor(environment, SHOP)
    assert old.exit_code == 1, old.output
    assert "1 attention tag(s) not in Shopify yet, the oldest waiting 2 h" in old.output
    assert f"clout incidents list --shop {SHOP} --pending" in old.output


def a_case_shopify_refuses_to_tag(devstore: RunningDevStore, make_app: Callable[..., Flask]) -> int:
    """A complaint on a guest's order the store no longer has (deleted in Shopify after its
    webhook), worked on: Shopify refuses its only record's tag. The case's id."""
    maya = devstore.store.add_person("maya@example.org", "Maya", "Ortiz")
    order = devstore.store.add_purchase(maya)
    payload = {**order_payload(devstore.store, order), "note": "It arrived broken. Refund me."}
    payload["customer"] = None  # a guest checkout: the order is the only record to tag
    del devstore.store.orders[order.id]
    app = make_app(CLOUT_SHOPIFY_ADMIN_URL=devstore.url)
    outcome = work_on(app, record_delivery_now(app, topic="orders/create", payload=payload))
    assert outcome.incidents
    return outcome.incidents[0]


def test_a_tag_shopify_refused_is_named_with_shopifys_reason_at_once(
    environment: dict[str, str], devstore: RunningDevStore, make_app: Callable[..., Flask]
) -> None:
    # given a complaint on an order the store no longer has (deleted in Shopify after its
    # webhook): Shopify refuses its attention tag, and retrying will not change that
    case_id = a_case_shopify_refuses_to_tag(devstore, make_app)

    # when the operator asks the doctor, minutes later
    checked = doctor(environment, SHOP)

    # then it fails on the tags line at once, with Shopify's reason and the case it is about
    assert checked.exit_code == 1, checked.output
    assert line_of(checked.output, "tags").lstrip().startswith("FAIL"), checked.output
    assert "Shopify refused" in checked.output
    assert "Resource not found" in checked.output
    assert f"(case {case_id})" in checked.output


def test_a_refusal_from_before_a_case_was_reopened_is_history(
    environment: dict[str, str], devstore: RunningDevStore, make_app: Callable[..., Flask]
) -> None:
    # given a case whose tag Shopify refused, closed, then reopened by an agent: the workers
    # have not yet tried its tags again
    case_id = str(a_case_shopify_refuses_to_tag(devstore, make_app))
    runner = CliRunner(env=environment)
    assert runner.invoke(main, ["incidents", "resolve", "--shop", SHOP, case_id]).exit_code == 0
    reopened = runner.invoke(main, ["incidents", "reopen", "--shop", SHOP, case_id])
    assert reopened.exit_code == 0, reopened.output

    # when the operator asks the doctor
    checked = doctor(environment, SHOP)

    # then the old refusal is not its verdict: the tag is pending, being tried again
    assert line_of(checked.output, "tags").lstrip().startswith("warn"), checked.output
    assert "Shopify refused" not in checked.output


def test_a_database_behind_its_migrations_is_named_with_the_upgrade(
    environment: dict[str, str], tmp_path: Path
) -> None:
    if not environment["CLOUT_DATABASE_URL"].startswith("sqlite"):
        pytest.skip("a second database is made on SQLite only")
    old = f"sqlite:///{tmp_path / 'old.db'}"
    db.upgrade(old, "0006")

    checked = doctor({**environment, "CLOUT_DATABASE_URL": old})

    assert checked.exit_code == 1, checked.output
    assert "at migration 0006, this Clout needs" in checked.output
    assert "clout db upgrade" in checked.output


def test_a_silent_channel_is_named_with_why_its_last_notice_failed(
    environment: dict[str, str], devstore: RunningDevStore
) -> None:
    # given the store's Slack URL removed: its last notice answered 404
    refuse_a_notification(environment, devstore)

    checked = doctor(environment, SHOP)

    # then the doctor says why, so the operator knows which address to fix without the logs
    line = line_of(checked.output, "notifications")
    assert line.lstrip().startswith("FAIL"), checked.output
    assert "the last Slack too: the channel answered 404 Not Found" in line


def test_a_channel_changed_since_its_failure_only_warns(
    environment: dict[str, str], devstore: RunningDevStore
) -> None:
    # given a Slack notice that failed, and the store's Slack URL changed since
    refuse_a_notification(environment, devstore)
    changed = CliRunner().invoke(
        main,
        ["settings", "set", SHOP, "notify.slack_url=https://hooks.slack.com/services/T0/B0/new"],
        env=environment,
    )
    assert changed.exit_code == 0, changed.output

    checked = doctor(environment, SHOP)

    # then the doctor says the old failure, and that the next notice will tell of the new one
    line = line_of(checked.output, "notifications")
    assert line.lstrip().startswith("warn"), checked.output
    assert "the Slack address changed since (the next notice will tell)" in line


def test_a_channel_that_failed_once_and_then_worked_only_warns(
    environment: dict[str, str], devstore: RunningDevStore
) -> None:
    # given a Slack notice that failed two hours ago, and one that went out since
    refuse_a_notification(environment, devstore)
    a_notice(environment, key="escalation:2:1:slack", status="sent", ago=timedelta(minutes=30))

    checked = doctor(environment, SHOP)

    # then the doctor says it, without calling the channel broken
    assert checked.exit_code == 0, checked.output
    line = line_of(checked.output, "notifications")
    assert line.lstrip().startswith("warn"), checked.output
    assert "1 Slack notice not delivered" in line


def test_a_store_named_without_its_myshopify_domain_is_a_usage_error(
    environment: dict[str, str],
) -> None:
    # when the operator names the store the way they say it, not by its myshopify.com domain
    checked = doctor(environment, "clout-demo")

    # then the doctor says what it wants, in one line, without a traceback
    assert checked.exit_code == 2, checked.output
    assert "Traceback" not in checked.output
    assert "SHOP.myshopify.com" in checked.output
    assert "Invalid value for 'SHOP'" in checked.output


def test_a_store_not_connected_is_named_as_the_argument_it_was_given_in(
    environment: dict[str, str],
) -> None:
    # when the operator names a store Clout does not know, as the doctor's and the settings'
    # SHOP argument
    checked = doctor(environment, "nope.myshopify.com")
    settings = CliRunner(env=environment).invoke(main, ["settings", "show", "nope.myshopify.com"])

    # then each says the store is not connected, naming the argument (not a --shop they lack)
    for said in (checked, settings):
        assert said.exit_code == 2, said.output
        assert "nope.myshopify.com is not connected" in said.output
        assert "'SHOP'" in said.output, said.output
        assert "--shop" not in said.output


def test_the_case_list_says_refused_not_pending_and_names_a_guest_as_the_page_does(
    environment: dict[str, str], devstore: RunningDevStore, make_app: Callable[..., Flask]
) -> None:
    # given a guest's complaint whose attention tag Shopify refused (the order is gone)
    case_id = a_case_shopify_refuses_to_tag(devstore, make_app)

    # when the operator lists the cases waiting for Shopify
    listed = CliRunner(env=environment).invoke(main, ["incidents", "list", "--pending"])

    # then the case says Shopify refused it (waiting will not help), and the customer is
    # named as the agents' page and `incidents show` name them
    assert listed.exit_code == 0, listed.output
    [row] = [line for line in listed.output.splitlines() if line.startswith(f"{case_id}\t")]
    assert "REFUSED by Shopify" in row
    assert "PENDING" not in row
    assert "maya@example.org" in row  # the guest's email, as the page names her
    assert "guest:" not in row


def test_the_redis_line_counts_the_work_waiting_for_a_worker(
    environment: dict[str, str], make_app: Callable[..., Flask]
) -> None:
    # given what waits in the broker now (the history import `shops add` rang, say)
    app = make_app()

    def queued() -> int:
        said = line_of(doctor(environment, SHOP).output, "redis")
        return int(re.search(r"(\d+) task\(s\) queued", said)[1])  # type: ignore[index]

    before = queued()

    # when three deliveries are rung for workers that have not taken them yet
    for n in range(3):
        delivery_id = record_delivery_now(app, topic="orders/create", payload={"id": n})
        enqueue_delivery(celery=app.extensions["celery"], delivery_id=delivery_id, shop=SHOP)

    # then the doctor counts three more (it read a queue Clout does not use: always 0)
    assert queued() == before + 3


def test_a_missing_secret_is_the_doctors_first_finding_not_a_usage_error(tmp_path: Path) -> None:
    # given a folder with no .env and no SHOPIFY_API_SECRET: a newcomer's first try
    env = {"SHOPIFY_API_SECRET": "", "CLOUT_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}"}

    # when they ask the doctor what is wrong
    checked = CliRunner(env=env).invoke(main, ["doctor"])

    # then it answers as a doctor does: a FAIL line naming the setting and its fix, exit 1
    assert checked.exit_code == 1, checked.output
    assert line_of(checked.output, "settings").lstrip().startswith("FAIL"), checked.output
    assert "SHOPIFY_API_SECRET" in checked.output
    assert "Usage:" not in checked.output


def test_the_redis_line_never_shows_the_password_in_redis_url(
    environment: dict[str, str],
) -> None:
    # given a Redis URL with a password, to a Redis that is down
    environment["CLOUT_REDIS_URL"] = "redis://:hunter2-in-the-url@127.0.0.1:9/0"

    # when the operator asks the doctor (whose output ends up pasted into support tickets)
    checked = doctor(environment, SHOP)

    # then the Redis is named by its host, and the password is nowhere
    said = line_of(checked.output, "redis")
    assert said.lstrip().startswith("FAIL"), checked.output
    assert "127.0.0.1:9" in said
    assert "hunter2-in-the-url" not in checked.output


@pytest.fixture
def evicting_redis(redis_url: str) -> Iterator[None]:
    client = redis.Redis.from_url(redis_url)
    [(_, policy)] = client.config_get("maxmemory-policy").items()
    client.config_set("maxmemory-policy", "allkeys-lru")
    try:
        yield
    finally:
        client.config_set("maxmemory-policy", policy)
        client.close()


@pytest.mark.usefixtures("evicting_redis")
def test_a_redis_that_may_evict_the_queue_is_warned_about(environment: dict[str, str]) -> None:
    # given a Redis set to evict keys when its memory is full (a cache's setting): a queued
    # delivery's message, or the mark that its store's work is queued, could go
    # when the operator asks the doctor
    checked = doctor(environment, SHOP)

    # then the Redis line warns, names the policy and says how to set it
    said = line_of(checked.output, "redis")
    assert said.lstrip().startswith("warn"), checked.output
    assert "allkeys-lru" in said
    assert "maxmemory-policy noeviction" in checked.output


def an_overdue_case(
    environment: dict[str, str], devstore: RunningDevStore, make_app: Callable[..., Flask]
) -> None:
    """A chargeback whose tags landed, now past its deadline by 10 minutes."""
    maya = devstore.store.add_person("maya@example.org", "Maya", "Ortiz")
    order = devstore.store.add_purchase(maya)
    app = make_app(CLOUT_SHOPIFY_ADMIN_URL=devstore.url)
    dispute = {"id": 61, "order_id": order.id, "type": "chargeback"}
    delivery = record_delivery_now(app, topic="disputes/create", payload=dispute)
    assert work_on(app, delivery).incidents
    execute(environment, sa.update(Incident).values(deadline_at=utcnow() - timedelta(minutes=10)))


def test_an_overdue_case_no_beat_escalated_is_named_with_the_beat(
    environment: dict[str, str], devstore: RunningDevStore, make_app: Callable[..., Flask]
) -> None:
    # given a case 10 minutes past its deadline that nothing escalated: workers run, the beat
    # (`clout beat`, which escalates every minute) does not
    an_overdue_case(environment, devstore, make_app)

    # when the operator asks the doctor
    checked = doctor(environment, SHOP)

    # then it fails on that, and says to start the beat
    assert checked.exit_code == 1, checked.output
    assert line_of(checked.output, "overdue").lstrip().startswith("FAIL"), checked.output
    said = "1 case(s) past their deadline not escalated, the oldest due 10 min ago"
    assert said in checked.output
    assert "clout beat" in checked.output
    assert "1 problem(s)" in checked.output


def test_an_overdue_case_the_beat_escalated_in_full_is_not_a_fault(
    environment: dict[str, str], devstore: RunningDevStore, make_app: Callable[..., Flask]
) -> None:
    # given an overdue case escalated as often as Clout escalates (three times), and another
    # only just past its deadline, which the beat's next minute will escalate
    an_overdue_case(environment, devstore, make_app)
    execute(environment, sa.update(Incident).values(escalations=3))

    # when the operator asks the doctor
    checked = doctor(environment, SHOP)

    # then neither is the beat's fault
    assert checked.exit_code == 0, checked.output
    assert line_of(checked.output, "overdue").lstrip().startswith("ok"), checked.output
    execute(
        environment,
        sa.update(Incident).values(escalations=0, deadline_at=utcnow() - timedelta(seconds=30)),
    )
    assert doctor(environment, SHOP).exit_code == 0


def test_the_redis_line_never_shows_a_password_given_as_a_query_parameter(
    environment: dict[str, str],
) -> None:
    # given a Redis URL with its password as redis-py also reads it, in the query
    environment["CLOUT_REDIS_URL"] = "redis://127.0.0.1:9/0?password=hunter2-in-the-query"

    # when the operator asks the doctor
    checked = doctor(environment, SHOP)

    # then the Redis is named by its host, and the password is nowhere
    said = line_of(checked.output, "redis")
    assert said.lstrip().startswith("FAIL"), checked.output
    assert "127.0.0.1:9" in said
    assert "hunter2-in-the-query" not in checked.output


def test_shopify_deliveries_refused_for_a_wrong_app_secret_are_a_fault(
    environment: dict[str, str], make_app: Callable[..., Flask]
) -> None:
    # given Clout started with a secret that is not the one Shopify signs with (the API key
    # pasted in its place, or the secret of another app): every delivery is answered 401
    client = make_app().test_client()
    body = json.dumps({"id": 820982911946154508, "order_id": 450789469}).encode()
    for _ in range(3):
        answered = client.post(
            "/webhooks/shopify",
            data=body,
            headers=shopify_headers("disputes/create", body, secret="the-secret-shopify-uses"),
        )
        assert answered.status_code == 401

    # when the operator asks the doctor why nothing reaches the agents' page
    checked = doctor(environment, SHOP)

    # then it says that Shopify's deliveries are being refused, and which setting to check,
    # not "No problems" while Shopify retries and then deletes the subscriptions
    assert checked.exit_code == 1, checked.output
    assert "No problems" not in checked.output
    assert "SHOPIFY_API_SECRET" in checked.output, checked.output


def test_a_store_no_beat_has_reconciled_for_an_hour_names_the_beat(
    environment: dict[str, str],
) -> None:
    # given a store connected an hour ago, and no `clout beat` running since (the worker and
    # web are up): reconciliation, due every 15 minutes, has never read its orders back
    execute(
        environment,
        sa.update(Shop).values(installed_at=utcnow() - timedelta(hours=1), reconciled_until=None),
    )

    # when the operator asks the doctor
    checked = doctor(environment, SHOP)

    # then it says the beat is not running, and how to start it. Without a beat nothing catches
    # a webhook Shopify never sent, no late delivery is ever noticed, lost bells are never
    # rung again, and no case is escalated; the doctor says so only once a case has been
    # overdue for five minutes, which for a store's 48-72 h cases may be days away
    assert "clout beat" in checked.output, checked.output


def test_a_review_app_whose_deliveries_are_now_refused_is_not_ok(
    environment: dict[str, str], make_app: Callable[..., Flask]
) -> None:
    # given Judge.me connected with the merchant's private API token, and a review that came
    connected = CliRunner(env=environment).invoke(
        main,
        ["reviews", "connect", SHOP, "judgeme", "--secret-stdin"],
        input=REVIEW_SECRETS["judgeme"] + "\n",
    )
    assert connected.exit_code == 0, connected.output
    client = make_app().test_client()
    url = f"/webhooks/reviews/judgeme/{SHOP}"
    body = fixture_bytes("reviews/judgeme_review_created.json")
    headers, _ = signed_review("judgeme", body)
    assert client.post(url, data=body, headers=headers).status_code == 200

    # when the merchant regenerates the token in Judge.me: every review since is refused
    headers, _ = signed_review("judgeme", body, secret="the-token-judgeme-now-signs-with")
    assert client.post(url, data=body, headers=headers).status_code == 401

    # then the doctor's line for Judge.me says its deliveries are refused and what to do (as
    # `clout reviews connect` does: "Last refused: …"), not "ok, last delivery 10 min ago"
    # while every unhappy review is turned away
    said = line_of(doctor(environment, SHOP).output, "reviews/judgeme")
    assert not said.lstrip().startswith("ok"), said


def test_the_agents_page_does_not_say_clout_keeps_trying_a_tag_shopify_refused(
    devstore: RunningDevStore, make_app: Callable[..., Flask]
) -> None:
    # given a guest's complaint whose attention tag Shopify refused (the order is gone): the
    # doctor and `clout incidents list` say "REFUSED by Shopify" (waiting will not help)
    case_id = a_case_shopify_refuses_to_tag(devstore, make_app)
    app = make_app(CLOUT_SHOPIFY_ADMIN_URL=devstore.url)
    add_agent(app, "agent@example.org", SHOP)
    agent = app.test_client()
    assert log_in(agent, "agent@example.org").status_code == 302

    # when an agent opens the queue
    queue = agent.get("/agents/api/queue").json
    [card] = [entry for entry in queue["incidents"] if entry["id"] == case_id]

    # then the case's card does not say it is pending, which the page shows as "Not tagged in
    # Shopify yet: Clout keeps trying" beside the banner saying Shopify refused it: Clout
    # does not try a refused tag again, and the agent waits for a tag that will never come
    assert card["tag_state"] != "pending", card["tag_state"]


def test_shopify_refusals_followed_by_an_accepted_delivery_are_not_a_fault(
    environment: dict[str, str], make_app: Callable[..., Flask]
) -> None:
    # given a forged delivery refused (anyone may post one), then Shopify's own accepted
    client = make_app().test_client()
    body = json.dumps({"id": 820982911946154508, "order_id": 450789469}).encode()
    forged = shopify_headers("disputes/create", body, secret="someone-elses-guess")
    assert client.post("/webhooks/shopify", data=body, headers=forged).status_code == 401
    signed = shopify_headers("disputes/create", body)
    assert client.post("/webhooks/shopify", data=body, headers=signed).status_code == 200

    # when the operator asks the doctor
    checked = doctor(environment, SHOP)

    # then the accepted delivery shows the secret is right: no fault a stranger could plant
    assert line_of(checked.output, "signatures").lstrip().startswith("ok"), checked.output
