"""Another writer on a SQLite file — intake, a worker — waiting for the write lock while a long
job of Clout's runs, with Clout's busy handling (the sqlite3 module's busy timeout)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.engine import Engine


class WaitingWriter:
    """Told to (`ask`, or `ask_in_next_transaction` of an engine: while that transaction holds
    the lock, for begin listeners run after Clout's BEGIN IMMEDIATE), it asks for the write
    lock, then writes a row and commits. `got_in_after` is `progress()` at the moment it got
    the lock: how far the job had gone."""

    def __init__(self, database_url: str, progress: Callable[[], int]) -> None:
        self.path = database_url.removeprefix("sqlite:///")
        self.progress = progress
        self.go = threading.Event()
        self.got_in_after: int | None = None
        self._listening: list[tuple[Engine, Callable[[object], None]]] = []
        connection = sqlite3.connect(self.path, isolation_level=None)
        connection.execute("CREATE TABLE IF NOT EXISTS waiting_writer (id INTEGER PRIMARY KEY)")
        connection.close()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def ask(self) -> None:
        self.go.set()

    def ask_in_next_transaction(self, engine: Engine) -> None:
        def begun(_connection: object) -> None:
            self.go.set()

        event.listen(engine, "begin", begun, once=True)
        self._listening.append((engine, begun))

    def _run(self) -> None:
        if not self.go.wait(timeout=120):
            return
        connection = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        self.got_in_after = self.progress()
        connection.execute("INSERT INTO waiting_writer DEFAULT VALUES")
        connection.execute("COMMIT")
        connection.close()

    def done(self) -> None:
        self.go.set()  # never told: let the thread end
        self.thread.join(timeout=60)
        for engine, listener in self._listening:
            if event.contains(engine, "begin", listener):
                event.remove(engine, "begin", listener)


class Commits:
    """The engine's commits, counted as each begins (before the lock is free)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.count = 0
        event.listen(engine, "commit", self._committed)

    def _committed(self, _connection: object) -> None:
        self.count += 1

    def close(self) -> None:
        event.remove(self.engine, "commit", self._committed)
