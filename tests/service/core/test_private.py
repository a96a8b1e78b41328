"""What Clout keeps on disk — the SQLite database with its journal files, the embedded Redis's
queue — is readable by its owner only, whatever the umask it was started with."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import redis
from sqlalchemy import text

from service.core.db import make_engine
from service.core.embedded_redis import start_embedded_redis
from service.core.state import stop_embedded_redis

pytestmark = pytest.mark.usefixtures("world_readable_umask")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_database_and_its_journal_files_are_the_owners_alone(tmp_path: Path) -> None:
    # given a new database, opened and written under umask 022
    database = tmp_path / "clout.db"
    engine = make_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE customers (email TEXT)"))
        connection.execute(text("INSERT INTO customers VALUES ('maya@example.org')"))

    # then it and the write-ahead log and shared memory beside it are 0600, while in use
    try:
        for path in (database, tmp_path / "clout.db-wal", tmp_path / "clout.db-shm"):
            assert path.exists(), path
            assert mode(path) == 0o600, path
    finally:
        engine.dispose()


def test_a_database_made_readable_by_an_earlier_version_is_closed_again(tmp_path: Path) -> None:
    database = tmp_path / "clout.db"
    database.touch(mode=0o644)
    (tmp_path / "clout.db-wal").touch(mode=0o644)

    make_engine(f"sqlite:///{database}").dispose()

    assert mode(database) == 0o600
    assert mode(tmp_path / "clout.db-wal") == 0o600


def test_the_embedded_redis_keeps_its_queue_in_the_owners_files(tmp_path: Path) -> None:
    # given the embedded Redis of `clout serve`, started under umask 022 in a new data directory
    data = tmp_path / "data"
    server = start_embedded_redis(data)
    try:
        # when it holds a queued task and saves a snapshot
        client = redis.Redis(unix_socket_path=server.socket_file)
        client.rpush("clout", "a delivery id")
        client.save()
        client.close()

        # then the directory, the snapshot and the append-only file are the owner's alone
        assert mode(data) == 0o700
        written = sorted(p.name for p in data.iterdir() if p.suffix in (".rdb", ".aof"))
        assert written == ["appendonly.aof", "redis.rdb"]
        for name in written:
            assert mode(data / name) == 0o600, name
    finally:
        stop_embedded_redis(server)
