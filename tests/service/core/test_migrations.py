"""Migrations run up from an empty database, and back down, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from service.core import db
from service.core.models import Base


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    server_url = os.environ.get("CLOUT_TEST_DATABASE_URL")
    if not server_url:
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server = make_url(server_url)
    name = f"clout_migrate_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield server.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def table_names(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_migrations_build_every_table_from_empty_and_remove_them_again(
    empty_database: str,
) -> None:
    expected = {table.name for table in Base.metadata.sorted_tables}

    db.upgrade(empty_database)
    assert table_names(empty_database) == expected

    db.downgrade(empty_database, "base")
    assert table_names(empty_database) == set()

    db.upgrade(empty_database)
    assert table_names(empty_database) == expected


def test_the_models_and_the_migrations_agree(empty_database: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    db.upgrade(empty_database)
    engine = sa.create_engine(empty_database)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()

    assert differences == []
