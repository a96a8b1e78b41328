"""Celery on Redis, configured for at-least-once work that is never lost.

Late acknowledgement plus reject-on-worker-lost puts a task back when its worker dies; prefetch 1
keeps one worker from hoarding; JSON only, ids only. The database, not Redis, records what still
has to be done: the beat's sweeper re-enqueues whatever waited too long.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from celery import Celery, Task, beat, signals
from celery.apps.beat import Beat
from celery.utils.log import get_multiprocessing_logger
from flask import Flask

from service.core.state import Clout
from service.deliveries.dispatch import FairQueue
from service.deliveries.lifecycle import QUEUE, SWEEP_TASK

PURGE_TASK = "clout.purge_payloads"


@signals.setup_logging.connect  # type: ignore[untyped-decorator]
def _logs_are_clouts(**_: Any) -> None:
    """Celery sets up no logging of its own (with a receiver here, it skips it): its loggers,
    the pool's and the tasks' among them, reach the root logger and Clout's JSON handler
    (`core.logs`), which `create_app` installs. The pool's logger (billiard's) is made not to
    propagate, and with no handler of its own it would write plain text."""
    get_multiprocessing_logger().propagate = True


def broker_url(redis_url: str) -> str:
    """kombu names Redis's unix-socket URL differently from redis-py."""
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url.removeprefix("unix://")
    return redis_url


class _Scheduling(beat.Service):  # type: ignore[misc]
    """Beat's loop, safe to stop before its schedule is open."""

    def sync(self) -> None:
        # Celery's SIGTERM/SIGINT handler saves the schedule through `self.scheduler`, built on
        # first use. A stop while that first use is still opening the schedule file built a
        # second scheduler inside the first: a half-imported dbm, the file thrown away as
        # "corrupted", a traceback on the operator's terminal. Nothing is open yet to save.
        if "scheduler" in self.__dict__:
            super().sync()
        else:
            self._is_stopped.set()


class _CloutBeat(Beat):  # type: ignore[misc]
    Service = _Scheduling


class CloutCelery(Celery):  # type: ignore[misc]
    """Celery, with what one worker process keeps between tasks."""

    # Where work waits, per lane and per shop (`service.deliveries.dispatch`).
    fair: FairQueue

    @cached_property
    def Beat(self) -> Any:  # noqa: N802 (Celery's name)
        """`clout beat` and `celery -A workers beat` both build their beat from here."""
        return self.subclass_with_self(_CloutBeat)


def init_celery(app: Flask) -> Celery:
    state: Clout = app.extensions["clout"]
    settings = state.settings

    class FlaskTask(Task):  # type: ignore[misc]
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = CloutCelery(app.name, task_cls=FlaskTask, include=["workers.tasks"])
    celery.fair = FairQueue(state.redis)
    celery.conf.update(
        broker_url=broker_url(settings.redis_url or ""),
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": 3600,
            "socket_connect_timeout": 1,
            "socket_timeout": 5,
            # Publishing gives up within about a second when Redis is down: intake must still
            # answer inside Shopify's 5 s, and the recorded row is swept up later anyway.
            "max_retries": 1,
            "interval_start": 0,
            "interval_step": 0.2,
            "connect_retries_timeout": 1,
        },
        task_default_queue=QUEUE,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_time_limit=120,
        task_soft_time_limit=100,
        worker_prefetch_multiplier=1,
        worker_cancel_long_running_tasks_on_connection_loss=True,
        worker_hijack_root_logger=False,
        # Clout's handler writes JSON lines to stderr (`core.logs`); Celery's proxy in its place
        # would feed each line back into logging, which drops it as recursion.
        worker_redirect_stdouts=False,
        beat_schedule={
            "sweep-deliveries": {"task": SWEEP_TASK, "schedule": settings.sweep_interval_seconds},
            "purge-payloads": {"task": PURGE_TASK, "schedule": 3600.0},
            "escalate-overdue": {
                "task": "clout.escalate_overdue",
                "schedule": settings.escalate_interval_seconds,
            },
            "reconcile": {
                "task": "clout.reconcile",
                "schedule": settings.reconcile_interval_seconds,
            },
            "late-deliveries": {"task": "clout.check_late_deliveries", "schedule": 3600.0},
            "alert-pending": {"task": "clout.alert_pending", "schedule": 60.0},
            "refresh-profiles": {
                "task": "clout.refresh_profiles",
                "schedule": settings.profile_refresh_interval_seconds,
            },
            "resume-backfills": {"task": "clout.resume_backfills", "schedule": 60.0},
            # The percentile tables profiles are ranked against (`influence.profiles`).
            "refresh-norms": {"task": "clout.refresh_norms", "schedule": 900.0},
            # Views, definitions and segments a merchant deleted, or a bell that was lost.
            "tend-workspaces": {"task": "clout.tend_workspaces", "schedule": 6 * 3600.0},
        },
    )
    celery.set_default()
    app.extensions["celery"] = celery
    return celery
