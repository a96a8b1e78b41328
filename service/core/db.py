"""Engines, sessions and migrations, the same way on SQLite (embedded) and PostgreSQL."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from service.core.private import private_sqlite

MIGRATIONS = Path(__file__).with_name("migrations")


def make_engine(url: str) -> Engine:
    """The engine for `url`. hide_parameters: an error's text never quotes the values of its
    statement (a customer's email, name or phone), wherever it ends up: a Celery task's
    failure is logged as it is, with no scrubbing."""
    if url.startswith("sqlite"):
        private_sqlite(url)  # before SQLite opens it: its -wal and -shm copy its permissions
        # web, worker and beat share one file: WAL lets readers and a writer overlap, and the
        # busy timeout turns a brief lock into a short wait instead of an error.
        # A locked database must turn into a 503 well inside Shopify's 5-second deadline.
        engine = create_engine(url, connect_args={"timeout": 4}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the sqlite3 module, open transactions: savepoints (used to
            # join a concurrently opened incident) only work that way.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=4000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Any) -> None:
            # IMMEDIATE: take the write lock up front, so two writers queue on the busy timeout
            # instead of one failing at once when its read turns into a write.
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(
        url,
        hide_parameters=True,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=5,
        pool_timeout=3,
        # A dead database must answer quickly so intake can say 503 well inside Shopify's 5 s.
        connect_args={"connect_timeout": 2} if url.startswith("postgresql") else {},
    )


# SQLite hands a freed write lock to whichever connection asks first, and one waiting on the
# busy timeout asks again only every 100 ms once it has waited a moment. A job that commits a
# batch and begins the next at once never leaves the lock free that long: every other writer
# (intake among them) waits until the job ends. A 20,000-customer shop's history (import, then
# profiles) kept intake waiting 17 s: 503s past its 4 s busy timeout, and Shopify's 5 s
# deadline missed. Between batches a job leaves it free a little longer than a waiter's poll.
GIVE_WAY_SECONDS = 0.12


def give_way(session: Session) -> None:
    """Between a long job's batches, once one is committed: on SQLite, leave the write lock
    free long enough for every writer waiting on it to take a turn. Nothing elsewhere."""
    if session.get_bind().dialect.name == "sqlite":
        time.sleep(GIVE_WAY_SECONDS)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def current_revision(url: str) -> str | None:
    """The migration the database is at (None: none yet)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision(url: str) -> str | None:
    """The newest migration this Clout has."""
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def upgrade(url: str, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate to `revision`; the migrations the database was at before and is at now."""
    private_sqlite(url)  # a migration may be what creates the database
    before = current_revision(url)
    command.upgrade(alembic_config(url), revision)
    return before, current_revision(url)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


# JSON can escape code points no text column holds, and either fails every retry of the
# delivery: U+0000 (PostgreSQL's text and JSONB refuse it; found by fuzzing the handlers) and
# half of a surrogate pair ("\ud83d", half an emoji: json.loads keeps it, and SQLite's,
# PostgreSQL's and fastText's UTF-8 encoders all refuse it). No sender means anything by either.
_UNSTORABLE_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def may_be_unstorable(raw: bytes) -> bool:
    """Whether JSON `raw` escapes a code point `storable` would change (a cheap look first)."""
    return _UNSTORABLE_ESCAPE.search(raw) is not None


def storable(value: Any) -> Any:
    """A parsed JSON value as a database can hold it: U+0000 dropped, a lone surrogate as
    U+FFFD (the replacement character), so the words around it are kept and read."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value.replace("\x00", ""))
    if isinstance(value, list):
        return [storable(v) for v in value]
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    return value


def can_store(text: str) -> bool:
    """Whether a database keeps `text` as it is: without U+0000 and without a lone surrogate.
    What a person typed (a note, a setting, a secret) is refused rather than changed when it is
    not: no one means either, and a saved value that differs from the one sent would be worse."""
    return "\x00" not in text and _LONE_SURROGATE.search(text) is None
