"""The attendance lock on a real Redis: renewed while a slow attendance runs, free again soon
after a worker stops renewing it (killed mid-task)."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from workers.tasks import attendance_lease, renew_lease

pytestmark = pytest.mark.e2e  # waits out real leases


def test_an_attendance_longer_than_its_lease_keeps_the_case_to_itself(redis_url: str) -> None:
    # given a worker attending a case under a one-second lease, renewed from its own thread
    client = redis.Redis.from_url(redis_url)
    lease = attendance_lease(client, "lease-test", seconds=1)
    assert lease.acquire(blocking=False)
    done = threading.Event()
    renewer = threading.Thread(target=renew_lease, args=(lease, done), kwargs={"every": 0.3})
    renewer.start()

    # when the attendance runs well past the lease
    time.sleep(2.5)

    # then no other worker can take the case
    other = attendance_lease(client, "lease-test", seconds=1)
    assert not other.acquire(blocking=False)

    # and once the first stops renewing (killed mid-task), the next takes over within a lease
    done.set()
    renewer.join()
    time.sleep(1.3)
    assert other.acquire(blocking=False)
