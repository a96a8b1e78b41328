"""The processes `clout serve` and `clout demo` start: the port looked at first, and children
that stop when their parent does, however it ends."""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

# Set by `clout serve` and `clout demo` for the web, worker and beat they start: the parent's
# process id, so each child can ask to be stopped with it.
PARENT = "CLOUT_STOP_WITH_PARENT"
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens on `host:port` (another `clout serve`, say): web
    would fail to bind it after the others had started, and a demo would talk to the wrong
    Clout."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


SERVE_LOCK = "serve.lock"


class FolderInUse(Exception):
    """Another `clout serve` runs on this data directory, or its web, worker or beat do."""

    def __init__(self, holder: dict[str, Any]) -> None:
        super().__init__(holder)
        self.pid = holder.get("pid")
        self.url = holder.get("url")

    @property
    def serve_alive(self) -> bool:
        """Whether the serve that took the directory still runs (else its children hold it)."""
        if not isinstance(self.pid, int) or self.pid <= 0:
            return True  # not known: say what a person would check first
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def hold_data_dir(data_dir: Path, *, url: str) -> int:
    """Claim `data_dir` for this `clout serve` (the lock goes with the last process holding
    the descriptor, however it ends: serve passes it to its children); the descriptor. A
    second serve on the same directory would
    take the first one's embedded Redis for one an earlier run left behind and stop it,
    breaking the first without a word: it is refused instead, with who holds the directory."""
    path = data_dir / SERVE_LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            holder = json.loads(os.read(fd, 4096) or b"{}")
        except ValueError:
            holder = {}
        os.close(fd)
        raise FolderInUse(holder if isinstance(holder, dict) else {}) from None
    os.fchmod(fd, 0o600)
    os.ftruncate(fd, 0)
    os.write(fd, json.dumps({"pid": os.getpid(), "url": url}).encode())
    return fd


def children_env(env: dict[str, str]) -> dict[str, str]:
    """`env` for the children of this process: they stop when it does (`stop_with_parent`)."""
    return {**env, PARENT: str(os.getpid())}


def start_child(
    command: list[str], *, env: dict[str, str], **options: Any
) -> subprocess.Popen[bytes]:
    """Start web, worker or beat for `clout serve` or `clout demo`, in a process group of its
    own: a terminal's Ctrl-C (SIGINT to the foreground group) then reaches the parent alone,
    which stops each child with SIGTERM — gunicorn's graceful stop, where SIGINT is its quick
    one, and no child still loading interrupted into a traceback. `stop_with_parent` stops
    them if the parent is killed."""
    return subprocess.Popen(command, env=env, process_group=0, **options)  # noqa: S603


def stop_with_parent() -> None:
    """In web, worker or beat started by `clout serve` or `clout demo`: have Linux send SIGTERM
    when the parent ends — killed with SIGKILL included, when it cannot stop its children
    itself — so none is left holding the port or the queue for nobody. Elsewhere, a no-op."""
    parent = os.environ.get(PARENT)
    if not parent or not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if str(os.getppid()) != parent:  # it ended before the request was made
        os.kill(os.getpid(), signal.SIGTERM)


def _relay(source: IO[bytes], sink: Any) -> None:
    """Copy a child's output to `sink` (serve's own stdout or stderr) as it comes, until the
    child closes it. A terminal that hung up is no reason to stop reading: the child would
    block on a full pipe."""
    out = getattr(sink, "buffer", sink)
    while chunk := source.read1(65536):  # type: ignore[attr-defined]
        with contextlib.suppress(OSError, ValueError):
            out.write(chunk)
            out.flush()
    source.close()


class Children:
    """Web, worker and beat as `clout serve` runs them: each in a process group of its own
    (`start_child`), reading nothing from the terminal and writing to it only through serve.
    A child in a background group that wrote to the terminal itself would be stopped there
    by SIGTTOU where the terminal is set `stty tostop`, and Clout would never answer."""

    def __init__(self, *, keep_fds: tuple[int, ...] = ()) -> None:
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self._relays: list[threading.Thread] = []
        # The data directory's lock (`hold_data_dir`): held by every child too, so it is free
        # again only once the last of them has stopped, not the moment serve dies.
        self._keep_fds = keep_fds

    def start(self, name: str, command: list[str], *, env: dict[str, str], umask: int) -> None:
        child = start_child(
            command,
            env={**env, "PYTHONUNBUFFERED": "1"},  # lines as they come, through the pipe
            umask=umask,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=self._keep_fds,
        )
        self.running[name] = child
        for source, sink in ((child.stdout, sys.stdout), (child.stderr, sys.stderr)):
            relay = threading.Thread(target=_relay, args=(source, sink), daemon=True)
            relay.start()
            self._relays.append(relay)

    def watch(
        self, *, until: Callable[[], bool], also: Callable[[], str | None] | None = None
    ) -> str | None:
        """Wait until `until()` or a child ends; the child that ended, if one did. `also` is
        asked each turn too, for what serve tends itself (its embedded Redis): the name of
        what ended for good, or None."""
        while not until():
            exited = next((n for n, c in self.running.items() if c.poll() is not None), None)
            if exited is None and also is not None:
                exited = also()
            if exited:
                return exited
            time.sleep(0.2)
        return None

    def stop(
        self, *, hurry: Callable[[], bool], hurried: Callable[[], None], grace: float = 35.0
    ) -> None:
        """SIGTERM to each: gunicorn's graceful stop, Celery's warm one (work under way is
        finished, up to 30 s). When `hurry()` turns true (a second Ctrl-C), or `grace` runs
        out, every process of each child's group is killed: what was under way is cut off, and
        comes again (Shopify resends an unanswered webhook; a task not acknowledged is
        redelivered)."""
        for child in self.running.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        while any(c.poll() is None for c in self.running.values()):
            if hurry() or time.monotonic() > deadline:
                hurried()
                self._kill()
                break
            time.sleep(0.1)
        for child in self.running.values():
            child.wait()
        for relay in self._relays:
            relay.join(timeout=2)

    def _kill(self) -> None:
        for child in self.running.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)  # its group: gunicorn's workers, the pool
