"""Reconciliation of a shop that changes orders faster than one run can read them back: the
run stops between pages at its time limit, says how far behind it is, and the next run goes
on from the watermark until it has caught up. Against the emulator over HTTP, with a real
database and the shop's real API budget in Redis."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from service.attention.reconcile import reconcile_shop
from service.core.db import session_scope
from service.core.models import Shop, Signal, utcnow
from tests.support.clout import RunningDevStore, orders_changed_an_hour_ago, state
from workers.tasks import admin_factory


def cancellations(app: Flask) -> list[str]:
    with session_scope(state(app).sessions) as session:
        return list(
            session.scalars(select(Signal.reason).where(Signal.reason == "customer_cancelled"))
        )


def test_a_run_out_of_time_stops_between_pages_and_the_next_goes_on(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given 45 orders changed in the last hour (three pages), no webhook for any of them, and
    # the last one changed: its customer cancelled it
    orders = orders_changed_an_hour_ago(devstore.store, 45)
    start = orders[0].updated_at
    with session_scope(state(clout).sessions) as session:
        shop = session.scalars(select(Shop)).one()
        shop.reconciled_until = start - timedelta(minutes=1)
        shop_id = shop.id
        client = admin_factory(state(clout))(shop)
    ticks = iter(range(100))

    def read_one_page(*, clock_after: int) -> Callable[[], float]:
        # A clock that reads "time is up" once a page has been read.
        return lambda: float(next(ticks) + clock_after)

    # when a run has time for one page only
    first = reconcile_shop(
        sessions=state(clout).sessions,
        shop_id=shop_id,
        admin=client,
        now=utcnow(),
        stop_at=0.0,
        clock=read_one_page(clock_after=1),
    )

    # then it stops, says how far behind it is, and the cancellation is not read yet
    assert not first.caught_up
    assert timedelta(minutes=50) < first.behind < timedelta(hours=2)
    assert cancellations(clout) == []

    # when the next runs go on from the watermark
    second = reconcile_shop(
        sessions=state(clout).sessions,
        shop_id=shop_id,
        admin=client,
        now=utcnow(),
        stop_at=0.0,
        clock=read_one_page(clock_after=1),
    )
    third = reconcile_shop(
        sessions=state(clout).sessions, shop_id=shop_id, admin=client, now=utcnow()
    )

    # then the last one catches up, and the customer who cancelled has their signal once
    assert not second.caught_up
    assert second.behind < first.behind
    assert third.caught_up
    assert cancellations(clout) == ["customer_cancelled"]
