"""A best-effort operation that keeps failing for a shop stops being tried for a while, then one
call probes; against a real Redis, with a hand-held clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from service.shopify.circuit import Circuit

SHOP = "test-shop.myshopify.com"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def circuit(redis_url: str, clock: Clock) -> Iterator[Circuit]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield Circuit(client, failures_to_open=3, open_seconds=60, clock=clock)
    client.close()


def test_three_failures_open_it_for_that_shop_and_operation_only(circuit: Circuit) -> None:
    for _ in range(3):
        assert circuit.allows(SHOP, "read_tags")
        circuit.failed(SHOP, "read_tags")

    assert not circuit.allows(SHOP, "read_tags")
    assert circuit.allows(SHOP, "flow")  # another operation
    assert circuit.allows("other.myshopify.com", "read_tags")  # another shop


def test_after_the_open_window_one_caller_probes_and_success_closes_it(
    circuit: Circuit, clock: Clock
) -> None:
    for _ in range(3):
        circuit.failed(SHOP, "read_tags")
    clock.now += 61

    # one probe goes, the next caller still waits for its answer
    assert circuit.allows(SHOP, "read_tags")
    assert not circuit.allows(SHOP, "read_tags")

    circuit.succeeded(SHOP, "read_tags")
    assert circuit.allows(SHOP, "read_tags")
    assert not circuit.is_open(SHOP, "read_tags")


def test_a_failed_probe_opens_it_again(circuit: Circuit, clock: Clock) -> None:
    for _ in range(3):
        circuit.failed(SHOP, "read_tags")
    clock.now += 61
    assert circuit.allows(SHOP, "read_tags")

    circuit.failed(SHOP, "read_tags")

    assert not circuit.allows(SHOP, "read_tags")


def test_without_redis_it_never_holds_anything_back(clock: Clock) -> None:
    dead = redis.Redis(host="127.0.0.1", port=9, socket_connect_timeout=0.2)
    broken = Circuit(dead, clock=clock)

    broken.failed(SHOP, "read_tags")

    assert broken.allows(SHOP, "read_tags")
