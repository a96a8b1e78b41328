"""The processes `clout serve` and `clout demo` start: the port looked at first, and children
that stop when their parent does, however it ends."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
from typing import Any

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
