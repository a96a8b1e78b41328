"""Migrations run up from an empty database, and back down, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

from service.cli import main
from service.core import db
from service.core.models import Base

NOW = datetime(2026, 11, 1, tzinfo=UTC)


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


def test_upgrading_to_people_keys_fills_the_keys_of_rows_already_stored(
    empty_database: str,
) -> None:
    # given a database at 0010 holding a customer and an order that used her referral code
    db.upgrade(empty_database, "0010")
    engine = sa.create_engine(empty_database)
    meta = sa.MetaData()
    with engine.begin() as connection:
        meta.reflect(connection, only=["shops", "customers", "orders"])
        shops, customers, orders = (meta.tables[n] for n in ("shops", "customers", "orders"))
        connection.execute(
            sa.insert(shops).values(
                id=1, domain="old.myshopify.com", status="active", installed_at=NOW
            )
        )
        connection.execute(
            sa.insert(customers).values(
                id=1,
                shop_id=1,
                shopify_id="gid://shopify/Customer/1",
                first_name="Maya",
                last_name="Lind",
                email="Maya@Acme.example",
                default_address={"address1": "1 Elm St", "zip": "1000"},
            )
        )
        connection.execute(
            sa.insert(orders).values(
                id=1,
                shop_id=1,
                shopify_id="gid://shopify/Order/1",
                customer_id=1,
                discount_codes={"codes": [{"code": "MAYA10"}]},
                shipping_address={"name": "Rosa Lind", "address1": "9 Oak Rd", "zip": "2000"},
            )
        )

    # when it is upgraded
    db.upgrade(empty_database)

    # then the stored rows carry their keys, and the order its mention
    with engine.connect() as connection:
        keys = connection.execute(
            sa.text(
                "SELECT name_key, first_name_key, email_key, workplace_domain, home_key"
                " FROM customers"
            )
        ).one()
        shipped = connection.execute(sa.text("SELECT ship_key, ship_name FROM orders")).one()
        mentions = connection.execute(sa.text("SELECT kind, key FROM order_mentions")).all()
    engine.dispose()
    assert tuple(keys) == (
        "maya lind",
        "MAYA",
        "maya@acme.example",
        "acme.example",
        "1 elm st 1000",
    )
    assert tuple(shipped) == ("9 oak rd 2000", "rosa lind")
    assert [tuple(m) for m in mentions] == [("referral", "MAYA")]


def test_clout_db_upgrade_says_from_which_migration_to_which(empty_database: str) -> None:
    # given a database one migration behind this Clout
    head = db.head_revision(empty_database)
    db.upgrade(empty_database)
    db.downgrade(empty_database, "-1")
    before = db.current_revision(empty_database)
    env = {
        "CLOUT_DATABASE_URL": empty_database,
        "SHOPIFY_API_SECRET": "s" * 32,
        # a shared database (PostgreSQL) needs the install's key; SQLite's is generated
        "CLOUT_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    }

    # when the operator upgrades it, then asks again
    first = CliRunner(env=env).invoke(main, ["db", "upgrade"])
    again = CliRunner(env=env).invoke(main, ["db", "upgrade"])

    # then each answer says where the database was and where it is now
    assert first.exit_code == 0, first.output
    assert first.output.strip() == f"database upgraded from {before} to {head}"
    assert again.output.strip() == f"database already at {head}: nothing to do"
