"""Files that hold access tokens, customers' data and the queue are their owner's alone,
whatever umask Clout was started with: the data directory is 0700, the SQLite database and the
journal files beside it, the embedded Redis's snapshot and append-only file are 0600.

SQLite makes a database's `-wal` and `-shm` with the database file's own permissions, so the
database file is created (or closed again) 0600 before SQLite opens it. Redis writes its files
under its process's umask: the embedded one is started with 077.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url

OWNER_ONLY_DIR = 0o700
OWNER_ONLY_FILE = 0o600
# What SQLite keeps beside a database file.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def private_dir(path: Path) -> Path:
    """`path`, made if missing, 0700 (an existing one is closed too)."""
    path.mkdir(mode=OWNER_ONLY_DIR, parents=True, exist_ok=True)
    path.chmod(OWNER_ONLY_DIR)
    return path


def private_file(path: Path) -> None:
    """An existing file made 0600; a missing one is left missing."""
    with contextlib.suppress(FileNotFoundError):
        path.chmod(OWNER_ONLY_FILE)


def sqlite_path(url: str) -> Path | None:
    """The file a SQLite URL names; None for another database or one in memory."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def private_sqlite(url: str) -> None:
    """Create the SQLite database file 0600 if it is missing, and close an existing one and its
    journal files to 0600. Whatever cannot be done here (a missing directory) is left for
    SQLite to report when it opens the file."""
    path = sqlite_path(url)
    if path is None:
        return
    with contextlib.suppress(FileNotFoundError, NotADirectoryError, FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY_FILE))
    for candidate in (path, *(path.with_name(path.name + end) for end in SQLITE_COMPANIONS)):
        with contextlib.suppress(NotADirectoryError):
            private_file(candidate)


@contextlib.contextmanager
def owner_only_umask() -> Iterator[None]:
    """Within: new files and directories of this process, and of the processes it starts, are
    the owner's alone. The umask is the process's: use it before other threads start."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)
