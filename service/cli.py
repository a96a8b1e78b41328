"""The `clout` command: run the service, connect stores, look after deliveries."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import click
import sqlalchemy.exc
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from service.agents.accounts import MIN_PASSWORD_LENGTH, AgentError, disable_agent, save_agent
from service.app import create_app
from service.attention.fairness import MIN_CASES, fairness, too_few, warnings
from service.attention.pending import is_pending
from service.commands.common import (
    RECORD_ID,
    celery_for,
    connected_shop,
    json_line,
    plain,
    ring_attendance,
)
from service.commands.doctor import doctor
from service.commands.incidents import incidents_group
from service.commands.reviews import reviews_group
from service.commands.settings import settings_group
from service.commands.subscriptions import (
    shops_check,
    subscribe_new_store,
    take_workspace_out,
    workspace_summary,
)
from service.compliance import redact_shop
from service.core import db, processes
from service.core.config import ConfigError, Settings, load_settings
from service.core.crypto import generate_key, vault_for
from service.core.embedded_redis import EmbeddedRedis, EmbeddedRedisError, start_embedded_redis
from service.core.errors import TransientError
from service.core.logs import configure_logging
from service.core.models import (
    Agent,
    Backfill,
    Customer,
    DataRequest,
    Delivery,
    Incident,
    InfluenceProfile,
    Shop,
    utcnow,
)
from service.core.private import private_dir
from service.core.vocabulary import DeliveryStatus
from service.deliveries import backfill as history_import
from service.deliveries.lifecycle import enqueue_delivery, requeue
from service.influence import profiles
from service.influence.klout import HttpKloutProvider
from service.shopify import history, shops
from service.shopify.shops import find_shop
from service.signals import events, labels, text


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(overrides)
    except ConfigError as error:
        raise click.UsageError(str(error)) from None


@contextmanager
def _session(settings: Settings) -> Iterator[Session]:
    engine = db.make_engine(settings.database_url)
    try:
        with db.session_scope(db.make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


class _Clout(click.Group):
    """`clout`: a database it cannot use is one line naming the setting, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except sqlalchemy.exc.DBAPIError as error:
            if not isinstance(
                error, sqlalchemy.exc.OperationalError | sqlalchemy.exc.ProgrammingError
            ):
                raise
            lines = str(error.orig or "").strip().splitlines()
            said = lines[0] if lines else type(error.orig or error).__name__
            behind = ("no such table", "no such column", "relation", "column")
            if any(words in said for words in behind) and "connection" not in said:
                raise click.ClickException(
                    f"the database (CLOUT_DATABASE_URL) is not at this Clout's schema ({said}): "
                    "run `clout db upgrade`"
                ) from None
            if "locked" in said:
                raise click.ClickException(
                    "the database (CLOUT_DATABASE_URL) is busy: another process holds its "
                    f"write lock ({said}); try again in a moment"
                ) from None
            raise click.ClickException(
                f"the database (CLOUT_DATABASE_URL) cannot be used: {said}"
            ) from None


@click.group(cls=_Clout, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Clout: every unhappy Shopify customer gets the attention tag, a priority and a deadline."""
    # A command's own output is for the person who ran it: only warnings and errors are logged
    # beside it (as JSON on stderr, scrubbed like the services' logs). The long-running
    # commands set CLOUT_LOG_LEVEL's level when they build the app.
    configure_logging(os.environ.get("CLOUT_LOG_LEVEL", "WARNING").upper())


# --- running -----------------------------------------------------------------------------------


@main.command()
@click.option("--port", default=8000, show_default=True, help="Port for the web app.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--workers", "web_workers", default=2, show_default=True, help="Web processes.")
@click.option("--concurrency", default=2, show_default=True, help="Worker processes.")
def serve(port: int, host: str, web_workers: int, concurrency: int) -> None:
    """Web, worker and beat together on the embedded default: SQLite ./clout.db and an
    embedded Redis in the data directory. No external server needed. Ctrl-C stops it all."""
    settings = _settings()
    lock = _claim(settings.data_dir, host=host, port=port)
    me = [sys.executable, "-m", "service.cli"]
    commands = {
        "web": [*me, "web", "--port", str(port), "--host", host, "--workers", str(web_workers)],
        "worker": [*me, "worker", "--concurrency", str(concurrency)],
        "beat": [*me, "beat"],
    }
    children = processes.Children(keep_fds=(lock,))
    redis_server = None
    asked = 0  # how many times a stop was asked for: a second Ctrl-C stops at once

    def stop(_signum: int, _frame: Any) -> None:
        nonlocal asked
        asked += 1

    # From here a Ctrl-C (SIGTERM, or the terminal hanging up) asks for a stop, taken at the
    # next step: one while Redis or the migrations start lets them finish and starts nothing.
    for stopped_by in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(stopped_by, stop)
    try:
        env = processes.children_env(dict(os.environ))
        if settings.redis_url is None:
            redis_server = start_embedded_redis(settings.data_dir)
            env["CLOUT_REDIS_URL"] = f"unix://{redis_server.socket_file}"
        env["CLOUT_DATABASE_URL"] = settings.database_url
        env["CLOUT_DATA_DIR"] = str(settings.data_dir)
        if not asked:
            before, after = db.upgrade(settings.database_url)
            if before is not None and before != after:
                click.echo(f"database upgraded from {before} to {after}")
        for name, command in commands.items():
            if asked:
                break
            # umask 077: whatever the children write (the beat schedule, the database's
            # journal) is the owner's alone, however this shell was set up.
            children.start(name, command, env=env, umask=0o077)
        if not asked:
            click.echo(
                f"Clout is running on http://{host}:{port} (database {settings.database_url}, "
                f"data in {settings.data_dir}). Ctrl-C stops it.",
                err=True,
            )
        exited = children.watch(until=lambda: asked > 0, also=_tend_redis(redis_server))
        if exited:
            click.echo(f"clout {exited} exited unexpectedly; stopping.", err=True)
    finally:
        if asked:
            click.echo(
                "Stopping: web, worker and beat finish what they took on "
                "(Ctrl-C again to stop at once).",
                err=True,
            )
        told = asked

        def hurried() -> None:
            click.echo(
                "Stopping now: requests and tasks under way are cut off (Shopify sends an "
                "unanswered webhook again; a task is redelivered).",
                err=True,
            )

        children.stop(hurry=lambda: asked > told, hurried=hurried)
        if redis_server is not None:
            redis_server.stop()
    if not asked:
        sys.exit(1)


def _claim(data_dir: Path, *, host: str, port: int) -> int:
    """The data directory for this serve alone, and the port free, before anything starts;
    the descriptor holding the directory's lock."""
    private_dir(data_dir)
    url = f"http://{host}:{port}"
    try:
        lock = processes.hold_data_dir(data_dir, url=url)
    except processes.FolderInUse as running:
        # A serve that was killed leaves its web, worker and beat stopping for a while (a
        # request or task under way): whatever restarts serve at once waits for them.
        if not running.serve_alive:
            click.echo(
                f"waiting for the web, worker and beat of a `clout serve` that ended (pid "
                f"{running.pid}) to stop…",
                err=True,
            )
        deadline = time.monotonic() + CHILDREN_STOP_SECONDS
        while not running.serve_alive and time.monotonic() < deadline:
            time.sleep(0.5)
            try:
                lock = processes.hold_data_dir(data_dir, url=url)
                break
            except processes.FolderInUse as still:
                running = still
        else:
            _refuse_folder(data_dir, running)
    if processes.port_in_use(host, port):
        raise click.ClickException(
            f"port {port} on {host} is in use (another `clout serve` or `clout demo`?): "
            "stop it, or choose another port with --port"
        )
    return lock


# gunicorn's graceful stop takes up to 30 s, a task its time limit: a little more than the first.
CHILDREN_STOP_SECONDS = 45.0


def _refuse_folder(data_dir: Path, running: processes.FolderInUse) -> NoReturn:
    """Say who holds the data directory, and stop."""
    if not running.serve_alive:
        raise click.ClickException(
            f"the web, worker or beat of a `clout serve` that ended (pid {running.pid}) "
            f"still run on {data_dir}: stop them (`fuser {data_dir / processes.SERVE_LOCK}` "
            "names them)"
        )
    where = ", ".join(
        str(w) for w in (f"pid {running.pid}" if running.pid else None, running.url) if w
    )
    raise click.ClickException(
        f"`clout serve` is already running on {data_dir} ({where}): stop it first "
        "(Ctrl-C where it runs), or start this one in another folder or with another "
        "CLOUT_DATA_DIR"
    )


REDIS_RESTARTS = 3  # within REDIS_RESTART_WINDOW seconds; one more and serve stops
REDIS_RESTART_WINDOW = 60.0


def _tend_redis(server: EmbeddedRedis | None) -> Callable[[], str | None]:
    """For `Children.watch`: the embedded Redis started again each time it dies, as long as it
    does not keep dying; "redis" once it will not stay up (serve stops, as for any child)."""
    restarts: list[float] = []

    def tend() -> str | None:
        if server is None:
            return None
        now = time.monotonic()
        if server.process.poll() is not None:
            restarts[:] = [t for t in restarts if now - t < REDIS_RESTART_WINDOW]
            if len(restarts) >= REDIS_RESTARTS:
                return "redis"
            restarts.append(now)
        try:
            if server.revive():
                click.echo(
                    "the embedded Redis stopped; started it again (deliveries that came "
                    "meanwhile were recorded, and are processed now)",
                    err=True,
                )
        except EmbeddedRedisError as error:
            click.echo(str(error), err=True)
            return "redis"
        return None

    return tend


@main.command()
@click.option("--port", default=8000, show_default=True)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on: this machine only unless told (0.0.0.0 behind the proxy).",
)
@click.option("--workers", default=4, show_default=True, help="gunicorn worker processes.")
@click.option("--threads", default=4, show_default=True, help="Threads per worker.")
def web(port: int, host: str, workers: int, threads: int) -> None:
    """The web app under gunicorn (production), meant to sit behind a reverse proxy that
    buffers whole requests (deploy/nginx/): a gthread worker gives a connection a thread until
    its request is whole, so clients sending slowly can hold every thread."""
    processes.stop_with_parent()
    # Only `clout web` runs gunicorn; the other commands should not pay for importing it.
    from gunicorn.app.base import BaseApplication  # noqa: PLC0415

    from service.core.gunicorn_logs import GunicornToClout  # noqa: PLC0415

    try:
        flask_app = create_app()
    except ConfigError as error:
        raise click.UsageError(str(error)) from None

    class Gunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", threads)
            self.cfg.set("timeout", 30)
            self.cfg.set("keepalive", 5)  # Shopify reuses connections
            self.cfg.set("accesslog", None)
            # Its own lines as Clout's are: JSON on stderr, through the same scrubber.
            self.cfg.set("logger_class", GunicornToClout)
            # gunicorn 25.1+ opens a control socket (for `gunicornc`) in the user's home;
            # nothing of Clout's uses it, and a service should leave no file behind there.
            if "control_socket_disable" in self.cfg.settings:
                self.cfg.set("control_socket_disable", True)

        def load(self) -> Any:
            return flask_app

    Gunicorn().run()


def _celery() -> Any:
    try:
        return create_app().extensions["celery"]
    except ConfigError as error:
        raise click.UsageError(str(error)) from None


@main.command()
@click.option("--concurrency", default=2, show_default=True)
def worker(concurrency: int) -> None:
    """A Celery worker (production)."""
    processes.stop_with_parent()
    settings = _settings()
    celery = _celery()
    celery.worker_main(
        [
            "worker",
            # The operator's level (CLOUT_LOG_LEVEL), not Celery's own INFO: a line per task
            # received and succeeded is most of a busy worker's output.
            f"--loglevel={settings.log_level}",
            f"--concurrency={concurrency}",
            "--pool=prefork",
            "--queues=clout",
            "--without-mingle",
            "--without-gossip",
        ]
    )


@main.command()
def beat() -> None:
    """The Celery beat scheduler: sweeper, payload purge (production: run exactly one)."""
    processes.stop_with_parent()
    settings = _settings()
    celery = _celery()
    schedule = settings.data_dir / "beat-schedule"
    celery.start(["beat", f"--loglevel={settings.log_level}", f"--schedule={schedule}"])


@main.group("db")
def db_group() -> None:
    """Database migrations."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations (run before starting a new version)."""
    settings = _settings()
    before, after = db.upgrade(settings.database_url, revision)
    click.echo(
        f"database already at {after}: nothing to do"
        if before == after
        else f"database upgraded from {before or 'empty'} to {after}"
    )


@db_group.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION ("base" for empty)."""
    settings = _settings()
    db.downgrade(settings.database_url, revision)
    click.echo(f"database at {revision}")


@main.group("keys")
def keys_group() -> None:
    """Encryption keys for access tokens at rest."""


@keys_group.command("generate")
def keys_generate() -> None:
    """Print a new CLOUT_ENCRYPTION_KEY."""
    click.echo(generate_key())


# --- stores -----------------------------------------------------------------------------------


@main.group("shops")
def shops_group() -> None:
    """The stores Clout serves."""


@shops_group.command("add")
@click.argument("domain")
@click.option("--token", required=True, help="The custom app's Admin API access token.")
@click.option(
    "--review-secret",
    "review_secrets",
    multiple=True,
    metavar="PROVIDER=SECRET",
    help="A review platform's webhook secret for this store (repeatable).",
)
def shops_add(domain: str, token: str, review_secrets: tuple[str, ...]) -> None:
    """Connect SHOP.myshopify.com with a custom app's Admin API access token.

    The token is checked with one Admin API call before it is stored (encrypted); then every
    topic Clout handles is subscribed at CLOUT_PUBLIC_URL/webhooks/shopify, and the store's
    history (customers and orders) is imported in the background (`clout shops backfill`)."""
    settings = _settings()
    try:
        domain = shops.normalise_shop_domain(domain)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="DOMAIN") from None
    try:
        secrets = shops.parse_review_secrets(review_secrets)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--review-secret") from None
    try:
        with shops.http_client() as http:
            name = shops.check_token(
                settings=settings, domain=domain, access_token=token, http=http
            )
    except shops.ShopCheckFailed as error:
        raise click.ClickException(str(error)) from None
    db.upgrade(settings.database_url)
    with _session(settings) as session:
        shop = shops.register_shop(
            session=session,
            vault=vault_for(settings),
            domain=domain,
            access_token=token,
            now=utcnow(),
            review_secrets=secrets,
        )
        backfill = history.request_on_connect(session=session, shop=shop, now=utcnow())
    extra = f" with review secrets for {', '.join(sorted(secrets))}" if secrets else ""
    click.echo(f"connected {domain} ({name}){extra}")
    for line in subscribe_new_store(settings=settings, domain=domain):
        click.echo(line)
    for line in workspace_summary(settings=settings, domain=domain):
        click.echo(line)
    if backfill is not None:
        # Rung now when a broker is configured; otherwise `clout serve`'s beat starts it.
        celery = celery_for(settings)
        if celery is not None:
            history.ring_backfill(celery=celery, backfill_id=backfill.id)
            click.echo(
                f"importing its history in the background (`clout shops backfill {domain} "
                "--status` shows where it stands)"
            )
        else:
            click.echo(
                "its history (customers and orders) is to be imported: that starts when "
                f"`clout serve` runs, or now, here, with `clout shops backfill {domain} --resume`"
            )


@shops_group.command("list")
def shops_list() -> None:
    """The connected stores, and where the import of each one's history stands."""
    settings = _settings()
    with _session(settings) as session:
        stores = list(session.scalars(select(Shop).order_by(Shop.domain)))
        if not stores:
            click.echo("no store is connected (see `clout shops add`)")
        for shop in stores:
            latest = history.latest_backfill(session=session, shop=shop)
            imported = history.describe(latest) if latest else "not imported"
            click.echo(
                f"{shop.domain}\t{shop.status}\tinstalled {shop.installed_at:%Y-%m-%d}"
                f"\thistory {imported}"
            )


@shops_group.command("backfill")
@click.argument("domain")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Only orders placed on or after this day (YYYY-MM-DD); customers are all imported.",
)
@click.option("--status", "show_status", is_flag=True, help="Where the last import stands.")
@click.option(
    "--resume", is_flag=True, help="Carry on an unfinished import here instead of refusing."
)
def shops_backfill(domain: str, since: datetime | None, show_status: bool, resume: bool) -> None:
    """Import DOMAIN's history (its customers and their orders) through one Shopify bulk
    operation, here in the foreground, then rebuild its profiles.

    An import cut short resumes where it stopped (`--resume`); while one is unfinished another
    is refused. Without the read_all_orders permission Shopify shows only the last 60 days
    of orders, and the import says so."""
    settings = _settings()
    engine = db.make_engine(settings.database_url)
    sessions = db.make_session_factory(engine)
    try:
        with db.session_scope(sessions) as session:
            shop = find_shop(session=session, domain=domain)
            if shop is None:
                raise click.BadParameter(f"{domain} is not connected", param_hint="DOMAIN")
            if show_status:
                _echo_backfill(history.latest_backfill(session=session, shop=shop), domain)
                return
            backfill_id = _backfill_to_run(
                session=session,
                shop=shop,
                since=since.replace(tzinfo=UTC) if since else None,
                resume=resume,
            )
        step = _run_backfill(settings=settings, sessions=sessions, backfill_id=backfill_id)
        with db.session_scope(sessions) as session:
            _echo_backfill(session.get(Backfill, backfill_id), domain)
    finally:
        engine.dispose()
    if step.status == history.BackfillStatus.FAILED:
        sys.exit(1)
    if step.incidents:
        rung = ring_attendance(settings, list(step.incidents), shop=domain)
        click.echo(
            f"{len(step.incidents)} open incidents "
            + ("queued for attendance" if rung else "flagged: the sweeper attends them")
        )


def _backfill_to_run(*, session: Session, shop: Shop, since: datetime | None, resume: bool) -> int:
    if resume and history.unfinished_backfill(session=session, shop=shop) is None:
        last = history.latest_backfill(session=session, shop=shop)
        said = f"its last import is {history.describe(last)}" if last else "none was started"
        raise click.ClickException(
            f"{shop.domain}: nothing to resume ({said}); without --resume a new import starts"
        )
    try:
        return history.request_backfill(session=session, shop=shop, now=utcnow(), since=since).id
    except history.BackfillRunning as running:
        if not resume:
            raise click.ClickException(f"{running}; --resume carries it on here") from None
        return running.backfill_id


def _run_backfill(
    *, settings: Settings, sessions: sessionmaker[Session], backfill_id: int
) -> history_import.Step:
    """Advance the import to its end in this process, with progress bars."""
    bars: dict[str, Any] = {}
    shown = ExitStack()

    def preparing(objects: int) -> None:
        click.echo(f"Shopify is preparing the file: {objects:,} objects so far", err=True)

    def lines(done: int, total: int) -> None:
        if "lines" not in bars:
            bars["lines"] = shown.enter_context(
                click.progressbar(length=total, label="Importing", file=sys.stderr, show_pos=True)
            )
        bars["lines"].update(done - bars["lines"].pos)

    def profiled(count: int) -> None:
        if "profiles" not in bars:
            with db.session_scope(sessions) as session:
                customers = session.scalar(
                    select(func.count())
                    .select_from(Customer)
                    .join(Backfill, Backfill.shop_id == Customer.shop_id)
                    .where(Backfill.id == backfill_id)
                )
            bars["profiles"] = shown.enter_context(
                click.progressbar(
                    length=customers or 0,
                    label="Rebuilding profiles",
                    file=sys.stderr,
                    show_pos=True,
                )
            )
        bars["profiles"].update(count)

    watch = history_import.Watch(preparing=preparing, lines=lines, profiles=profiled)
    klout = None
    if settings.klout_provider_url:
        klout = HttpKloutProvider(
            url=settings.klout_provider_url, key=settings.klout_provider_key, cache=None
        )
    vault = vault_for(settings)
    pause = 0.5  # a small store's file is ready in moments; a large one's, minutes or hours
    with shops.http_client(timeout=30.0) as http, shown:
        try:
            while True:
                step = history_import.advance(
                    sessions=sessions,
                    backfill_id=backfill_id,
                    admin_for=lambda shop: shops.admin_for(
                        shop=shop, settings=settings, vault=vault, budget=None, http=http
                    ),
                    http=http,
                    klout=klout,
                    opt_out_tag=settings.opt_out_tag,
                    watch=watch,
                )
                if step.wait is None and not step.more and step.status in _UNFINISHED:
                    # Another importer (a worker of `clout serve`) moved it on meanwhile:
                    # follow it to its end rather than stop on a line that says "importing";
                    # if it stalls (its worker stopped), carry the import on here again.
                    click.echo("A worker is importing it now; following it here.", err=True)
                    followed = _follow_backfill(
                        sessions=sessions, backfill_id=backfill_id, lines=lines
                    )
                    if followed is not None:
                        return followed
                    click.echo("It stopped moving; carrying it on here.", err=True)
                    continue
                if step.wait is None:
                    return step
                time.sleep(min(step.wait, pause))
                pause = min(pause * 2, 5.0)
        except TransientError as error:
            raise click.ClickException(
                f"{error}. What was imported is kept: `--resume` carries on from there."
            ) from None


_UNFINISHED = (
    history.BackfillStatus.REQUESTED,
    history.BackfillStatus.RUNNING,
    history.BackfillStatus.IMPORTING,
)


FOLLOW_STALL_SECONDS = 60.0  # a worker's batch takes seconds; Shopify's file, polled, moves too


def _follow_backfill(
    *, sessions: sessionmaker[Session], backfill_id: int, lines: Callable[[int, int], None]
) -> history_import.Step | None:
    """Until the import another process carries on is finished (its row says so); None when
    its row has not moved for FOLLOW_STALL_SECONDS (that process stopped)."""
    seen: tuple[object, ...] = ()
    moved = time.monotonic()
    while time.monotonic() - moved < FOLLOW_STALL_SECONDS:
        with db.session_scope(sessions) as session:
            backfill = session.get(Backfill, backfill_id)
            if backfill is None:
                return history_import.Step(status=history.BackfillStatus.FAILED)
            if backfill.finished_at is not None:
                return history_import.Step(status=history.BackfillStatus(backfill.status))
            now_seen = (backfill.status, backfill.lines_done, backfill.object_count)
            if backfill.status == history.BackfillStatus.IMPORTING and backfill.object_count:
                lines(backfill.lines_done, max(backfill.object_count, backfill.lines_done))
        if now_seen != seen:
            seen, moved = now_seen, time.monotonic()
        time.sleep(1.0)
    return None


def _echo_backfill(backfill: Backfill | None, domain: str) -> None:
    if backfill is None:
        click.echo(f"{domain}: its history was never imported (`clout shops backfill {domain}`)")
        return
    click.echo(f"{domain}: history {history.describe(backfill)}")
    if backfill.since is not None:
        click.echo(f"  orders placed since {backfill.since:%Y-%m-%d}")
    if backfill.note:
        click.echo(f"  note: {backfill.note}")


@shops_group.command("remove")
@click.argument("domain")
@click.option("--yes", is_flag=True, help="Do not ask first (scripts).")
def shops_remove(domain: str, yes: bool) -> None:
    """Take Clout's saved views and segments out of the store, then disconnect it and erase
    everything Clout holds about it. Asks first, saying how much that is, unless --yes."""
    settings = _settings()
    with _session(settings) as session:
        shop = find_shop(session=session, domain=domain)
        if shop is None:
            raise click.BadParameter(f"{domain} is not connected", param_hint="DOMAIN")
        domain = shop.domain  # as stored, however it was typed
        held = {
            what: session.scalar(
                select(func.count()).select_from(table).where(table.shop_id == shop.id)
            )
            for what, table in (("customers", Customer), ("cases", Incident))
        }
    if not yes:
        # There is no undo: a mistyped domain of another connected store would erase its
        # customers, cases and history. Without a terminal nobody is there to answer, and a
        # script's input (a list of stores, say) must not be read as the answer.
        if not sys.stdin.isatty():
            click.echo(
                f"not removed: {domain} would lose everything Clout holds about it, and this is "
                "not a terminal to ask at; pass --yes to remove without asking",
                err=True,
            )
            raise SystemExit(1)
        erase = click.confirm(
            f"Erase everything Clout holds about {domain} ({held['customers']} customers, "
            f"{held['cases']} cases) and take its views and segments out? There is no undo "
            "(--yes skips this question)",
        )
        if not erase:
            click.echo(f"not removed: {domain} is still connected")
            raise SystemExit(1)
    # First, while the token still works: after the erasure Clout cannot reach the store.
    for line in take_workspace_out(settings=settings, domain=domain):
        click.echo(line)
    with _session(settings) as session:
        shop = find_shop(session=session, domain=domain)
        if shop is None:  # removed meanwhile by another command
            raise click.BadParameter(f"{domain} is not connected", param_hint="DOMAIN")
        redact_shop(session=session, shop=shop)
    click.echo(f"removed {domain}")


# --- agents ----------------------------------------------------------------------------------


@main.group("agents")
def agents_group() -> None:
    """Logins for the attention-queue page at /agents (self-hosted, outside the Shopify admin)."""


@agents_group.command("add")
@click.argument("email")
@click.option(
    "--shop", "domains", multiple=True, required=True, help="A shop they may see (repeatable)."
)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (scripts)."
)
def agents_add(email: str, domains: tuple[str, ...], password_stdin: bool) -> None:
    """Create an agent (or reset their password and shops). Asks for the password."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif not sys.stdin.isatty():
        raise click.UsageError(
            "no terminal to ask the password at: pass it on standard input with --password-stdin"
        )
    else:
        password = click.prompt(
            f"Password (at least {MIN_PASSWORD_LENGTH} characters)",
            hide_input=True,
            confirmation_prompt=True,
        )
    settings = _settings()
    db.upgrade(settings.database_url)
    try:
        with _session(settings) as session:
            agent = save_agent(
                session=session, email=email, password=password, shop_domains=domains, now=utcnow()
            )
            shops = ", ".join(s.domain for s in agent.shops)
    except AgentError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{email.strip().lower()} may sign in at /agents and see {shops}")


@agents_group.command("list")
def agents_list() -> None:
    """Agents and the shops each may see."""
    settings = _settings()
    with _session(settings) as session:
        for agent in session.scalars(select(Agent).order_by(Agent.email)):
            state = "disabled" if agent.disabled_at else "active"
            shops = ",".join(s.domain for s in agent.shops)
            click.echo(f"{agent.email}\t{state}\t{shops}")


@agents_group.command("remove")
@click.argument("email")
def agents_remove(email: str) -> None:
    """Stop an agent signing in (their open pages stop working at the next request)."""
    settings = _settings()
    with _session(settings) as session:
        if not disable_agent(session=session, email=email, now=utcnow()):
            raise click.BadParameter(f"no agent {email}", param_hint="EMAIL")
    click.echo(f"{email} can no longer sign in")


# --- profiles --------------------------------------------------------------------------------


@main.group("profiles")
def profiles_group() -> None:
    """Influence profiles: clout and Klout side by side."""


@profiles_group.command("rebuild")
@click.option("--shop", "domain", help="SHOP.myshopify.com; needed when several are connected.")
def profiles_rebuild(domain: str | None) -> None:
    """Recompute every customer's profile in a shop."""
    settings = _settings()
    klout = None
    if settings.klout_provider_url:
        klout = HttpKloutProvider(
            url=settings.klout_provider_url, key=settings.klout_provider_key, cache=None
        )
    with _session(settings) as session:
        shop = connected_shop(session, domain)
        total = (
            session.scalar(
                select(func.count()).select_from(Customer).where(Customer.shop_id == shop.id)
            )
            or 0
        )
        label = f"Profiling {shop.domain}"
        with click.progressbar(length=total, label=label, file=sys.stderr) as bar:

            def batch_done(count: int) -> None:
                # A transaction per batch, with a pause between: one for the whole shop held
                # SQLite's write lock from intake for as long as the rebuild ran.
                session.commit()
                db.give_way(session)
                bar.update(count)

            done = profiles.rebuild_shop(
                session=session,
                shop=shop,
                klout=klout,
                opt_out_tag=settings.opt_out_tag,
                now=utcnow(),
                progress=batch_done,
            )
    click.echo(f"{done} profiles rebuilt")


@profiles_group.command("show")
@click.option("--shop", "domain", help="SHOP.myshopify.com; needed when several are connected.")
@click.option("--top", default=10, show_default=True, help="The customers with the most clout.")
def profiles_show(domain: str | None, top: int) -> None:
    """The shop's customers with the most clout, both scores and their reasons."""
    settings = _settings()
    with _session(settings) as session:
        shop = connected_shop(session, domain)
        rows = session.execute(
            select(InfluenceProfile, Customer)
            .join(Customer, Customer.id == InfluenceProfile.customer_id)
            .where(InfluenceProfile.shop_id == shop.id, InfluenceProfile.clout_score.is_not(None))
            .order_by(InfluenceProfile.clout_score.desc())
            .limit(top)
        ).all()
        for profile, customer in rows:
            klout = "unknown" if profile.klout_score is None else f"{profile.klout_score:.0f}"
            # The merchant's own view of their customer (this is the merchant's terminal).
            name = " ".join(filter(None, (customer.first_name, customer.last_name)))
            click.echo(
                f"{plain(name or customer.shopify_id)}  ({plain(customer.shopify_id)})  "
                f"clout {profile.clout_score:.0f}  Klout {klout}"
            )
            for reason in (profile.reasons or {}).get("clout", []) + (profile.reasons or {}).get(
                "klout", []
            ):
                click.echo(f"    - {plain(reason)}")


# --- reports -------------------------------------------------------------------------------


@main.group("report")
def report_group() -> None:
    """Reports for the merchant."""


@report_group.command("fairness")
@click.option("--days", default=30, show_default=True, help="Incidents opened in the last N days.")
@click.option("--shop", "domain", help="One store (SHOP.myshopify.com); all stores without it.")
def report_fairness(days: int, domain: str | None) -> None:
    """Time to the attention tag and to resolution by influence band; warns when customers
    with less influence wait longer."""
    settings = _settings()
    with _session(settings) as session:
        shop_id = connected_shop(session, domain).id if domain else None
        stores = session.scalar(select(func.count()).select_from(Shop)) or 0
        figures = fairness(session=session, since=utcnow() - timedelta(days=days), shop_id=shop_id)
    if shop_id is None and stores > 1:
        # One store's slow answers to its quieter customers can hide in another's figures.
        click.echo(f"All {stores} stores together (--shop SHOP for one):")
    if not figures:
        click.echo("No incidents in that period.")
        return
    click.echo(
        f"{'influence':<10} {'incidents':>9} {'resolved':>8} "
        f"{'to tag (median)':>16} {'to resolve (median)':>20}"
    )
    for f in figures:
        tag = "—" if f.median_to_tag_seconds is None else f"{f.median_to_tag_seconds:.1f} s"
        resolve = "—" if f.median_to_resolve_hours is None else _hours(f.median_to_resolve_hours)
        click.echo(f"{f.band:<10} {f.incidents:>9} {f.resolved:>8} {tag:>16} {resolve:>20}")
    for warning in warnings(figures):
        click.echo(f"WARNING: {warning}")
    if too_few(figures):
        click.echo(
            f"(a band with too few cases beside the high band's, under {MIN_CASES}, "
            "is not compared)"
        )


def _hours(hours: float) -> str:
    return f"{hours * 60:.0f} min" if hours < 1 else f"{hours:.1f} h"


# --- text ----------------------------------------------------------------------------------


@main.group("text", invoke_without_command=True)
@click.option(
    "--note",
    is_flag=True,
    help="Read each line as an order, refund or return note: a complaint only if a case opens.",
)
@click.pass_context
def text_command(ctx: click.Context, note: bool) -> None:
    """Read review texts on standard input, one a line (`STARS<TAB>TEXT` when the rating is
    known), and print one JSON verdict a line: complaint, severity, reasons — the detector the
    workers use. With --note, each line is read as a note is (by a reason the rules read; the
    model's reading is still shown). `clout text export-labels` prints what the support desk
    labelled."""
    if ctx.invoked_subcommand is not None:
        return
    for number, line in enumerate(sys.stdin, start=1):
        stripped = line.rstrip("\n")
        if not stripped.strip():
            continue
        if note:  # a note has no stars: the whole line is its words
            words = stripped
            verdict = events.note_complaint(words) or dataclasses.replace(
                text.analyse(words),
                complaint=False,
                severity="none",
                reasons=[],
                sentences=[],
                by_model=False,
            )
        else:
            try:
                words, stars = text.parse_line(stripped)
            except text.NotARating as wrong:
                click.echo(f"line {number}: {plain(str(wrong))}: read without stars", err=True)
                words, stars = wrong.text, None
            verdict = text.analyse(words, stars=stars)
        click.echo(json_line({"text": words, **verdict.as_dict()}))


@text_command.command("export-labels")
@click.option(
    "--shop", "domain", default=None, help="One store (SHOP.myshopify.com); all by default."
)
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Only cases closed on or after this day (UTC).",
)
def text_export_labels(domain: str | None, since: datetime | None) -> None:
    """Print the customers' words of every closed case, one JSON object a line, labelled by the
    person who closed it: `complaint` false for "not a complaint", true for a resolved one. For
    the next training run (`tools/train_complaint_model.py --labels FILE`); redacted customers'
    words are never in it."""
    settings = _settings()
    with _session(settings) as session:
        shop = None
        if domain is not None:
            shop = find_shop(session=session, domain=domain)
            if shop is None:
                raise click.UsageError(f"{domain} is not a store Clout knows (clout shops list)")
        start = since.replace(tzinfo=UTC) if since is not None else None
        count = 0
        for example in labels.labelled_texts(session=session, shop=shop, since=start):
            click.echo(json_line(example.as_dict()))
            count += 1
    click.echo(f"{count} labelled texts", err=True)


# --- demo ------------------------------------------------------------------------------------


@main.command()
@click.option("--port", default=8000, show_default=True)
@click.option("--seed", default=7, show_default=True, help="Same seed, same store and same day.")
@click.option("--customers", default=300, show_default=True)
@click.option("--orders", default=2500, show_default=True)
@click.option("--unhappy", default=24, show_default=True, help="Unhappy customers in the day.")
@click.option("--timeout", default=180.0, show_default=True, help="Seconds to wait for tags.")
@click.option("--serve", is_flag=True, help="Keep everything running afterwards for a look around.")
def demo(
    port: int, seed: int, customers: int, orders: int, unhappy: int, timeout: float, serve: bool
) -> None:
    """The whole loop on a realistic generated store: exits 0 when every unhappy customer's
    order carries the attention tag."""
    from service.dev.demo import run  # noqa: PLC0415 - dev tools load only when asked for

    sys.exit(
        run(
            port=port,
            seed=seed,
            customers=customers,
            orders=orders,
            unhappy=unhappy,
            serve=serve,
            timeout=timeout,
        )
    )


# --- development --------------------------------------------------------------------------


@main.command()
@click.option("--port", default=9000, show_default=True)
@click.option("--shop", "domain", default="clout-demo.myshopify.com", show_default=True)
@click.option("--token", default="shpat_devstore_token", show_default=True)
@click.option("--seed", default=1, show_default=True, help="Same seed, same store.")
@click.option("--customers", default=300, show_default=True)
@click.option("--orders", default=2000, show_default=True)
@click.option("--bucket", default=1000.0, show_default=True, help="Query-cost bucket size.")
@click.option("--restore-rate", default=50.0, show_default=True, help="Points restored a second.")
@click.option(
    "--webhook-url",
    help="Send every webhook here (e.g. Clout's intake); without it, webhooks go where "
    "subscriptions made through the Admin API say, as Shopify's do.",
)
@click.option(
    "--webhook-secret", help="Sign webhooks with this (Clout's SHOPIFY_API_SECRET); sends them."
)
def devstore(
    port: int,
    domain: str,
    token: str,
    seed: int,
    customers: int,
    orders: int,
    bucket: float,
    restore_rate: float,
    webhook_url: str | None,
    webhook_secret: str | None,
) -> None:
    """A local Shopify Admin API emulator with a generated store (development and tests only).

    Point Clout at it with CLOUT_SHOPIFY_ADMIN_URL=http://127.0.0.1:PORT. Faults can be
    switched on with POST /devstore/faults, e.g. {"error_rate": 0.3, "storm_seconds": 10}."""
    from service.dev.devstore.seed import seed_store  # noqa: PLC0415 - dev tools load only when asked for
    from service.dev.devstore.server import DevAdmin, Plan, serving  # noqa: PLC0415 - dev tools load only when asked for
    from service.dev.devstore.store import DevStore  # noqa: PLC0415 - dev tools load only when asked for
    from service.dev.devstore.webhooks import WebhookSender  # noqa: PLC0415 - dev tools load only when asked for

    store = DevStore(domain)
    store.tokens.add(token)
    summary = seed_store(store, customers=customers, orders=orders, seed=seed)
    admin = DevAdmin(store, plan=Plan(maximum=bucket, restore_rate=restore_rate), seed=seed)
    sender = None
    if webhook_url and not webhook_secret:
        raise click.UsageError("--webhook-url needs --webhook-secret to sign deliveries")
    if webhook_secret:
        sender = WebhookSender(store, url=webhook_url, secret=webhook_secret).start()
    with serving(admin, port=port) as url:
        click.echo(
            f"devstore for {domain} on {url} — NOT for production.\n"
            f"  {summary.customers} customers, {summary.orders} orders "
            f"({summary.gift_orders} gifts, {summary.referral_redemptions} referral redemptions, "
            f"{summary.refunds} refunds, {summary.cancellations} cancellations)\n"
            f"  Admin API token: {token}\n"
            f"  Point Clout at it: CLOUT_SHOPIFY_ADMIN_URL={url} "
            f"clout shops add {domain} --token {token}\n"
            "Ctrl-C stops it."
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            if sender is not None:
                sender.stop()


# --- deliveries and compliance ---------------------------------------------------------------


@main.group("deliveries")
def deliveries_group() -> None:
    """Webhook deliveries Clout recorded."""


@deliveries_group.command("list")
@click.option(
    "--status",
    type=click.Choice([s.value for s in DeliveryStatus]),
    help="Only deliveries in this state.",
)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--shop", "domain", help="Only this store's (SHOP.myshopify.com).")
def deliveries_list(status: str | None, limit: int, domain: str | None) -> None:
    """The newest deliveries, with their outcome."""
    settings = _settings()
    query = select(Delivery).order_by(Delivery.id.desc()).limit(limit)
    if status:
        query = query.where(Delivery.status == status)
    with _session(settings) as session:
        if domain:
            query = query.where(Delivery.shop_domain == connected_shop(session, domain).domain)
        # A delivery processed while its customer's tag has not reached Shopify is not done
        # from the merchant's side: say so.
        waiting = set(
            session.scalars(
                select(Customer.shopify_id)
                .join(Incident, Incident.customer_id == Customer.id)
                .where(is_pending())
            )
        )
        shown = 0
        for d in session.scalars(query):
            if not shown:
                click.echo("id\tsource\ttopic\tshop\tstatus\tattempts\treceived\tlast error")
            shown += 1
            state = str(d.status)
            if d.status == DeliveryStatus.DONE and d.customer_ref in waiting:
                state = "done, tag pending in Shopify"
            click.echo(
                f"{d.id}\t{plain(d.source)}\t{plain(d.topic)}\t{plain(d.shop_domain)}\t{state}\t"
                f"{d.attempts}\t{d.received_at:%Y-%m-%dT%H:%M:%SZ}\t"
                f"{plain(d.last_error or '')}"
            )
    if not shown:
        click.echo(f"no {status} deliveries" if status else "no deliveries recorded")


@deliveries_group.command("retry")
@click.argument("delivery_id", type=RECORD_ID)
def deliveries_retry(delivery_id: int) -> None:
    """Process a failed or dead delivery again."""
    settings = _settings()
    with _session(settings) as session:
        if not requeue(session=session, delivery_id=delivery_id):
            raise click.BadParameter("no failed or dead delivery with that id")
        shop = session.scalar(select(Delivery.shop_domain).where(Delivery.id == delivery_id))
    celery = celery_for(settings)
    enqueued = celery is not None and enqueue_delivery(
        celery=celery, delivery_id=delivery_id, shop=shop or ""
    )
    click.echo(
        f"delivery {delivery_id} queued"
        if enqueued
        else f"delivery {delivery_id} marked for retry; the sweeper will queue it"
    )


@main.group("data-requests")
def data_requests_group() -> None:
    """Customers' data requests (customers/data_request), for the merchant to answer."""


@data_requests_group.command("list")
@click.option("--shop", "domain", help="Only this store.")
def data_requests_list(domain: str | None) -> None:
    """The customers' data requests Shopify sent, oldest first: `show ID` prints one."""
    settings = _settings()
    query = select(DataRequest, Shop.domain).join(Shop).order_by(DataRequest.id)
    if domain:
        query = query.where(Shop.domain == domain.lower())
    shown = 0
    with _session(settings) as session:
        for request, shop_domain in session.execute(query):
            click.echo(
                f"{request.id}\t{shop_domain}\trequest {plain(request.request_id)}\t"
                f"{plain(request.customer_ref)}\t{request.created_at:%Y-%m-%d}"
            )
            shown += 1
    if not shown:
        click.echo("no data requests" + (f" for {domain}" if domain else ""))


@data_requests_group.command("show")
@click.argument("request_id", type=RECORD_ID)
def data_requests_show(request_id: int) -> None:
    """Print everything Clout holds about the customer, as JSON, to send to them."""
    settings = _settings()
    with _session(settings) as session:
        request = session.get(DataRequest, request_id)
        if request is None:
            raise click.BadParameter("no data request with that id")
        click.echo(json.dumps(request.export, indent=2, sort_keys=True))


main.add_command(settings_group)
main.add_command(incidents_group)
main.add_command(doctor)
main.add_command(reviews_group)
shops_group.add_command(shops_check)

if __name__ == "__main__":
    main()
