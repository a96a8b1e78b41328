"""Tasks: load by id, call a `service/` function, turn its outcome into a retry or an ack."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

import redis
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import beat_init, worker_init, worker_ready
from redis.exceptions import LockError
from redis.lock import Lock
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from service.attention import outbox
from service.attention.attend import (
    LATER_GRACE,
    ShopTagSettings,
    TagSettings,
    attend_incident,
    attend_later,
    shop_tag_settings,
)
from service.attention.escalation import deliver_notices, escalate_overdue
from service.attention.notify import Notifier
from service.attention.pending import alert_pending, announce_landed
from service.attention.reconcile import reconcile_shop
from service.attention.workspace import tend_workspace
from service.core.db import session_scope
from service.core.errors import PermanentError, TransientError
from service.core.logs import get_logger
from service.core.models import Backfill, Incident, Shop, utcnow
from service.core.shop_settings import ShopConfig, shop_config
from service.core.state import Clout, clout_state
from service.core.vocabulary import ShopStatus, parse_floors
from service.deliveries import backfill as history_import
from service.deliveries import lifecycle
from service.deliveries.dispatch import (
    DELIVERY,
    FLOOR,
    LATER,
    WORK_TASK,
    Unit,
    fair_queue_of,
    top_up_tokens,
)
from service.deliveries.lifecycle import QUEUE, SWEEP_TASK
from service.deliveries.topics import TOPIC_HANDLERS
from service.influence.klout import HttpKloutProvider
from service.influence.profiles import (
    NORMS_MAX_AGE,
    compute_norms,
    keep_norms,
    refresh_due_profiles,
    shops_due_for_norms,
)
from service.shopify import history, oauth, shops
from service.shopify.admin import ShopifyAdmin
from service.shopify.budget import LATER_LANE, CostBudget
from service.shopify.circuit import Circuit
from service.signals import text
from service.signals.events import LateDeliveryRule, late_deliveries

log = get_logger(__name__)


def admin_factory(state: Clout) -> Callable[[Shop], ShopifyAdmin]:
    """The Admin API client for a shop. A public app's expiring offline token (one hour) is
    refreshed first when it is about to run out, under a per-shop lock."""

    def admin(shop: Shop) -> ShopifyAdmin:
        client = shops.admin_for(
            shop=shop,
            settings=state.settings,
            vault=state.vault,
            budget=CostBudget(state.redis),
            http=state.http,
        )
        if shop.refresh_token is None:
            return client
        domain = shop.domain

        def token() -> str:
            # Asked when a call is made (never inside a transaction): a refresh may write.
            with oauth.oauth_http(state.settings) as http:
                return oauth.fresh_access_token(
                    sessions=state.sessions,
                    redis_client=state.redis,
                    settings=state.settings,
                    vault=state.vault,
                    shop_domain=domain,
                    http=http,
                )

        return dataclasses.replace(client, token_source=token)

    return admin


def klout_provider(state: Clout) -> HttpKloutProvider | None:
    settings = state.settings
    if not settings.klout_provider_url:
        return None
    return HttpKloutProvider(
        url=settings.klout_provider_url, key=settings.klout_provider_key, cache=state.redis
    )


def tag_settings(state: Clout) -> ShopTagSettings:
    """Each shop's tag settings: its own (shop settings) over the install-wide ones."""
    base = TagSettings(
        attention_tag=state.settings.attention_tag,
        resolved_tag=state.settings.resolved_tag,
        floors=parse_floors(state.settings.deadline_hours),
        opt_out_tag=state.settings.opt_out_tag,
        klout=klout_provider(state),
    )
    return shop_tag_settings(base=base, defaults=state.settings, vault=state.vault)


def then_attend(celery: Any, incident_ids: Iterable[int]) -> int:
    """Ring attendance for each incident a job touched, in its shop's turn, once the job's
    transaction committed (the sweeper rings again for any bell Redis lost)."""
    wanted = list(dict.fromkeys(incident_ids))
    if not wanted:
        return 0
    with session_scope(clout_state().sessions) as session:
        shops_of = dict(
            session.execute(
                select(Incident.id, Shop.domain)
                .join(Shop, Shop.id == Incident.shop_id)
                .where(Incident.id.in_(wanted))
            ).all()
        )
    for incident_id in wanted:
        lifecycle.enqueue_attention(
            celery=celery, incident_id=incident_id, shop=shops_of.get(incident_id, "")
        )
    return len(wanted)


def job_then_attend(celery: Any, job: Callable[[Session], Iterable[int]]) -> int:
    """Run a job in one transaction, then attend to the incidents it touched."""
    with session_scope(clout_state().sessions) as session:
        touched = list(job(session))
    return then_attend(celery, touched)


def _shop_of(incident_id: int) -> str:
    with session_scope(clout_state().sessions) as session:
        return (
            session.scalar(
                select(Shop.domain)
                .join(Incident, Incident.shop_id == Shop.id)
                .where(Incident.id == incident_id)
            )
            or ""
        )


# --- the work itself: one delivery, one floor, one case's later work -------------------------


def _process(celery: Any, delivery_id: int) -> tuple[str, float | None]:
    state = clout_state()
    outcome = lifecycle.process_delivery(
        sessions=state.sessions,
        delivery_id=int(delivery_id),
        handlers=TOPIC_HANDLERS,
        max_attempts=state.settings.delivery_max_attempts,
        stale_after=state.settings.stale_processing_seconds,
        lease=state.settings.delivery_lease_seconds,
        keep_body=state.settings.payload_retention_days > 0,
        admin_for=admin_factory(state),
        tag_settings=tag_settings(state),
        cut_short_by=(SoftTimeLimitExceeded,),
    )
    then_attend(celery, outcome.incidents)
    for backfill_id in outcome.backfills:
        # Shopify finished the file: the chain waiting on it goes on now, not at its next look.
        history.ring_backfill(
            celery=celery, backfill_id=backfill_id, chain=_backfill_chain(state, backfill_id)
        )
    return outcome.status, outcome.retry_in


class Busy(Exception):
    """Another worker is attending this incident right now."""


def _attend(celery: Any, incident_id: int, *, shop: str | None = None) -> str:
    """Bring Shopify's floor up to date with one incident, then ring for its later work."""
    state = clout_state()
    # One attendance per incident at a time: two workers deciding from different snapshots
    # would undo each other's tags.
    # A short lease, renewed while the attendance runs: a worker killed mid-task (SIGKILL, OOM)
    # stops renewing, and the next one can take over within ATTEND_LEASE seconds rather than
    # waiting out a long lock while the customer waits for the floor.
    lock = attendance_lease(state.redis, incident_id)
    if not lock.acquire(blocking_timeout=5):
        raise Busy
    done = threading.Event()
    renewer = threading.Thread(target=renew_lease, args=(lock, done), daemon=True)
    renewer.start()
    try:
        result = attend_incident(
            sessions=state.sessions,
            incident_id=int(incident_id),
            admin=admin_factory(state),
            shop_settings=tag_settings(state),
            now=utcnow(),
        )
    finally:
        done.set()
        renewer.join()
        with contextlib.suppress(redis.RedisError, LockError):
            lock.release()
    with contextlib.suppress(redis.RedisError):
        state.redis.delete(ATTEND_RETRY_KEY.format(incident_id))  # Shopify answered
    if result == "attended":
        lifecycle.enqueue_later(
            celery=celery, incident_id=incident_id, shop=shop or _shop_of(incident_id)
        )
    return result


def _attend_later(celery: Any, incident_id: int) -> str:
    state = clout_state()
    lock = attendance_lease(state.redis, incident_id)
    if not lock.acquire(blocking_timeout=1):
        return "busy"  # its floor is being attended; `later_due_at` brings this back
    try:
        result = attend_later(
            sessions=state.sessions,
            incident_id=int(incident_id),
            admin=admin_factory(state),
            shop_settings=tag_settings(state),
            now=utcnow(),
            circuit=Circuit(state.redis),
        )
    finally:
        with contextlib.suppress(redis.RedisError, LockError):
            lock.release()
    if result == "resolved":
        then_attend(celery, [incident_id])  # a person resolved it: Clout's tags come off
    return result


def _attend_retry_delay(error: TransientError, retries: int) -> float:
    return float(min(300.0, max(error.retry_after or 0.0, 2.0 * 2**retries)))


# One retry schedule per case while Shopify cannot take its floor. The sweeper rings a case
# whose floor has waited past `sweep_after_seconds`, and a new signal rings it too; each ring
# used to start a retry chain of its own at 2 s, so in an outage a case was tried every sweep
# and its tries multiplied (503s to one shop 12 → 47 a 20 s). The case's failures and the time
# of its next try are kept here; a ring while that try is on its way adds none, and the sweeper
# passes it over. The record outlives its try by a lease and a margin: a try whose message was
# lost with its worker leaves the case to the sweeper again.
ATTEND_RETRY_KEY = "clout:attend:retry:{}"
ATTEND_RETRY_MARGIN = 30.0  # seconds


def _schedule_attend_retry(client: redis.Redis, incident_id: int, error: TransientError) -> float:
    """The delay before the case's next try, one step further along its backoff."""
    key = ATTEND_RETRY_KEY.format(incident_id)
    now = time.time()
    try:
        raw = client.get(key)
        failures = int(json.loads(raw)[0]) if raw else 0
        delay = _attend_retry_delay(error, failures)
        client.set(
            key,
            json.dumps([failures + 1, now + delay]),
            ex=int(delay + ATTEND_LEASE + ATTEND_RETRY_MARGIN),
        )
    except (redis.RedisError, ValueError, TypeError, IndexError):
        return _attend_retry_delay(error, 0)  # no record to keep: try again, as before
    return delay


def _awaiting_retry(client: redis.Redis, incident_ids: list[int]) -> set[int]:
    """The cases among these whose next try is already on its way (or was, a moment ago)."""
    if not incident_ids:
        return set()
    try:
        found = client.mget([ATTEND_RETRY_KEY.format(i) for i in incident_ids])
    except redis.RedisError:
        return set()
    return {i for i, raw in zip(incident_ids, found, strict=True) if raw is not None}


def _next_unit(celery: Any) -> Unit | None:
    fair = fair_queue_of(celery)
    if fair is None:
        return None
    try:
        return fair.pop()
    except redis.RedisError:
        return None  # the sweeper rings again for whatever waits in the database


def _work_delivery(celery: Any, unit: Unit) -> str:
    status, retry_in = _process(celery, unit.item)
    if retry_in is not None:
        celery.send_task(lifecycle.PROCESS_TASK, args=[unit.item], countdown=retry_in, queue=QUEUE)
    return str(status)


def _work_floor(celery: Any, unit: Unit) -> str:
    # A ring (a new signal) while the case waits out its backoff, or while its retry is being
    # tried, is still tried at once: Shopify may be back. If it is not, the case's retry stays
    # its only one.
    waiting_out = bool(_awaiting_retry(clout_state().redis, [unit.item]))
    try:
        return _attend(celery, unit.item, shop=unit.shop)
    except Busy:
        if not waiting_out:
            # (A case whose retry is on its way is being tried by it now: that try goes on.)
            celery.send_task(lifecycle.ATTEND_TASK, args=[unit.item], countdown=2, queue=QUEUE)
        return "busy"
    except TransientError as error:
        if waiting_out:
            log.info("attend_retry_on_its_way", incident_id=unit.item, error=type(error).__name__)
            return "retrying"
        delay = _schedule_attend_retry(clout_state().redis, unit.item, error)
        log.warning(
            "attend_retrying", incident_id=unit.item, retry_in=delay, error=type(error).__name__
        )
        celery.send_task(lifecycle.ATTEND_TASK, args=[unit.item], countdown=delay, queue=QUEUE)
        return "retrying"


def _work_later(celery: Any, unit: Unit) -> str:
    return _attend_later(celery, unit.item)


LANE_WORK: dict[str, Callable[[Any, Unit], str]] = {
    DELIVERY: _work_delivery,
    FLOOR: _work_floor,
    LATER: _work_later,
}


@shared_task(name=WORK_TASK, bind=True)
def work(self: Any) -> str:
    """A token: take the next unit of work — the first lane with any, the shop whose turn it
    is — and do it. A unit that must be tried again later goes back as its own task."""
    unit = _next_unit(self.app)
    if unit is None:
        return "idle"
    return LANE_WORK[unit.lane](self.app, unit)


@shared_task(name=lifecycle.PROCESS_TASK, bind=True, max_retries=None)
def process_delivery(self: Any, delivery_id: int) -> str:
    """One delivery by id: a retry (and what was queued before the fair queue existed)."""
    status, retry_in = _process(self.app, delivery_id)
    if retry_in is not None:
        # The row already says `retrying` with its due time: if this message is lost, the
        # sweeper rings again.
        raise self.retry(countdown=retry_in)
    return str(status)


@shared_task(name=lifecycle.ATTEND_TASK, bind=True, max_retries=None)
def attend(self: Any, incident_id: int) -> str:
    """One incident's floor by id (a retry); Shopify being unwell means try again later (the
    incident keeps `needs_attention` until it is done)."""
    try:
        return _attend(self.app, incident_id)
    except Busy:
        raise self.retry(countdown=2, max_retries=None) from None
    except TransientError as error:
        delay = _schedule_attend_retry(clout_state().redis, incident_id, error)
        log.warning(
            "attend_retrying", incident_id=incident_id, retry_in=delay, error=type(error).__name__
        )
        raise self.retry(countdown=delay, max_retries=20) from None


@shared_task(name=lifecycle.LATER_TASK, bind=True)
def attend_later_task(self: Any, incident_id: int) -> str:
    """One incident's best-effort work by id."""
    return _attend_later(self.app, incident_id)


ATTEND_LEASE = 20  # seconds


def attendance_lease(
    client: redis.Redis, incident_id: int | str, *, seconds: float = ATTEND_LEASE
) -> Lock:
    """One incident's attendance lock. Not thread-local: the renewer thread extends what the
    attending thread took (a thread-local lock keeps its token where only the taking thread
    sees it, so every renewal raised AttributeError, the renewer died, and an attendance longer
    than the lease lost its lock to the next worker)."""
    return Lock(client, f"clout:attend:{incident_id}", timeout=seconds, thread_local=False)


def renew_lease(lock: Lock, done: threading.Event, *, every: float = ATTEND_LEASE / 3) -> None:
    while not done.wait(every):
        with contextlib.suppress(redis.RedisError, LockError):
            lock.reacquire()


@shared_task(name=SWEEP_TASK)
def sweep_deliveries(at_start: bool = False) -> int:
    """Ring again for what waits in the database without a bell. `at_start` (a worker or the
    beat has just started): whatever was recorded before may have lost its bell with the
    processes or the Redis that a crash took down, so nothing is given time to be picked up;
    and one more sweep is rung for the moment the last lease a dead worker held runs out, so
    its delivery is taken over then, not one interval later."""
    state = clout_state()
    now = utcnow()
    # An incident waiting this long for its tags has lost its bell (or its worker died).
    waited = timedelta(seconds=0 if at_start else max(state.settings.sweep_after_seconds, 5.0))
    with session_scope(state.sessions) as session:
        due = lifecycle.due_for_sweep(
            session=session,
            now=now,
            after=0 if at_start else state.settings.sweep_after_seconds,
            stale_after=state.settings.stale_processing_seconds,
        )
        lease_end = lifecycle.last_lease_end(session=session, now=now) if at_start else None
        waiting = session.scalars(
            select(Incident.id)
            .where(
                Incident.needs_attention.is_(True),
                or_(
                    Incident.attended_at.is_(None) & (Incident.opened_at <= now - waited),
                    and_(
                        Incident.attended_at.is_not(None),
                        Incident.attended_at <= now - waited,
                    ),
                ),
            )
            .limit(500)
        ).all()
        # Sends whose worker died mid-send, to receivers that cannot tell a repeat: for a
        # person to check, never sent again.
        outbox.mark_uncertain(session=session, now=now)
        # Later work whose time has come (skipped work comes back here, never in a loop).
        later = session.execute(
            select(Incident.id, Shop.domain)
            .join(Shop, Shop.id == Incident.shop_id)
            .where(
                Incident.later_due_at.is_not(None),
                # Its own due time: put-off work already waited its retry interval.
                Incident.later_due_at <= now - LATER_GRACE,
                Incident.needs_attention.is_(False),
            )
            .limit(500)
        ).all()
    celery = process_delivery.app
    if lease_end is not None:
        # A lease is renewed only while its worker lives: none lasts longer than one lease
        # from now, whatever a wrong clock wrote.
        wait = min((lease_end - now).total_seconds(), state.settings.delivery_lease_seconds)
        celery.send_task(SWEEP_TASK, countdown=wait + 0.5, queue=QUEUE)
    # A case whose next try is on its way is left to it (one backoff per case, not one per sweep).
    pending = _awaiting_retry(state.redis, list(waiting))
    then_attend(celery, [i for i in waiting if i not in pending])
    for incident_id, domain in later:
        lifecycle.enqueue_later(celery=celery, incident_id=incident_id, shop=domain)
    rung = sum(
        lifecycle.enqueue_delivery(celery=celery, delivery_id=i, shop=domain) for i, domain in due
    )
    top_up_tokens(celery=celery, queue=QUEUE)
    return rung


def sweep_at_start(celery: Any) -> None:
    """Ring the start's sweep: the beat's own first sweep comes only one interval after it
    starts, and a restart is when bells are most likely to have been lost."""
    try:
        celery.send_task(SWEEP_TASK, kwargs={"at_start": True}, queue=QUEUE, retry=False)
    except Exception as error:  # noqa: BLE001 - any broker failure: the beat's sweep follows
        log.warning("start_sweep_not_rung", error=type(error).__name__)


@worker_ready.connect
def _sweep_when_a_worker_starts(sender: Any, **_: Any) -> None:
    sweep_at_start(sender.app)


@beat_init.connect
def _sweep_when_the_beat_starts(sender: Any, **_: Any) -> None:
    sweep_at_start(sender.app)


@worker_init.connect
def _read_the_detector_before_the_first_delivery(**_: Any) -> None:
    # Before the pool forks: its processes share what is read here, and the first delivery
    # does not wait ~0.3 s for the detector's patterns and models.
    text.prepare()


@shared_task(name="clout.escalate_overdue")
def escalate() -> int:
    state = clout_state()

    def job(session: Session) -> list[int]:
        def config(shop_id: int) -> ShopConfig:
            return shop_config(
                session=session, shop_id=shop_id, defaults=state.settings, vault=state.vault
            )

        return escalate_overdue(
            session=session,
            now=utcnow(),
            floors=lambda shop_id: config(shop_id).floors,
            notifier=lambda shop_id: Notifier.for_shop(
                config=config(shop_id), defaults=state.settings
            ),
        )

    touched = job_then_attend(escalate.app, job)
    deliver_notices(
        sessions=state.sessions,
        notifier=lambda shop_id: notifier_of(state, shop_id),
        now=utcnow,
    )
    return touched


def notifier_of(state: Clout, shop_id: int) -> Notifier:
    """A shop's channels, read when a notice is sent (secrets stay out of the outbox)."""
    with session_scope(state.sessions) as session:
        config = shop_config(
            session=session, shop_id=shop_id, defaults=state.settings, vault=state.vault
        )
    return Notifier.for_shop(config=config, defaults=state.settings)


@shared_task(name="clout.alert_pending")
def alert_pending_tags() -> int:
    """Announce attention tags that have not reached Shopify in time (once per case): the
    alerts are recorded with the cases, then sent once that has committed."""
    state = clout_state()
    with session_scope(state.sessions) as session:

        def config(shop_id: int) -> ShopConfig:
            return shop_config(
                session=session, shop_id=shop_id, defaults=state.settings, vault=state.vault
            )

        announced = alert_pending(
            session=session,
            now=utcnow(),
            config_of=config,
            notifier_of=lambda shop_id: Notifier.for_shop(
                config=config(shop_id), defaults=state.settings
            ),
        )
        # And the channels that heard of an outage hear, once, that it is over.
        announce_landed(
            session=session,
            now=utcnow(),
            notifier_of=lambda shop_id: Notifier.for_shop(
                config=config(shop_id), defaults=state.settings
            ),
        )
    deliver_notices(
        sessions=state.sessions,
        notifier=lambda shop_id: notifier_of(state, shop_id),
        now=utcnow,
    )
    return len(announced)


@shared_task(name="clout.check_late_deliveries")
def check_late_deliveries() -> int:
    state = clout_state()
    rule = LateDeliveryRule(
        unfulfilled_days=state.settings.late_unfulfilled_days,
        no_update_days=state.settings.late_no_update_days,
    )
    return job_then_attend(
        check_late_deliveries.app,
        lambda session: late_deliveries(session=session, now=utcnow(), rule=rule),
    )


# A run of reconciliation ends well inside the task's soft time limit (100 s), between pages,
# with its watermark kept; a shop it left behind is read on by a run a few seconds later, not
# at the next quarter hour, until it has caught up.
RECONCILE_RUN_SECONDS = 60.0
RECONCILE_SLICE_SECONDS = 10.0  # the least one shop gets of a run shared by many
RECONCILE_AGAIN_SECONDS = 5.0
RECONCILE_RETRY_SECONDS = 60.0
RECONCILE_TASK = "clout.reconcile"


@shared_task(name=RECONCILE_TASK, bind=True, max_retries=None)
def reconcile(self: Any, shop_ids: list[int] | None = None) -> int:
    """Every connected shop (or the ones a run left behind): read back orders updated since
    the watermark. Reading back takes the later lane of the shop's API budget, so the floors of
    its unhappy customers keep their reserve; the run's time is shared by the shops still to
    read, so one busy shop cannot keep the others waiting."""
    state = clout_state()
    admin = admin_factory(state)
    started = time.monotonic()
    touched: set[int] = set()
    behind: list[int] = []  # cut off by the run's time: read on in a few seconds
    postponed: list[int] = []  # Shopify unwell or no budget: tried again in a minute
    with session_scope(state.sessions) as session:
        active = session.scalars(select(Shop.id).where(Shop.status == ShopStatus.ACTIVE)).all()
    todo = [shop_id for shop_id in active if shop_ids is None or shop_id in shop_ids]
    for place, shop_id in enumerate(todo):
        left = started + RECONCILE_RUN_SECONDS - time.monotonic()
        if place and left <= 0:
            behind.extend(todo[place:])  # the follow-on run begins with them
            break
        # Every run reads at least a page of its first shop: a chain of runs always gets on.
        share = max(left / (len(todo) - place), min(max(left, 1.0), RECONCILE_SLICE_SECONDS))
        # Two runs reading one shop (the quarter-hour's and a follow-on) would pay twice.
        lock = state.redis.lock(f"clout:reconcile:{shop_id}", timeout=RECONCILE_RUN_SECONDS + 40)
        try:
            if not lock.acquire(blocking=False):
                continue
        except redis.RedisError:
            pass  # without Redis no second run can be ringing: read anyway
        try:
            with session_scope(state.sessions) as session:
                shop = session.get(Shop, shop_id)
                client = admin(shop) if shop is not None else None
            if client is not None:
                client = dataclasses.replace(
                    client, lane=LATER_LANE, max_wait=min(client.max_wait, share)
                )
                done = reconcile_shop(
                    sessions=state.sessions,
                    shop_id=shop_id,
                    admin=client,
                    now=utcnow(),
                    stop_at=time.monotonic() + share,
                )
                touched |= done.touched
                if not done.caught_up:
                    behind.append(shop_id)
                    log.warning(
                        "reconcile_behind",
                        shop_id=shop_id,
                        behind_seconds=round(done.behind.total_seconds()),
                    )
        except TransientError as error:
            # Shopify unwell, or no budget to spare within the shop's share: in a minute, not
            # in 15.
            postponed.append(shop_id)
            log.warning("reconcile_postponed", shop_id=shop_id, error=type(error).__name__)
        except PermanentError as error:
            # One shop's refusal (a revoked token, a query Shopify refuses) must not stop the
            # others, and must be loud: reconciliation is how missed webhooks are recovered.
            log.error(  # noqa: TRY400 - a named refusal; a traceback would add nothing
                "reconcile_refused",
                shop_id=shop_id,
                error=type(error).__name__,
                detail=str(error)[:300],
            )
        finally:
            with contextlib.suppress(LockError, redis.RedisError):
                lock.release()
    if behind or postponed:
        try:
            self.app.send_task(
                RECONCILE_TASK,
                args=[behind + postponed],
                countdown=RECONCILE_AGAIN_SECONDS if behind else RECONCILE_RETRY_SECONDS,
                queue=QUEUE,
            )
        except Exception as error:  # noqa: BLE001 - any broker failure: the beat's run follows
            log.warning("reconcile_not_continued", error=type(error).__name__)
    return then_attend(self.app, touched)


@shared_task(name="clout.refresh_profiles")
def refresh_profiles() -> int:
    """Profiles made stale by new orders, and incomplete ones whose lookups failed earlier."""
    state = clout_state()
    return job_then_attend(
        refresh_profiles.app,
        lambda session: refresh_due_profiles(
            session=session,
            klout=klout_provider(state),
            opt_out_tag=state.settings.opt_out_tag,
            now=utcnow(),
            retry_after=timedelta(seconds=state.settings.profile_retry_seconds),
        ),
    )


@shared_task(name="clout.refresh_norms")
def refresh_norms() -> int:
    """The shops' percentile tables, summarised again once they are an hour old: each shop read
    in a session that writes nothing, then kept in a short transaction of its own (no write
    lock held while a large shop is read)."""
    state = clout_state()
    now = utcnow()
    with session_scope(state.sessions) as session:
        due = shops_due_for_norms(session=session, now=now, max_age=NORMS_MAX_AGE)
    for shop_id in due:
        with session_scope(state.sessions) as session:
            shop = session.get(Shop, shop_id)
            if shop is None:
                continue
            norms = compute_norms(session=session, shop=shop)
        with session_scope(state.sessions) as session:
            shop = session.get(Shop, shop_id)
            if shop is not None:
                keep_norms(session=session, shop=shop, norms=norms, now=now)
        log.info("norms_refreshed", shop_id=shop_id, customers=norms.customers)
    return len(due)


@shared_task(name="clout.purge_payloads")
def purge_payloads() -> int:
    state = clout_state()
    with session_scope(state.sessions) as session:
        return lifecycle.purge_payloads(
            session=session, now=utcnow(), retention_days=state.settings.payload_retention_days
        )


# --- a store's history ---------------------------------------------------------------------

BACKFILL_SLICE = 600.0  # seconds of importing per task run: the rest in the next run
# Longer than a run may last (its time limit): the slice, then a shop's profiles rebuilt (about
# a minute for 100,000 customers on SQLite, bench/profiles.py). Under the broker's one-hour
# visibility timeout, so Redis never hands a running task to a second worker.
BACKFILL_LEASE = 1900


def _backfill_key(backfill_id: int) -> str:
    return f"clout:backfill:{backfill_id}"


def _backfill_chain(state: Clout, backfill_id: int) -> str | None:
    """The chain of tasks now carrying the import, if one is alive."""
    try:
        current = state.redis.get(_backfill_key(backfill_id))
    except redis.RedisError:
        return None
    return current.decode() if isinstance(current, bytes) else None


BACKFILL_RUN_LEASE = 20  # seconds; renewed while a run works (`renew_lease`)


def backfill_run(
    client: redis.Redis, backfill_id: int, *, seconds: float = BACKFILL_RUN_LEASE
) -> Lock:
    """Held while a run of an import's chain is under way. A chain is one line of tasks, but
    `bulk_operations/finish` rings it on at once (not at its next look) while its own next run
    is already on its way: without this the two ran side by side, each superseding the other's
    next batch and trying again at once, and both rebuilding every profile of the shop. A short
    lease, renewed: a run killed mid-import frees it within seconds for the run that follows.
    Not thread-local: the renewer thread extends what the run took."""
    return Lock(client, f"{_backfill_key(backfill_id)}:run", timeout=seconds, thread_local=False)


@shared_task(
    name=history.BACKFILL_TASK,
    bind=True,
    max_retries=None,
    soft_time_limit=BACKFILL_LEASE - 100,
    time_limit=BACKFILL_LEASE - 40,
)
def backfill(self: Any, backfill_id: int, chain: str | None = None) -> str:
    """Carry a history import on: a slice of work, then this same task again (at once while
    there are lines to import, later while Shopify builds the file). One chain of these runs
    per import: a second ring finds the first one's lease and leaves it be; a chain that dies
    (a worker killed) lets its lease run out, and the beat starts another."""
    state = clout_state()
    chain = chain or uuid.uuid4().hex
    key = _backfill_key(backfill_id)
    if not state.redis.set(key, chain, ex=BACKFILL_LEASE, nx=True):
        if _backfill_chain(state, backfill_id) != chain:
            return "another chain carries it"
        state.redis.expire(key, BACKFILL_LEASE)
    running = backfill_run(state.redis, backfill_id)
    if not running.acquire(blocking=False):
        # Another run of the chain is under way: look again once its lease could have run out
        # (a killed worker's); by then it has finished the import, or this run takes it on.
        raise self.retry(args=[backfill_id, chain], countdown=BACKFILL_RUN_LEASE)
    done = threading.Event()
    renewer = threading.Thread(
        target=renew_lease,
        args=(running, done),
        kwargs={"every": BACKFILL_RUN_LEASE / 3},
        daemon=True,
    )
    renewer.start()
    step: history_import.Step | None = None
    try:
        step = history_import.advance(
            sessions=state.sessions,
            backfill_id=int(backfill_id),
            admin_for=admin_factory(state),
            http=state.http,
            klout=klout_provider(state),
            opt_out_tag=state.settings.opt_out_tag,
            deadline=time.monotonic() + BACKFILL_SLICE,
        )
    except TransientError as error:
        delay = min(600.0, max(error.retry_after or 0.0, 10.0 * 2 ** min(self.request.retries, 6)))
        log.warning("backfill_retrying", backfill_id=backfill_id, retry_in=delay)
    except SoftTimeLimitExceeded:
        # Cut mid-batch: that batch rolled back, the next run starts from the last one written.
        delay = 0.0
    finally:
        # Before the next run is sent: it finds the run free and goes on at once.
        done.set()
        renewer.join()
        with contextlib.suppress(redis.RedisError, LockError):
            running.release()
    if step is None:
        raise self.retry(args=[backfill_id, chain], countdown=delay)
    then_attend(self.app, step.incidents)
    if step.finished:
        with contextlib.suppress(redis.RedisError):
            state.redis.delete(key)
        return str(step.status)
    raise self.retry(args=[backfill_id, chain], countdown=step.wait or 0)


@shared_task(name="clout.resume_backfills")
def resume_backfills() -> int:
    """Every unfinished import with no live chain gets one (after a restart, a lost message, or
    a request recorded where no broker answered, as `clout shops add` without Redis)."""
    state = clout_state()
    with session_scope(state.sessions) as session:
        unfinished = session.scalars(
            select(Backfill.id).where(Backfill.finished_at.is_(None))
        ).all()
    rung = 0
    for backfill_id in unfinished:
        if _backfill_chain(state, backfill_id) is None:
            rung += history.ring_backfill(celery=resume_backfills.app, backfill_id=backfill_id)
    return rung


# --- Clout's views, metafield definitions and segments in the store's admin ------------------


@shared_task(name=history.WORKSPACE_TASK, bind=True, max_retries=8)
def tend_workspace_task(self: Any, shop_id: int) -> str:
    """Make or mend one store's saved views, definitions and segments, in its tag names of now.
    Idempotent: what is there as wanted is left alone; Shopify unreachable retries, a refusal
    is logged (`clout shops check` says it in words)."""
    state = clout_state()
    with session_scope(state.sessions) as session:
        shop = session.get(Shop, int(shop_id))
        if shop is None or shop.status != ShopStatus.ACTIVE:
            return "shop-inactive"
        config = shop_config(
            session=session, shop_id=shop.id, defaults=state.settings, vault=state.vault
        )
        client = admin_factory(state)(shop)
        domain = shop.domain
    try:
        plan, lines = tend_workspace(
            client=client,
            attention_tag=config.attention_tag,
            resolved_tag=config.resolved_tag,
            fix=True,
        )
    except TransientError as error:
        delay = min(3600.0, max(error.retry_after or 0.0, 30.0 * 2**self.request.retries))
        raise self.retry(countdown=delay) from None
    except PermanentError as error:
        log.warning("workspace_refused", shop=domain, error=str(error)[:300])
        return "refused"
    if not plan.in_order:
        log.warning("workspace_not_in_order", shop=domain, lines=lines[-10:])
        return "not-in-order"
    return "in-order"


@shared_task(name="clout.tend_workspaces")
def tend_workspaces() -> int:
    """Ring `tend_workspace` for every active store."""
    with session_scope(clout_state().sessions) as session:
        active = session.scalars(select(Shop.id).where(Shop.status == ShopStatus.ACTIVE)).all()
    return sum(history.ring_workspace(celery=tend_workspaces.app, shop_id=i) for i in active)
