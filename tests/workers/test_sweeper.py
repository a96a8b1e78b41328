"""The sweeper rings again for work whose bell was lost, and only for that: during a backlog the
broker holds about one token per unit waiting, however often the sweeper runs, so the beat's
own tasks (escalations, alerts, imports resuming) are not stuck behind thousands of empty
tokens."""

from __future__ import annotations

import json
from collections.abc import Callable

from celery.beat import ScheduleEntry, Scheduler
from flask import Flask

from service.deliveries.dispatch import WORK_TASK, FairQueue, broker_lists
from service.deliveries.lifecycle import QUEUE, enqueue_delivery
from tests.support.clout import record_delivery_now, state
from tests.support.helpers import SHOP
from workers.tasks import sweep_deliveries

OTHER_SHOP = "other-shop.myshopify.com"


BROKER_LISTS = broker_lists(QUEUE)


def tokens_waiting(app: Flask) -> int:
    """Work tokens waiting in the broker (kombu's messages on Clout's queue)."""
    client = state(app).redis
    messages = [m for key in BROKER_LISTS for m in client.lrange(key, 0, -1)]  # type: ignore[union-attr]
    return sum(1 for m in messages if json.loads(m)["headers"]["task"] == WORK_TASK)


def next_taken(app: Flask) -> str:
    """The task a worker would take next from Clout's queue (kombu's own read)."""
    with app.extensions["celery"].connection_for_read() as connection:
        queue = connection.SimpleQueue(QUEUE, no_ack=True)
        message = queue.get(timeout=1)
        return str(message.headers["task"])


def units_waiting(app: Flask) -> int:
    return sum(FairQueue(state(app).redis).depth().values())


def backlog(app: Flask, count: int) -> list[int]:
    """Deliveries recorded for two shops and not yet picked up by any worker."""
    return [
        record_delivery_now(
            app, topic="orders/create", payload={"id": n}, shop_domain=(SHOP, OTHER_SHOP)[n % 2]
        )
        for n in range(count)
    ]


def test_a_backlog_swept_again_and_again_keeps_one_token_per_unit(
    make_app: Callable[..., Flask],
) -> None:
    # given 40 deliveries waiting, rung on their way in, that no worker has reached yet
    app = make_app(CLOUT_SWEEP_AFTER_SECONDS="0")
    celery = app.extensions["celery"]
    for delivery_id in backlog(app, 40):
        domain = (SHOP, OTHER_SHOP)[delivery_id % 2]
        assert enqueue_delivery(celery=celery, delivery_id=delivery_id, shop=domain)
    assert (units_waiting(app), tokens_waiting(app)) == (40, 40)

    # when the sweeper runs five times before a worker frees up
    with app.app_context():
        for _ in range(5):
            sweep_deliveries()

    # then each delivery is still queued once, with one token for it: not five more each
    assert (units_waiting(app), tokens_waiting(app)) == (40, 40)


def test_a_unit_rung_again_while_it_waits_adds_no_token(make_app: Callable[..., Flask]) -> None:
    # given a delivery queued with its token
    app = make_app()
    celery = app.extensions["celery"]
    [delivery_id] = backlog(app, 1)
    assert enqueue_delivery(celery=celery, delivery_id=delivery_id, shop=SHOP)

    # when it is rung twice more (a retry's bell, the sweeper) before a worker takes it
    assert enqueue_delivery(celery=celery, delivery_id=delivery_id, shop=SHOP)
    assert enqueue_delivery(celery=celery, delivery_id=delivery_id, shop=SHOP)

    # then one token waits for it
    assert (units_waiting(app), tokens_waiting(app)) == (1, 1)


def test_units_whose_tokens_were_lost_get_them_back_at_the_next_sweep(
    make_app: Callable[..., Flask],
) -> None:
    # given 12 deliveries queued whose tokens were lost (a process died between the two writes)
    app = make_app(CLOUT_SWEEP_AFTER_SECONDS="0")
    celery = app.extensions["celery"]
    for delivery_id in backlog(app, 12):
        enqueue_delivery(celery=celery, delivery_id=delivery_id, shop=SHOP)
    state(app).redis.delete(*BROKER_LISTS)
    assert (units_waiting(app), tokens_waiting(app)) == (12, 0)

    # when the sweeper runs
    with app.app_context():
        sweep_deliveries()

    # then every unit waiting has a token again, so a worker will reach each one
    assert (units_waiting(app), tokens_waiting(app)) == (12, 12)


def test_the_beats_own_tasks_go_before_a_backlogs_tokens(make_app: Callable[..., Flask]) -> None:
    # given a backlog: 30 deliveries queued, each with its token, no worker free yet
    app = make_app()
    celery = app.extensions["celery"]
    for delivery_id in backlog(app, 30):
        enqueue_delivery(celery=celery, delivery_id=delivery_id, shop=SHOP)

    # when the beat sends an overdue case's escalation, as it does every few minutes
    scheduler = Scheduler(app=celery, lazy=True)
    scheduled = celery.conf.beat_schedule["escalate-overdue"]
    scheduler.apply_async(ScheduleEntry(name="escalate-overdue", app=celery, **scheduled))

    # then the next worker free takes the escalation, not the 31st message in line
    assert next_taken(app) == "clout.escalate_overdue"
    assert tokens_waiting(app) == 30
