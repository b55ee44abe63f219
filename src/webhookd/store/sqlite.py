"""The embedded default Store: one SQLite file, WAL mode.

Two connections. The API's durable writes (events, webhook changes) and its reads
that grow with the data (the queue's counts) run on one dedicated thread, one hand-off
per transaction, so the event loop never waits on an fsync for them. The worker's
queue bookkeeping (claims and settles: short, bounded batches that commit with
`synchronous=NORMAL`, so never an fsync) and the API's small reads (a page of the log,
a webhook) run on the event loop itself, on a second connection: a hand-off to the
thread and the GIL going back and forth cost more than the transaction
(docs/performance.md). Writes of
this process take turns through one asyncio lock, so the loop never waits for the
thread's write lock; if another process (such as `webhookd emit`) holds the file's
lock, the bookkeeping goes to the thread, which waits for it (`busy_timeout`). The
loop never checkpoints the WAL either: the thread does, every so many bookkeeping
commits. New work wakes the in-process worker through an asyncio.Event; other
processes' work is found by polling. Statements live in `sql/sqlite/queries.sql`; the
transactions in programs.py.
"""

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import orjson

from webhookd.domain import clock
from webhookd.errors import Unavailable
from webhookd.store import migrations, queries
from webhookd.store.engine import Store
from webhookd.store.programs import Op, Program

T = TypeVar("T")
SQL = queries.load("sqlite")
log = logging.getLogger("webhookd.store")
CHECKPOINT_EVERY = 200  # bookkeeping commits on the loop between WAL checkpoints
ARRAYS = frozenset({list, tuple})  # parameter types that are arrays (see bind)


def bind(params: Mapping[str, Any]) -> Mapping[str, Any]:
    """`params` with each list or tuple as JSON text, which the statements read with
    `json_each` (programs.py: parameters); `params` itself when it has none (most)."""
    if ARRAYS.isdisjoint(map(type, params.values())):  # the common case, in C
        return params
    return {n: orjson.dumps(v).decode() if type(v) in ARRAYS else v for n, v in params.items()}


# The GIL and the database thread. sqlite3 lets the GIL go for every step of a statement
# (each row it inserts with executemany, each row it fetches) and takes it back after:
# while the event loop runs Python, each taking back can wait for the loop's switch
# interval (5 ms). A 240-row executemany beside a busy loop measured 1.7 s; the same
# rows as one statement, 11 ms. So statements that handle a fan-out's worth of rows on
# the thread are single steps: a "many" statement that reads `json_each(:batch)` gets
# the whole batch as one JSON array, and a statement that answers `json_rows` (one row,
# one column: a JSON array of objects) is read back as those rows.
BATCH_AS_JSON = frozenset(name for name, sql in SQL.items() if ":batch" in sql)
ROWS_AS_JSON = frozenset(name for name, sql in SQL.items() if "AS json_rows" in sql)


def _execute(conn: sqlite3.Connection, op: Op) -> Any:
    if op.returning == "lock":
        return None  # BEGIN IMMEDIATE: this transaction is the only writer already
    if not isinstance(op.params, Mapping):
        if op.query in BATCH_AS_JSON:
            batch = orjson.dumps(op.params).decode()
            return conn.execute(SQL[op.query], {"batch": batch}).rowcount
        return conn.executemany(SQL[op.query], op.params).rowcount
    cursor = conn.execute(SQL[op.query], bind(op.params))
    if op.query in ROWS_AS_JSON:
        rows: list[dict[str, Any]] = orjson.loads(cursor.fetchone()[0])
        return rows if op.returning == "all" else next(iter(rows), None)
    if op.returning == "all":
        return cursor.fetchall()
    if op.returning == "one":
        return cursor.fetchone()
    return cursor.rowcount


def _transaction(conn: sqlite3.Connection, program: Program[T], begin: str) -> T:
    conn.execute(begin)
    return _within(conn, program)


def _within(conn: sqlite3.Connection, program: Program[T]) -> T:
    """Run `program` in the transaction just begun on `conn`; commit, or roll back."""
    try:
        result = _drive(conn, program)
    except BaseException:
        conn.rollback()
        raise
    conn.commit()
    return result


def _checkpoint(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


def _drive(conn: sqlite3.Connection, program: Program[T]) -> T:
    """Run a program's statements in order, feeding each result back to it."""
    try:
        op = next(program)
        while True:
            op = program.send(_execute(conn, op))
    except StopIteration as done:
        result: T = done.value
        return result


class _Busy:
    """Another process holds the database's write lock."""


BUSY = _Busy()


class SQLiteStore(Store):
    def __init__(self, path: Path) -> None:
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="webhookd-sqlite")
        self._conn: sqlite3.Connection | None = None  # the database thread's
        self._queue_conn: sqlite3.Connection | None = None  # the event loop's (bookkeeping)
        self._writing = asyncio.Lock()  # one write transaction of this process at a time
        self._work = asyncio.Event()
        self._commits = 0  # bookkeeping commits since the last checkpoint
        self._checkpoint: asyncio.Task[None] | None = None

    async def run(
        self,
        program: Program[T],
        *,
        write: bool,
        announce: bool = False,
        durable: bool = True,
        bounded: bool = True,
    ) -> T:
        """Durable programs and reads run on the database thread. Non-durable ones
        (claims, settles) run on the event loop and commit with `synchronous=NORMAL`:
        no fsync of their own. The WAL is written in order, so the next durable commit
        (a publish, `synchronous=FULL`) syncs them too; a power cut may lose only the
        bookkeeping after the last durable commit, which makes a delivery be leased or
        sent again. A killed process loses nothing either way."""
        try:
            if not write:
                ran = self._on_loop(program, "BEGIN") if bounded else BUSY
                if isinstance(ran, _Busy):
                    ran = await self._on_thread(program, "BEGIN")
                result = ran
            else:
                async with self._writing:
                    ran = BUSY if durable else self._on_loop(program)
                    if isinstance(ran, _Busy):
                        ran = await self._on_thread(program, "BEGIN IMMEDIATE")
                    result = ran
        except sqlite3.OperationalError as exc:
            raise Unavailable(f"The database is unavailable ({exc}); try again shortly.") from exc
        if announce:
            self._work.set()
        return result

    async def _on_thread(self, program: Program[T], begin: str) -> T:
        conn = self._conn
        if conn is None:
            raise Unavailable("The database is closed.")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, _transaction, conn, program, begin)

    def _on_loop(self, program: Program[T], begin: str = "BEGIN IMMEDIATE") -> T | "_Busy":
        """Run `program` here and now; BUSY, with the program untouched, when another
        process holds the lock it needs."""
        conn = self._queue_conn
        if conn is None:
            raise Unavailable("The database is closed.")
        try:
            conn.execute(begin)  # busy_timeout 0: never waits on the loop
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:  # BUSY, or BUSY_*
                raise
            return BUSY
        result = _within(conn, program)
        if begin == "BEGIN":
            return result  # a read: a WAL reader never waits for a writer (nor BUSY)
        self._commits += 1
        if self._commits >= CHECKPOINT_EVERY and self._checkpoint is None:
            self._commits = 0
            self._checkpoint = asyncio.create_task(self._checkpoint_wal())
        return result

    async def _checkpoint_wal(self) -> None:
        """Copy the WAL into the database on the thread, between two writes of this
        process: the next write can then start the WAL over instead of growing it (a
        checkpoint racing a writer never catches up, and the WAL would grow forever)."""
        try:
            async with self._writing:
                conn = self._conn
                if conn is not None:
                    loop = asyncio.get_running_loop()
                    await loop.run_in_executor(self._executor, _checkpoint, conn)
        except sqlite3.Error as exc:
            log.warning("WAL checkpoint failed: %s", exc)
        finally:
            self._checkpoint = None

    def _connect(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = self._open_connection(synchronous="FULL", busy_ms=5000)

    def _open_connection(self, synchronous: str, busy_ms: int) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {busy_ms}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

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
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._connect)
            await loop.run_in_executor(self._executor, self._migrate)
            # The loop's connection: it never waits for a lock nor checkpoints the WAL.
            self._queue_conn = self._open_connection(synchronous="NORMAL", busy_ms=0)
            self._queue_conn.execute("PRAGMA wal_autocheckpoint = 0")
            # Its statements are bounded, so their temporary tables stay in memory: with
            # the default store, setting one up (the claim's index of its webhooks' rooms)
            # measured 35 µs, in memory a few.
            self._queue_conn.execute("PRAGMA temp_store = MEMORY")
        except sqlite3.Error as exc:
            raise Unavailable(f"Cannot open {self._path} ({exc}).") from exc

    async def close(self) -> None:
        if self._queue_conn is not None:
            self._queue_conn.close()
            self._queue_conn = None
        if self._checkpoint is not None:
            with contextlib.suppress(Exception):
                await self._checkpoint
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await asyncio.get_running_loop().run_in_executor(self._executor, conn.close)
        self._executor.shutdown(wait=True)

    async def ping(self) -> None:
        def select_one() -> Program[None]:
            yield Op(queries.Q.PING, {}, "one")

        await self.run(select_one(), write=False)

    async def wait_for_work(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._work.wait(), timeout)
        except TimeoutError:
            return
        finally:
            self._work.clear()
