"""A delivery's life: recorded at intake, claimed by a worker, handled, and done, retried or dead.

The database is the record of what still has to be done; Redis only rings the bell. Intake
commits the row before anything is enqueued, a worker claims the row with a conditional UPDATE
(so a duplicate bell does no harm), and the sweeper rings again for any row that has waited too
long — after a Redis restart, a failed enqueue, or a worker killed mid-task.
"""

from __future__ import annotations

import json
import random
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from sqlalchemy import ColumnElement, LargeBinary, and_, bindparam, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from service.attention.attend import ShopTagSettings, TagSettings
from service.core import db
from service.core.errors import PermanentError, TransientError
from service.core.logs import get_logger
from service.core.models import Delivery, Incident, Shop, UTCDateTime, utcnow
from service.core.vocabulary import PENDING_DELIVERIES, DeliveryStatus
from service.deliveries.dispatch import DELIVERY, FLOOR, LATER, Enqueuer, ring
from service.deliveries.prepare import prepare_delivery, still_installed
from service.shopify.admin import ShopifyAdmin
from service.signals.read_ahead import read_ahead

log = get_logger(__name__)

PROCESS_TASK = "clout.process_delivery"
ATTEND_TASK = "clout.attend_incident"
LATER_TASK = "clout.attend_later"
SWEEP_TASK = "clout.sweep_deliveries"
QUEUE = "clout"


BACKOFF_BASE_SECONDS = 5.0
BACKOFF_MAX_SECONDS = 600.0  # stays well under Redis's 1 h visibility timeout
# How long a claim holds without renewal (CLOUT_DELIVERY_LEASE_SECONDS): a third of it between
# renewals leaves two chances for a renewal that met a busy database.
DEFAULT_LEASE_SECONDS = 15.0


@dataclass
class DeliveryContext:
    """What a topic handler gets: the delivery, its shop and its parsed body."""

    session: Session
    delivery: Delivery
    shop: Shop
    payload: dict[str, Any]
    now: datetime
    # Set by a handler that erased the delivery row itself (shop/redact).
    erased: bool = field(default=False)
    # Incidents that gained a signal: attended to (priority, deadline, tags) after the commit.
    incidents: set[int] = field(default_factory=set)
    # History imports to carry on (Shopify finished their bulk operation), after the commit.
    backfills: set[int] = field(default_factory=set)
    # Clout's tags and deadlines, for handlers that read tags back (resolution, drift).
    tag_settings: TagSettings | None = None
    # For a topic that would disconnect or erase a connected store (`prepare.ASK_IF_INSTALLED`):
    # whether Shopify, asked just before, still takes the store's token (None: no answer).
    installed: bool | None = None
    # The store's token (as stored) when Shopify was asked: a refusal is of that token only.
    asked_with: bytes | None = None
    # Set by a handler that found nothing to do with a delivery it was right to set aside: why,
    # for the operator (`clout deliveries list` shows it in the delivery's last-error column).
    ignored: str | None = None


REVIEW_KEY_PREFIX = "reviews/"


def handler_key(source: str, topic: str) -> str | None:
    """Shopify deliveries are handled by topic; a review platform's by platform. A Shopify
    topic never names a review platform's handler (None: nothing handles it)."""
    if source == "shopify":
        return None if topic.startswith(REVIEW_KEY_PREFIX) else topic
    return f"{REVIEW_KEY_PREFIX}{source}"


class TopicHandler(Protocol):
    def __call__(self, ctx: DeliveryContext) -> None: ...


@dataclass(frozen=True)
class Recorded:
    delivery_id: int
    duplicate: bool
    # A duplicate recorded for another shop: the same sender's delivery id under another
    # shop's header (a captured body replayed). Its id is that shop's, never to be named.
    other_shop: bool = False


_RECORD = text(
    "INSERT INTO deliveries (source, webhook_id, event_id, topic, shop_domain, api_version,"
    " triggered_at, body, status, attempts, received_at)"
    " VALUES (:source, :webhook_id, :event_id, :topic, :shop_domain, :api_version,"
    " :triggered_at, :body, :status, :attempts, :received_at)"
    " ON CONFLICT (source, webhook_id) DO NOTHING RETURNING id"
).bindparams(
    bindparam("triggered_at", type_=UTCDateTime()),
    bindparam("received_at", type_=UTCDateTime()),
    bindparam("body", type_=LargeBinary()),
)


def record_delivery(
    *,
    session: Session,
    source: str,
    webhook_id: str,
    topic: str,
    shop_domain: str,
    body: bytes,
    event_id: str | None = None,
    api_version: str | None = None,
    triggered_at: datetime | None = None,
) -> Recorded:
    """Insert the delivery and commit; a repeated (source, webhook id) is a duplicate, not an error.

    Database errors other than the duplicate propagate: the caller answers 503 so the sender
    retries, because nothing was recorded.
    """
    values = {
        "source": source,
        "webhook_id": webhook_id,
        "event_id": event_id,
        "topic": topic,
        "shop_domain": shop_domain,
        "api_version": api_version,
        "triggered_at": triggered_at,
        "body": body,
        "status": DeliveryStatus.RECEIVED.value,
        "attempts": 0,
        "received_at": utcnow(),
    }
    # One statement, no ORM unit of work and nothing to compile per request: this is intake's
    # hot path (the ORM flush was a third of its CPU). ON CONFLICT DO NOTHING makes a repeated
    # webhook id a duplicate without an error and a rollback (PostgreSQL, SQLite ≥ 3.35).
    inserted = session.connection().execute(_RECORD, values).scalar()
    session.commit()
    if inserted is not None:
        return Recorded(delivery_id=inserted, duplicate=False)
    existing = session.execute(
        select(Delivery.id, Delivery.shop_domain).where(
            Delivery.source == source, Delivery.webhook_id == webhook_id
        )
    ).first()
    if existing is None:  # the conflict was something else; do not pretend it is recorded
        raise RuntimeError("delivery neither inserted nor found")
    return Recorded(delivery_id=existing[0], duplicate=True, other_shop=existing[1] != shop_domain)


def enqueue_attention(*, celery: Enqueuer, incident_id: int, shop: str) -> bool:
    """Ring for an incident whose attention floor must catch up in Shopify, in `shop`'s turn;
    the incident's `needs_attention` flag is the record, so a lost bell is rung again by the
    sweeper."""
    return ring(
        celery=celery,
        queue=QUEUE,
        lane=FLOOR,
        shop=shop,
        item=incident_id,
        direct_task=ATTEND_TASK,
    )


def enqueue_later(*, celery: Enqueuer, incident_id: int, shop: str) -> bool:
    """Ring for an incident's best-effort work (after its floor has landed); its
    `later_due_at` is the record."""
    return ring(
        celery=celery, queue=QUEUE, lane=LATER, shop=shop, item=incident_id, direct_task=LATER_TASK
    )


def enqueue_delivery(*, celery: Enqueuer, delivery_id: int, shop: str) -> bool:
    """Ring the bell for a committed delivery. False when the broker is unreachable: the row stays
    `received` and the sweeper enqueues it once Redis is back, so the caller still answers 200."""
    return ring(
        celery=celery,
        queue=QUEUE,
        lane=DELIVERY,
        shop=shop,
        item=delivery_id,
        direct_task=PROCESS_TASK,
    )


@dataclass(frozen=True)
class Outcome:
    status: DeliveryStatus | Literal["skipped"]  # skipped: another worker has it, or done
    retry_in: float | None = None
    incidents: tuple[int, ...] = ()  # to attend to (tags, deadline) now that it is committed
    backfills: tuple[int, ...] = ()  # history imports to carry on now


def backoff_seconds(attempt: int, *, rng: Callable[[], float] = random.random) -> float:
    """Exponential back-off with full jitter: 5 s, 10 s, 20 s … capped at 10 minutes."""
    ceiling = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempt - 1))
    return float(max(1.0, ceiling * (0.5 + rng() / 2)))


def _taken_over(now: datetime, stale_after: float) -> ColumnElement[bool]:
    """A `processing` claim whose worker is gone: its lease ran out, or (a claim made before
    leases existed) it is older than `stale_after`."""
    return and_(
        Delivery.status == DeliveryStatus.PROCESSING,
        or_(
            Delivery.lease_until <= now,
            and_(
                Delivery.lease_until.is_(None),
                Delivery.claimed_at <= now - timedelta(seconds=stale_after),
            ),
        ),
    )


def claim(
    *,
    session: Session,
    delivery_id: int,
    now: datetime,
    stale_after: float,
    lease: float = DEFAULT_LEASE_SECONDS,
) -> bool:
    """Take the delivery for this worker for `lease` seconds, counting the attempt; False if
    someone else holds it or it is finished. A claim whose lease ran out belonged to a worker
    that died (its renewals stopped)."""
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery_id,
            or_(
                Delivery.status.in_((DeliveryStatus.RECEIVED, DeliveryStatus.RETRYING)),
                _taken_over(now, stale_after),
            ),
        )
        .values(
            status=DeliveryStatus.PROCESSING,
            claimed_at=now,
            lease_until=now + timedelta(seconds=lease),
            attempts=Delivery.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def renew_lease(*, session: Session, delivery_id: int, now: datetime, lease: float) -> bool:
    """Push the lease of a delivery still being handled `lease` seconds on; False once it is
    settled (nothing to hold)."""
    result = session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.status == DeliveryStatus.PROCESSING)
        .values(lease_until=now + timedelta(seconds=lease))
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


@contextmanager
def holding_lease(
    *,
    sessions: sessionmaker[Session],
    delivery_id: int,
    lease: float,
    now: Callable[[], datetime] = utcnow,
) -> Iterator[None]:
    """Renew the delivery's lease every third of it while the body runs. A worker that dies
    (SIGKILL, OOM, a lost machine) stops renewing, and the sweeper hands the delivery to
    another worker once the lease has run out: seconds, not the old ten-minute stall."""
    done = threading.Event()

    def renew() -> None:
        while not done.wait(lease / 3):
            try:
                with sessions() as session:
                    if not renew_lease(
                        session=session, delivery_id=delivery_id, now=now(), lease=lease
                    ):
                        return
            except OperationalError:
                # The write lock is busy (SQLite: this worker's own handler may hold it);
                # the next renewal comes well before the lease runs out.
                continue

    renewer = threading.Thread(target=renew, name=f"lease-{delivery_id}", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        done.set()
        renewer.join()


def process_delivery(
    *,
    sessions: sessionmaker[Session],
    delivery_id: int,
    handlers: Mapping[str, TopicHandler],
    max_attempts: int,
    stale_after: float,
    now: Callable[[], datetime] = utcnow,
    admin_for: Callable[[Shop], ShopifyAdmin] | None = None,
    tag_settings: ShopTagSettings | None = None,
    lease: float = DEFAULT_LEASE_SECONDS,
    keep_body: bool = False,
    cut_short_by: tuple[type[BaseException], ...] = (),
) -> Outcome:
    """Claim, handle and settle one delivery. Safe to call any number of times for the same id.
    The raw body goes in the transaction that finishes the delivery unless `keep_body` (a
    replay window, CLOUT_PAYLOAD_RETENTION_DAYS, then `purge_payloads`): once the rows it
    became are committed, nothing reads it, and kept it made the database grow with traffic.
    `cut_short_by`: what the worker raises when its time limit interrupts a handler (Celery's
    soft limit); such a delivery is tried again, as a Shopify outage is, not failed."""
    with sessions() as session:
        if not claim(
            session=session,
            delivery_id=delivery_id,
            now=now(),
            stale_after=stale_after,
            lease=lease,
        ):
            return Outcome(status="skipped")
    with holding_lease(sessions=sessions, delivery_id=delivery_id, lease=lease, now=now):
        return _process_claimed(
            sessions=sessions,
            delivery_id=delivery_id,
            handlers=handlers,
            max_attempts=max_attempts,
            now=now,
            admin_for=admin_for,
            tag_settings=tag_settings,
            keep_body=keep_body,
            cut_short_by=cut_short_by,
        )


def _process_claimed(
    *,
    sessions: sessionmaker[Session],
    delivery_id: int,
    handlers: Mapping[str, TopicHandler],
    max_attempts: int,
    now: Callable[[], datetime],
    admin_for: Callable[[Shop], ShopifyAdmin] | None,
    tag_settings: ShopTagSettings | None,
    keep_body: bool,
    cut_short_by: tuple[type[BaseException], ...] = (),
) -> Outcome:

    # What the delivery names and Clout lacks is read from Shopify first, outside the
    # handler's transaction; a body that cannot be read is the handler's to refuse.
    installed: bool | None = None
    asked_with: bytes | None = None
    try:
        installed, asked_with = _look_up_what_it_names(
            sessions=sessions, delivery_id=delivery_id, admin_for=admin_for
        )
    except IntegrityError:
        # Another worker stored the same order or customer a moment ago: the handler reads it.
        log.info("lookup_stored_meanwhile", delivery_id=delivery_id)

    error: BaseException | None = None
    with sessions() as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None:
            return Outcome(status="skipped")
        try:
            status, incidents, backfills = _handle(
                session=session,
                delivery=delivery,
                handlers=handlers,
                now=now(),
                tag_settings=tag_settings,
                keep_body=keep_body,
                installed=installed,
                asked_with=asked_with,
            )
            session.commit()
        except (TransientError, PermanentError, OperationalError, IntegrityError) as caught:
            # (IntegrityError: another worker stored the same row a moment ago; retried.)
            session.rollback()
            error = caught
        except cut_short_by:
            session.rollback()
            # A limit on time is no word on the delivery (a lock held elsewhere, a slow disk).
            log.warning("delivery_cut_short", delivery_id=delivery_id)
            error = TransientError("cut short by the worker's time limit")
        except Exception as caught:  # noqa: BLE001 - a bug must not lose the delivery
            session.rollback()
            # Where, not what: an exception's message can quote the customer's data.
            log.error(  # noqa: TRY400
                "handler_crashed",
                delivery_id=delivery_id,
                error=type(caught).__name__,
                at=_innermost_frame(caught),
            )
            error = caught
        else:
            log.info("delivery_processed", delivery_id=delivery_id, status=status)
            return Outcome(
                status=status,
                incidents=tuple(sorted(incidents)),
                backfills=tuple(sorted(backfills)),
            )

    return _settle_failure(
        sessions=sessions, delivery_id=delivery_id, error=error, max_attempts=max_attempts, now=now
    )


def _look_up_what_it_names(
    *,
    sessions: sessionmaker[Session],
    delivery_id: int,
    admin_for: Callable[[Shop], ShopifyAdmin] | None,
) -> tuple[bool | None, bytes | None]:
    """Reads Shopify for what the delivery names; for one that would disconnect or erase a
    store, whether the app is still installed there (`prepare.still_installed`), and the
    store's token as it was when Shopify was asked."""
    with sessions() as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None or delivery.body is None:
            return None, None
        shop_id = session.scalar(select(Shop.id).where(Shop.domain == delivery.shop_domain))
        key = handler_key(delivery.source, delivery.topic)
        try:
            payload = _payload(delivery)
        except PermanentError:
            return None, None
    if key is None:
        return None, None  # no handler would read it
    # The texts first, with no transaction open: the detector is the slow part of a handler.
    read_ahead(topic_key=key, payload=payload)
    if shop_id is not None and admin_for is not None:
        prepare_delivery(
            sessions=sessions,
            delivery_id=delivery_id,
            shop_id=shop_id,
            topic_key=key,
            payload=payload,
            admin_for=admin_for,
        )
    if shop_id is None:
        return None, None
    with sessions() as session:
        asked_with = session.scalar(select(Shop.access_token).where(Shop.id == shop_id))
    installed = still_installed(
        sessions=sessions, shop_id=shop_id, topic_key=key, admin_for=admin_for
    )
    return installed, asked_with


def _payload(delivery: Delivery) -> dict[str, Any]:
    """The delivery's body as a JSON object (a review platform's unparsed text under `_raw`:
    its normaliser reads it)."""
    body = delivery.body or b""
    try:
        parsed: object = json.loads(body)
        if db.may_be_unstorable(body):
            parsed = db.storable(parsed)
    except ValueError as error:
        if delivery.source == "shopify":
            raise PermanentError("body is not JSON") from error
        # `platforms.loads_lenient` reads it (and makes it storable) where it is used.
        parsed = {"_raw": body.decode("utf-8", "replace")}
    except RecursionError:
        # Nested past Python's limit: no sender means it, and it would fail every retry.
        raise PermanentError("body is nested too deeply") from None
    if not isinstance(parsed, dict):
        raise PermanentError("body is not a JSON object")
    return parsed


def _innermost_frame(error: BaseException) -> str:
    trace = error.__traceback__
    while trace is not None and trace.tb_next is not None:
        trace = trace.tb_next
    if trace is None:
        return "?"
    return f"{trace.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{trace.tb_lineno}"


def _handle(
    *,
    session: Session,
    delivery: Delivery,
    handlers: Mapping[str, TopicHandler],
    now: datetime,
    tag_settings: ShopTagSettings | None = None,
    keep_body: bool = False,
    installed: bool | None = None,
    asked_with: bytes | None = None,
) -> tuple[DeliveryStatus, set[int], set[int]]:
    key = handler_key(delivery.source, delivery.topic)
    handler = handlers.get(key) if key is not None else None
    shop = session.scalar(select(Shop).where(Shop.domain == delivery.shop_domain))
    if handler is None or shop is None or delivery.body is None:
        if shop is None:
            delivery.body = None  # a shop that is gone (erased, removed): keep none of its data
        _finish(delivery, DeliveryStatus.IGNORED, now, keep_body=keep_body)
        return DeliveryStatus.IGNORED, set(), set()
    payload = _payload(delivery)
    ctx = DeliveryContext(
        session=session,
        delivery=delivery,
        shop=shop,
        payload=payload,
        now=now,
        tag_settings=tag_settings(session, shop.id) if tag_settings is not None else None,
        installed=installed,
        asked_with=asked_with,
    )
    handler(ctx)
    if ctx.ignored is not None:
        _finish(delivery, DeliveryStatus.IGNORED, now, keep_body=keep_body)
        delivery.last_error = ctx.ignored
        return DeliveryStatus.IGNORED, set(), set()
    if ctx.incidents and not ctx.erased:
        # When the news first reached Clout: the start of "time from delivery to tag".
        session.execute(
            update(Incident)
            .where(Incident.id.in_(ctx.incidents), Incident.first_seen_at.is_(None))
            .values(first_seen_at=delivery.received_at)
            .execution_options(synchronize_session=False)
        )
    if not ctx.erased:
        _finish(delivery, DeliveryStatus.DONE, now, keep_body=keep_body)
    return DeliveryStatus.DONE, ctx.incidents, ctx.backfills


def _finish(delivery: Delivery, status: DeliveryStatus, now: datetime, *, keep_body: bool) -> None:
    if not keep_body:
        delivery.body = None
    delivery.status = status
    delivery.processed_at = now
    delivery.next_attempt_at = None
    delivery.last_error = None


def error_summary(error: BaseException | None) -> str:
    """What a delivery's `last_error` says: error text can quote a payload, so the type and
    our own message only, and for a database constraint its name (PostgreSQL's constraint, or
    SQLite's table and columns), never the values that broke it."""
    if isinstance(error, TransientError | PermanentError):
        return f"{type(error).__name__}: {error}"
    if isinstance(error, IntegrityError):
        return f"IntegrityError: {_broken_rule(error.orig)}".removesuffix(": ")
    return type(error).__name__


# sqlite3's own messages name the rule's kind and its columns ("UNIQUE constraint failed:
# customers.shop_id, customers.shopify_id"), never the values; any other text may quote them.
_SQLITE_RULE = re.compile(
    r"(?:UNIQUE|NOT NULL|CHECK|FOREIGN KEY) constraint failed(?:: [\w., ]{1,200})?"
)


def _broken_rule(orig: BaseException | None) -> str:
    diag = getattr(orig, "diag", None)  # psycopg's: the names of what broke, not its values
    if diag is not None:
        if diag.constraint_name:
            return str(diag.constraint_name)
        if diag.table_name and diag.column_name:  # a NOT NULL has no constraint name
            return f"{diag.table_name}.{diag.column_name}"
    if isinstance(orig, sqlite3.IntegrityError) and _SQLITE_RULE.fullmatch(str(orig)):
        return str(orig)
    return ""


def _settle_failure(
    *,
    sessions: sessionmaker[Session],
    delivery_id: int,
    error: BaseException | None,
    max_attempts: int,
    now: Callable[[], datetime],
) -> Outcome:
    # IntegrityError: another worker inserted the same row a moment ago; the retry finds it.
    transient = isinstance(error, TransientError | OperationalError | IntegrityError)
    reason = error_summary(error)
    with sessions() as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None:
            return Outcome(status="skipped")
        delivery.last_error = reason[:500]
        if transient and delivery.attempts < max_attempts:
            hinted = error.retry_after if isinstance(error, TransientError) else None
            delay = max(hinted or 0.0, backoff_seconds(delivery.attempts))
            delivery.status = DeliveryStatus.RETRYING
            delivery.next_attempt_at = now() + timedelta(seconds=delay)
            session.commit()
            log.warning(
                "delivery_retrying",
                delivery_id=delivery_id,
                attempt=delivery.attempts,
                retry_in=round(delay, 1),
                error=type(error).__name__,
            )
            return Outcome(status=DeliveryStatus.RETRYING, retry_in=delay)
        delivery.status = DeliveryStatus.DEAD if transient else DeliveryStatus.FAILED
        delivery.processed_at = now()
        session.commit()
        log.error(
            "delivery_gave_up",
            delivery_id=delivery_id,
            status=delivery.status,
            attempts=delivery.attempts,
            error=type(error).__name__,
        )
        return Outcome(status=delivery.status)


def due_for_sweep(
    *, session: Session, now: datetime, after: float, stale_after: float, limit: int = 500
) -> list[tuple[int, str]]:
    """Deliveries the bell should ring for again, with their shops: recorded but never picked
    up, a retry whose time passed without a worker taking it, or a claim left behind by a dead
    worker (its lease ran out)."""
    waited = now - timedelta(seconds=after)
    rows = session.execute(
        select(Delivery.id, Delivery.shop_domain)
        .where(
            or_(
                and_(Delivery.status == DeliveryStatus.RECEIVED, Delivery.received_at <= waited),
                and_(
                    Delivery.status == DeliveryStatus.RETRYING, Delivery.next_attempt_at <= waited
                ),
                _taken_over(now, stale_after),
            )
        )
        .order_by(Delivery.id)
        .limit(limit)
    ).all()
    return [(row[0], row[1]) for row in rows]


def last_lease_end(*, session: Session, now: datetime) -> datetime | None:
    """When the last lease still running ends: after a restart, the moment every claim a dead
    worker held has become free to take over (None when no lease is running)."""
    found = session.scalar(
        select(func.max(Delivery.lease_until)).where(
            Delivery.status == DeliveryStatus.PROCESSING, Delivery.lease_until > now
        )
    )
    if isinstance(found, str):  # SQLite's max() bypasses the column type
        found = datetime.fromisoformat(found)
    if found is not None and found.tzinfo is None:
        found = found.replace(tzinfo=now.tzinfo)
    return found


def requeue(*, session: Session, delivery_id: int) -> bool:
    """An operator's retry of a failed or dead delivery."""
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery_id,
            Delivery.status.in_((DeliveryStatus.FAILED, DeliveryStatus.DEAD)),
        )
        .values(status=DeliveryStatus.RECEIVED, attempts=0, last_error=None, processed_at=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def purge_payloads(*, session: Session, now: datetime, retention_days: float) -> int:
    """Drop raw bodies of settled deliveries after the retention period: the normalised rows
    keep what Clout needs, and a raw payload is personal data Clout no longer has a use for."""
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.status.in_((DeliveryStatus.DONE, DeliveryStatus.IGNORED)),
            Delivery.processed_at <= now - timedelta(days=retention_days),
            Delivery.body.is_not(None),
        )
        .values(body=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class DeliveryStats:
    by_topic_status: dict[tuple[str, str, str], int]
    oldest_pending_age: float | None
    attempts_retrying: int


def delivery_stats(*, session: Session, now: datetime) -> DeliveryStats:
    counts = session.execute(
        select(Delivery.source, Delivery.topic, Delivery.status, func.count()).group_by(
            Delivery.source, Delivery.topic, Delivery.status
        )
    ).all()
    oldest = session.scalar(
        select(func.min(Delivery.received_at)).where(Delivery.status.in_(PENDING_DELIVERIES))
    )
    if isinstance(oldest, str):  # SQLite's min() bypasses the column type
        oldest = datetime.fromisoformat(oldest)
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=now.tzinfo)
    retrying = session.scalar(
        select(func.count()).select_from(Delivery).where(Delivery.status == DeliveryStatus.RETRYING)
    )
    return DeliveryStats(
        by_topic_status={(s, t, st): n for s, t, st, n in counts},
        oldest_pending_age=(now - oldest).total_seconds() if oldest else None,
        attempts_retrying=int(retrying or 0),
    )
