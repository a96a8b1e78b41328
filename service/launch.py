"""`clout`, the command: a Ctrl-C while Python is still loading Clout (a second or more) ends it
as an interrupted command does, with exit code 130, not a screen of traceback."""

from __future__ import annotations

import signal
import sys
from types import FrameType


def main() -> None:
    # While Clout loads, a Ctrl-C is noted, not raised: raised, it can land inside a weakref
    # callback of the import machinery, where Python prints "Exception ignored" and carries on
    # (the command then starts as if no Ctrl-C had come).
    interrupted = False

    def note(_signum: int, _frame: FrameType | None) -> None:
        nonlocal interrupted
        interrupted = True

    previous = signal.signal(signal.SIGINT, note)
    try:
        from service.cli import main as clout  # noqa: PLC0415 - what takes the time
    finally:
        signal.signal(signal.SIGINT, previous)
    if interrupted:
        sys.exit(130)
    clout()
