"""Importing a store's history, from the request to the rebuilt profiles.

`advance` carries one `Backfill` as far as it can go: ask Shopify to run the history query
(`shopify.history`), wait while Shopify builds the file, import the file batch by batch, then
rebuild the shop's profiles and flag its open incidents for attendance, since a priority may
rise now that Clout knows who its customers are. A worker task runs it in slices
(`workers.tasks.backfill`), `clout shops backfill` in the foreground; both end the same way.

Plan → push → record, as everywhere: no transaction is open across a call to Shopify or a read
of the file. Each batch is its own short transaction that also moves `lines_done` on — only if
nobody else moved it meanwhile — so a crash mid-import resumes after the last batch written,
and two importers of the same file can never both write a batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from service.core.db import give_way, session_scope
from service.core.errors import PermanentError
from service.core.logs import get_logger
from service.core.models import Backfill, Incident, Shop, utcnow
from service.core.vocabulary import IncidentStatus
from service.influence.klout import KloutProvider
from service.influence.profiles import rebuild_shop
from service.shopify import documents, history
from service.shopify.admin import ShopifyAdmin
from service.shopify.history import BackfillStatus, BulkOperation
from service.signals.relink import relink_shop

log = get_logger(__name__)

BATCH_LINES = 500
POLL_SECONDS = 20.0  # how long Shopify is left to build the file before Clout asks again


@dataclass(frozen=True)
class Step:
    """How far `advance` got."""

    status: str
    # Shopify is still building the file: ask again after this many seconds.
    wait: float | None = None
    # Stopped at the deadline with lines left to import: advance again.
    more: bool = False
    # Open incidents to attend to again, now that the shop's profiles are rebuilt.
    incidents: tuple[int, ...] = field(default=())

    @property
    def finished(self) -> bool:
        return self.status in (BackfillStatus.COMPLETED, BackfillStatus.FAILED)


@dataclass(frozen=True)
class Watch:
    """Callbacks for a person watching (`clout shops backfill`): the bulk operation's running
    count of objects, lines imported, profiles rebuilt."""

    preparing: Callable[[int], None] | None = None
    lines: Callable[[int, int], None] | None = None  # (lines now done, lines in the file)
    profiles: Callable[[int], None] | None = None


class Superseded(Exception):
    """Another importer moved this backfill on (or it was finished) since this one looked."""


def advance(
    *,
    sessions: sessionmaker[Session],
    backfill_id: int,
    admin_for: Callable[[Shop], ShopifyAdmin],
    http: httpx.Client,
    klout: KloutProvider | None,
    opt_out_tag: str,
    now: Callable[[], datetime] = utcnow,
    deadline: float | None = None,
    batch_lines: int = BATCH_LINES,
    watch: Watch | None = None,
) -> Step:
    """Carry the backfill on until it is finished, Shopify is still at work (`wait`), or the
    monotonic `deadline` passes between batches (`more`). Shopify being unavailable raises
    ShopifyUnavailable (a TransientError): call again later, nothing is lost."""
    watch = watch or Watch()
    while True:
        with session_scope(sessions) as session:
            backfill = session.get(Backfill, backfill_id)
            shop = session.get(Shop, backfill.shop_id) if backfill is not None else None
            if backfill is None or shop is None:
                return Step(status=BackfillStatus.FAILED)
            if backfill.finished_at is not None:
                return Step(status=backfill.status)
            status = BackfillStatus(backfill.status)
        try:
            step = _stage(
                status,
                sessions=sessions,
                backfill_id=backfill_id,
                shop=shop,
                admin=admin_for(shop),
                http=http,
                klout=klout,
                opt_out_tag=opt_out_tag,
                now=now,
                deadline=deadline,
                batch_lines=batch_lines,
                watch=watch,
            )
        except Superseded:
            log.info("backfill_superseded", backfill_id=backfill_id)
            with session_scope(sessions) as session:
                backfill = session.get(Backfill, backfill_id)
                step = Step(status=backfill.status if backfill else BackfillStatus.FAILED)
        except PermanentError as error:
            # A refused token, a query Shopify will not run, a result that expired: trying
            # again cannot help. Said in the row, for `clout shops backfill --status`.
            _fail(sessions=sessions, backfill_id=backfill_id, reason=str(error), now=now())
            step = Step(status=BackfillStatus.FAILED)
        if step is not None:
            return step


def _stage(
    status: BackfillStatus,
    *,
    sessions: sessionmaker[Session],
    backfill_id: int,
    shop: Shop,
    admin: ShopifyAdmin,
    http: httpx.Client,
    klout: KloutProvider | None,
    opt_out_tag: str,
    now: Callable[[], datetime],
    deadline: float | None,
    batch_lines: int,
    watch: Watch,
) -> Step | None:
    """One stage of the import; None when the next one can follow at once."""
    if status == BackfillStatus.REQUESTED:
        _start(sessions=sessions, backfill_id=backfill_id, shop=shop, admin=admin, now=now())
        return None
    if status == BackfillStatus.RUNNING:
        waiting = _wait(
            sessions=sessions, backfill_id=backfill_id, admin=admin, watch=watch, now=now()
        )
        return Step(status=status, wait=POLL_SECONDS) if waiting else None
    done = _import(
        sessions=sessions,
        backfill_id=backfill_id,
        admin=admin,
        http=http,
        deadline=deadline,
        batch_lines=batch_lines,
        watch=watch,
    )
    if not done:
        return Step(status=status, more=True)
    incidents = _finish(
        sessions=sessions,
        backfill_id=backfill_id,
        klout=klout,
        opt_out_tag=opt_out_tag,
        now=now(),
        watch=watch,
    )
    return Step(status=BackfillStatus.COMPLETED, incidents=incidents)


def _start(
    *,
    sessions: sessionmaker[Session],
    backfill_id: int,
    shop: Shop,
    admin: ShopifyAdmin,
    now: datetime,
) -> None:
    scopes = shop.scopes
    if scopes is None:
        # A custom app's token says nothing of its scopes: ask (and remember) before deciding
        # which orders Shopify will let Clout read.
        scopes = ",".join(sorted(admin.access_scopes()))
        with session_scope(sessions) as session:
            session.execute(update(Shop).where(Shop.id == shop.id).values(scopes=scopes))
    with session_scope(sessions) as session:
        backfill = session.get(Backfill, backfill_id)
        since = backfill.since if backfill else None
    since, note = history.orders_window(scopes=scopes, since=since, now=now)
    operation = history.start(admin, documents.HISTORY.render(orders_since=since))
    with session_scope(sessions) as session:
        started = session.execute(
            update(Backfill)
            .where(Backfill.id == backfill_id, Backfill.status == BackfillStatus.REQUESTED)
            .values(
                status=BackfillStatus.RUNNING,
                bulk_operation_id=operation.id,
                since=since,
                note=note,
            )
        )
        if not _changed(started):
            # Someone else started it meanwhile; theirs is the one followed. Shopify finishes
            # this one for nobody (an app may run several bulk queries since 2026-01).
            raise Superseded
    log.info("backfill_started", backfill_id=backfill_id, bulk_operation=operation.id)


def _wait(
    *,
    sessions: sessionmaker[Session],
    backfill_id: int,
    admin: ShopifyAdmin,
    watch: Watch,
    now: datetime,
) -> bool:
    """Ask Shopify where the bulk operation stands and record it; True while it still runs."""
    with session_scope(sessions) as session:
        backfill = session.get(Backfill, backfill_id)
        gid = backfill.bulk_operation_id if backfill else None
    if gid is None:
        raise PermanentError("no bulk operation was recorded for this import")
    operation = BulkOperation.read(admin, gid)
    if operation is None:
        raise PermanentError(f"Shopify no longer knows the bulk operation {gid}")
    if watch.preparing is not None and operation.running:
        watch.preparing(operation.object_count)
    with session_scope(sessions) as session:
        backfill = session.get(Backfill, backfill_id)
        if backfill is None or backfill.status != BackfillStatus.RUNNING:
            raise Superseded
        backfill.object_count = operation.object_count
        if operation.running:
            return True
        if operation.status != "COMPLETED":
            code = operation.error_code or operation.status
            backfill.status = BackfillStatus.FAILED
            backfill.error = f"Shopify's bulk operation ended {operation.status} ({code})"
            backfill.finished_at = now
            return False
        backfill.status = BackfillStatus.IMPORTING
        backfill.result_url = operation.url  # None: nothing to import
    return False


def _import(
    *,
    sessions: sessionmaker[Session],
    backfill_id: int,
    admin: ShopifyAdmin,
    http: httpx.Client,
    deadline: float | None,
    batch_lines: int,
    watch: Watch,
) -> bool:
    """Import the file from where the last batch stopped; True once every line is in."""
    with session_scope(sessions) as session:
        backfill = session.get(Backfill, backfill_id)
        if backfill is None or backfill.status != BackfillStatus.IMPORTING:
            raise Superseded
        url, done, total = backfill.result_url, backfill.lines_done, backfill.object_count
        gid, shop_id = backfill.bulk_operation_id, backfill.shop_id
    if url is None:
        return True
    try:
        lines = history.result_lines(http=http, url=url, skip=done)
        first = next(lines, None)
    except history.ResultGone:
        # A signed URL lasts a while; Shopify signs a fresh one each time it is asked.
        operation = BulkOperation.read(admin, gid) if gid else None
        if operation is None or operation.url is None or operation.url == url:
            raise
        url = operation.url
        with session_scope(sessions) as session:
            session.execute(
                update(Backfill).where(Backfill.id == backfill_id).values(result_url=url)
            )
        lines = history.result_lines(http=http, url=url, skip=done)
        first = next(lines, None)
    batch: list[bytes] = [first] if first is not None else []
    with closing(lines):  # the download stops with the import, whatever stops it
        for line in lines:
            batch.append(line)
            if len(batch) < batch_lines:
                continue
            done = _write_batch(
                sessions=sessions, backfill_id=backfill_id, shop_id=shop_id, done=done, batch=batch
            )
            batch = []
            if watch.lines is not None:
                watch.lines(done, max(total, done))
            if deadline is not None and time.monotonic() >= deadline:
                return False
    if batch:
        done = _write_batch(
            sessions=sessions, backfill_id=backfill_id, shop_id=shop_id, done=done, batch=batch
        )
        if watch.lines is not None:
            watch.lines(done, max(total, done))
    return True


def _write_batch(
    *,
    sessions: sessionmaker[Session],
    backfill_id: int,
    shop_id: int,
    done: int,
    batch: list[bytes],
) -> int:
    """One batch in one transaction, with the count of lines done moved on only if it still
    says `done` (otherwise another importer wrote this batch already)."""
    with session_scope(sessions) as session:
        moved = session.execute(
            update(Backfill)
            .where(
                Backfill.id == backfill_id,
                Backfill.lines_done == done,
                Backfill.finished_at.is_(None),
            )
            .values(lines_done=done + len(batch))
        )
        if not _changed(moved):
            raise Superseded
        shop = session.get(Shop, shop_id)
        if shop is None:
            raise Superseded
        imported = history.import_lines(session=session, shop=shop, lines=batch)
        session.execute(
            update(Backfill)
            .where(Backfill.id == backfill_id)
            .values(
                customers=Backfill.customers + imported.customers,
                orders=Backfill.orders + imported.orders,
            )
        )
    give_way(session)
    return done + len(batch)


def _finish(
    *,
    sessions: sessionmaker[Session],
    backfill_id: int,
    klout: KloutProvider | None,
    opt_out_tag: str,
    now: datetime,
    watch: Watch,
) -> tuple[int, ...]:
    """Signals kept on stand-ins moved to the customers the history names, every profile of
    the shop rebuilt from its history (a transaction per batch of customers, so intake is never
    kept waiting), then its open incidents flagged for attendance: their priorities may rise.
    Returns those incidents."""
    with session_scope(sessions) as session:
        backfill = session.get(Backfill, backfill_id)
        shop = session.get(Shop, backfill.shop_id) if backfill else None
        if shop is None:
            raise Superseded
        # A dispute on an order Clout had not seen sits on a guest until the order is known:
        # the history may have just brought it, with its customer.
        relinked = relink_shop(session=session, shop=shop, now=now)
        session.commit()

        def batch_done(count: int) -> None:
            session.commit()
            give_way(session)
            if watch.profiles is not None:
                watch.profiles(count)

        rebuilt = rebuild_shop(
            session=session,
            shop=shop,
            klout=klout,
            opt_out_tag=opt_out_tag,
            now=now,
            progress=batch_done,
        )
    with session_scope(sessions) as session:
        incidents = tuple(
            session.scalars(
                select(Incident.id).where(
                    Incident.shop_id == shop.id, Incident.status == IncidentStatus.OPEN
                )
            )
        )
        if incidents:
            session.execute(
                update(Incident).where(Incident.id.in_(incidents)).values(needs_attention=True)
            )
        finished = session.execute(
            update(Backfill)
            .where(Backfill.id == backfill_id, Backfill.finished_at.is_(None))
            .values(status=BackfillStatus.COMPLETED, finished_at=now)
        )
        if not _changed(finished):
            raise Superseded
    log.info(
        "backfill_completed",
        backfill_id=backfill_id,
        profiles=rebuilt,
        incidents=len(incidents),
        relinked=len(relinked),
    )
    return incidents


def _fail(*, sessions: sessionmaker[Session], backfill_id: int, reason: str, now: datetime) -> None:
    log.warning("backfill_failed", backfill_id=backfill_id, reason=reason[:300])
    with session_scope(sessions) as session:
        session.execute(
            update(Backfill)
            .where(Backfill.id == backfill_id, Backfill.finished_at.is_(None))
            .values(status=BackfillStatus.FAILED, error=reason[:500], finished_at=now)
        )


def _changed(result: object) -> bool:
    return bool(getattr(result, "rowcount", 0))
