"""The Celery app and its tasks. `celery -A workers worker` finds the app here.

The app is built on first use, never at import, so importing this package has no side effects.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name in {"app", "celery"}:
        # Built on first use: importing `workers` (as service.app does) must not build an app.
        from service.app import create_app  # noqa: PLC0415

        return create_app().extensions["celery"]
    raise AttributeError(name)
