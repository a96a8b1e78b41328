"""Structured logs: one JSON object a line, carrying ids and outcomes, never customer PII.

What may be logged: shop domains (the merchant's, not a customer's), topics, delivery ids,
Shopify GIDs, counts, durations, error *types*. What may not: emails, names, phone numbers,
addresses, note text, access tokens. Handlers log ids only; the `_scrub` processor is a second
line of defence that masks anything shaped like an email address or a token.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

# \w: an address in any script ("jöhn@exämple.com") is an address.
_EMAIL = re.compile(r"[\w.%+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}")
_TOKEN = re.compile(r"\b(shpat|shpca|shppa|shpss|shprt)_[A-Za-z0-9]+")


def _mask(value: Any) -> Any:
    """`value` with emails and tokens masked, inside containers too; anything that is not a
    plain value (an exception, say) as its masked text."""
    if isinstance(value, str):
        return _TOKEN.sub(r"\1_[redacted]", _EMAIL.sub("[email]", value))
    if isinstance(value, dict):
        return {key: _mask(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_mask(item) for item in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return _mask(str(value))


def _scrub(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> dict[str, Any]:
    return {key: _mask(value) for key, value in event.items()}


class _CurrentStderr:
    """Whatever `sys.stderr` is at the moment of writing (pytest and daemons swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


_configured: str | None = None


class _JsonLines(logging.StreamHandler):  # type: ignore[type-arg]
    """Clout's handler on the root logger: what libraries log through `logging` (Celery,
    gunicorn, Alembic, Python's warnings) written as Clout's own lines are, one JSON object a
    line, through the same scrubber."""

    def __init__(self, level: str) -> None:
        super().__init__(_CurrentStderr())
        self.setLevel(level)
        self.setFormatter(
            structlog.stdlib.ProcessorFormatter(
                foreign_pre_chain=[
                    structlog.stdlib.add_log_level,
                    structlog.stdlib.add_logger_name,
                    structlog.processors.TimeStamper(fmt="iso", utc=True),
                ],
                processors=[
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    _scrub,
                    structlog.processors.JSONRenderer(),
                ],
            )
        )


def configure_logging(level: str = "INFO") -> None:
    """Process-wide, like logging itself; the last app built decides the level."""
    global _configured  # noqa: PLW0603 - logging is process-wide by nature
    if _configured == level:
        return
    _configured = level
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _JsonLines)]:
        root.removeHandler(handler)
    root.addHandler(_JsonLines(level))
    root.setLevel(level)
    logging.captureWarnings(True)  # a library's warning is a line like any other
    # httpx logs every request's URL at INFO; the Klout provider's URLs name a customer's
    # social handle, and Shopify's add a line per call. Its warnings still come through.
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _scrub,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
