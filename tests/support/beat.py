"""A beat schedule the operator stops while Celery is still opening it."""

from __future__ import annotations

import os
import signal

from celery.beat import PersistentScheduler


class StoppedWhileOpening(PersistentScheduler):  # type: ignore[misc]
    """SIGTERM arrives just as beat starts reading its schedule file: the moment a Ctrl-C on
    `clout serve` hit in CI, one start in ~20 on this machine."""

    def setup_schedule(self) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        super().setup_schedule()
