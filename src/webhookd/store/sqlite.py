"""The embedded default Store: one SQLite file, WAL mode.

All database work runs on one dedicated thread holding one connection, one hand-off
per transaction: the event loop never blocks on disk, and there is one writer path.
Writers take the lock up front (`BEGIN IMMEDIATE`); `busy_timeout` covers another
process (such as `webhookd emit`) writing the same file. New work wakes the
in-process worker through an asyncio.Event; other processes' work is found by polling.
Statements live in `sql/sqlite/queries.sql`; the transactions in programs.py.
"""

import asyncio
import sqlite3
import sys
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from webhookd.domain import clock
from webhookd.errors import Unavailable
from webhookd.store import migrations, queries
from webhookd.store.engine import ProgramStore
from webhookd.store.programs import Op, Program

T = TypeVar("T")
Q = queries.load("sqlite")
SWITCH_INTERVAL = 0.0005  # seconds


def _execute(conn: sqlite3.Connection, op: Op) -> Any:
    if not isinstance(op.params, Mapping):
        return conn.executemany(Q[op.query], op.params).rowcount
    cursor = conn.execute(Q[op.query], op.params)
    if op.returning == "all":
        return cursor.fetchall()
    if op.returning == "one":
        return cursor.fetchone()
    return cursor.rowcount


def _drive(conn: sqlite3.Connection, program: Program[T]) -> T:
    """Run a program's statements in order, feeding each result back to it."""
    try:
        op = next(program)
        while True:
            op = program.send(_execute(conn, op))
    except StopIteration as done:
        result: T = done.value
        return result


class SQLiteStore(ProgramStore):
    def __init__(self, path: Path) -> None:
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="webhookd-sqlite")
        self._conn: sqlite3.Connection | None = None
        self._work = asyncio.Event()

    async def run(
        self, program: Program[T], *, write: bool, announce: bool = False, durable: bool = True
    ) -> T:
        """Non-durable programs (claims, settles) commit with `synchronous=NORMAL`: no
        fsync of their own. The WAL is written in order, so the next durable commit (a
        publish, `synchronous=FULL`) syncs them too; a power cut may lose only the
        bookkeeping after the last durable commit, which makes a delivery be leased or
        sent again. A killed process loses nothing either way. The one writer thread
        no longer waits on the disk for every delivery."""

        def transaction() -> T:
            conn = self._conn
            if conn is None:
                raise Unavailable("The database is closed.")
            if not durable:
                conn.execute("PRAGMA synchronous = NORMAL")
            try:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    result = _drive(conn, program)
                except BaseException:
                    conn.rollback()
                    raise
                conn.commit()
            finally:
                if not durable:
                    conn.execute("PRAGMA synchronous = FULL")
            return result

        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(self._executor, transaction)
        except sqlite3.OperationalError as exc:
            raise Unavailable(f"The database is unavailable ({exc}); try again shortly.") from exc
        if announce:
            self._work.set()
        return result

    def _connect(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        self._conn = conn

    def _migrate(self) -> None:
        conn = self._conn
        assert conn is not None
        conn.execute("BEGIN IMMEDIATE")  # one process migrates; others wait, then see it done
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations"
                " (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"
            )
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for migration in migrations.load("sqlite"):
                if migration.version in done:
                    continue
                for statement in migrations.statements(migration.sql):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                    (migration.version, migration.name, clock.system_clock()),
                )
        except BaseException:
            conn.rollback()
            raise
        conn.commit()

    async def open(self) -> None:
        # The database thread takes the GIL back after every sqlite3 call; with the
        # default 5 ms switch interval it can wait that long behind a busy event loop,
        # several times per transaction (the profile's top item, and the latency tail).
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._connect)
            await loop.run_in_executor(self._executor, self._migrate)
        except sqlite3.Error as exc:
            raise Unavailable(f"Cannot open {self._path} ({exc}).") from exc

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await asyncio.get_running_loop().run_in_executor(self._executor, conn.close)
        self._executor.shutdown(wait=True)

    async def ping(self) -> None:
        def select_one() -> Program[None]:
            yield Op("ping", {}, "one")

        await self.run(select_one(), write=False)

    async def wait_for_work(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._work.wait(), timeout)
        except TimeoutError:
            return
        finally:
            self._work.clear()
