"""Who is served next: the floor before new deliveries before best-effort work, and within each,
shop after shop — so a burst in one shop never stands in front of another shop's customer.
Against a real Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from service.deliveries.dispatch import DELIVERY, FLOOR, LATER, FairQueue, Unit


@pytest.fixture
def fair(redis_url: str) -> Iterator[FairQueue]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield FairQueue(client)
    client.close()


def drain(fair: FairQueue) -> list[Unit]:
    taken = []
    while (unit := fair.pop()) is not None:
        taken.append(unit)
    return taken


def test_one_shops_backlog_does_not_stand_in_front_of_another_shops_delivery(
    fair: FairQueue,
) -> None:
    # given a flash sale: 500 deliveries queued for one shop
    for delivery_id in range(1, 501):
        fair.push(lane=DELIVERY, shop="busy.myshopify.com", item=delivery_id)

    # when another shop's single delivery arrives behind them
    fair.push(lane=DELIVERY, shop="quiet.myshopify.com", item=9001)

    # then it is served second, not 501st; and the busy shop's work keeps its own order
    taken = drain(fair)
    assert [u.item for u in taken[:2]] == [1, 9001]
    busy = [u.item for u in taken if u.shop == "busy.myshopify.com"]
    assert busy == list(range(1, 501))


def test_shops_take_turns_one_unit_each(fair: FairQueue) -> None:
    for item in range(3):
        fair.push(lane=DELIVERY, shop="a.myshopify.com", item=100 + item)
        fair.push(lane=DELIVERY, shop="b.myshopify.com", item=200 + item)
    fair.push(lane=DELIVERY, shop="c.myshopify.com", item=300)

    shops = [u.shop[0] for u in drain(fair)]

    assert shops == ["a", "b", "c", "a", "b", "a", "b"]


def test_floors_come_before_deliveries_and_deliveries_before_later_work(
    fair: FairQueue,
) -> None:
    fair.push(lane=LATER, shop="a.myshopify.com", item=1)
    fair.push(lane=DELIVERY, shop="a.myshopify.com", item=2)
    fair.push(lane=FLOOR, shop="b.myshopify.com", item=3)

    assert [(u.lane, u.item) for u in drain(fair)] == [(FLOOR, 3), (DELIVERY, 2), (LATER, 1)]


def test_a_unit_already_waiting_is_not_queued_twice(fair: FairQueue) -> None:
    assert fair.push(lane=FLOOR, shop="a.myshopify.com", item=7) is True
    assert fair.push(lane=FLOOR, shop="a.myshopify.com", item=7) is False
    assert fair.depth()[FLOOR] == 1

    assert [u.item for u in drain(fair)] == [7]
    # once taken, it can be queued again (a new signal on the same incident)
    assert fair.push(lane=FLOOR, shop="a.myshopify.com", item=7) is True
