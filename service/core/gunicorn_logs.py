"""gunicorn's own lines ("Booting worker", "WORKER TIMEOUT") written as Clout's are: apart from
`core.logs` so that only `clout web` imports gunicorn."""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger


class GunicornToClout(Logger):  # type: ignore[misc]
    """gunicorn's logger, its handlers taken off so that its records reach the root logger and
    Clout's JSON handler (`core.logs`). The access log stays off (`clout web`)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in list(log.handlers):
                log.removeHandler(handler)
            log.propagate = True
