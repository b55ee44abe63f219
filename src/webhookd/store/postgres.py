"""The multi-node Store: PostgreSQL through asyncpg, with a connection pool.

Any number of API processes and workers share one database. Claims lock due rows
with `FOR UPDATE SKIP LOCKED` in one short transaction, so workers never wait for
each other and never take the same delivery. A commit that creates work sends
`NOTIFY`; each worker keeps one extra connection that LISTENs and wakes it at once,
reconnecting when it drops (the poll interval is the backstop for lost notices).
Migrations run under an advisory lock, so processes starting together apply each
one exactly once. Any connection trouble becomes `Unavailable` (HTTP 503).
"""

import asyncio
import hashlib
import logging
from collections.abc import Mapping
from typing import Any, TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from webhookd.domain import clock
from webhookd.errors import Invalid, Unavailable
from webhookd.store import migrations, queries
from webhookd.store.engine import Store
from webhookd.store.programs import Op, Program

T = TypeVar("T")
PLAN_LIFETIME_S = 5
log = logging.getLogger("webhookd.store")
P = {name: queries.positional(sql) for name, sql in queries.load("postgres").items()}
DOWN = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.InternalClientError,  # e.g. a protocol state left by a dropped link
    # Transient by nature: the same call succeeds when made again.
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.SerializationError,
)
"""Errors that mean "try again shortly" (the database is away, or a transient lock
conflict), not "the query is wrong": they answer 503."""


Conn = asyncpg.Connection | PoolConnectionProxy


async def _execute(conn: Conn, op: Op) -> Any:
    query = P[op.query]
    if not isinstance(op.params, Mapping):
        # A batch is one statement over arrays (`unnest`), one per column: PostgreSQL
        # runs one UPDATE or INSERT for the batch instead of one per row.
        rows = op.params
        await conn.execute(query.sql, *([row[name] for row in rows] for name in query.names))
        return len(rows)
    # A list needs nothing here: asyncpg binds it as the array the statement casts it to
    # (`:ids::text[]`; programs.py: parameters).
    args = query.args(op.params)
    if op.returning == "all":
        return await conn.fetch(query.sql, *args)
    if op.returning == "one":
        return await conn.fetchrow(query.sql, *args)
    if op.returning == "lock":
        await conn.execute(query.sql, *args)
        return None
    status: str = await conn.execute(query.sql, *args)  # such as "UPDATE 3"
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


async def _release(pool: asyncpg.Pool, conn: PoolConnectionProxy) -> None:
    """Return a connection; a broken one is terminated by the pool, which opens a new one."""
    try:
        await pool.release(conn)
    except Exception as exc:
        log.info("dropped a broken database connection (%s)", exc)


async def _drive(conn: Conn, program: Program[T]) -> T:
    try:
        op = next(program)
        while True:
            op = program.send(await _execute(conn, op))
    except StopIteration as done:
        result: T = done.value
        return result


async def _keep(conn: asyncpg.Connection) -> None:
    """Released connections are not reset: every program ends its own transaction and
    none changes session state (LISTEN has its own connection), so the reset query
    asyncpg would send on every release is a round trip for nothing."""


class PostgresStore(Store):
    def __init__(
        self, dsn: str, *, pool_size: int = 10, schema: str = "public", timeout: float = 5.0
    ) -> None:
        self._dsn = dsn
        self._pool_size = pool_size
        self.publish_writers = max(1, pool_size // 2)  # the rest of the pool serves reads
        self._schema = schema
        self._timeout = timeout
        self._pool: asyncpg.Pool | None = None
        self._lazy_pool: asyncpg.Pool | None = None  # claims and settles: see `run`
        self._lazy_lock = asyncio.Lock()
        self._listener: asyncpg.Connection | None = None
        self._work = asyncio.Event()
        # One channel per schema, within PostgreSQL's 63-byte identifier limit.
        self.channel = "webhookd_work_" + hashlib.sha256(schema.encode()).hexdigest()[:16]

    @property
    def _settings(self) -> dict[str, str]:
        return {"search_path": self._schema, "application_name": "webhookd"}

    async def _create_pool(self, **settings: str) -> asyncpg.Pool:
        pool: asyncpg.Pool = await asyncpg.create_pool(
            self._dsn,
            min_size=1,
            max_size=self._pool_size,
            timeout=self._timeout,
            command_timeout=60,
            server_settings={**self._settings, **settings},
            reset=_keep,
            # A prepared statement settles on a generic plan after five runs and keeps it
            # until the table is next analyzed. Planned while the queue was nearly empty,
            # the lease's UPDATE went on scanning the whole deliveries table: one tenant's
            # growing backlog made every claim slower (1.5 ms -> 150 ms at 960,000 rows,
            # measured). Statements are prepared again after this many seconds, so a plan
            # is never older than that. (Forcing custom plans instead cost 13 ms a claim
            # with a 100,000-row backlog: the `backlog` bench section.)
            max_cached_statement_lifetime=PLAN_LIFETIME_S,
        )
        return pool

    async def open(self) -> None:
        try:
            self._pool = await self._create_pool()
            await self._migrate()
        except DOWN as exc:
            await self.close()
            raise Unavailable(f"Cannot reach PostgreSQL ({exc}); is it running?") from exc

    async def _migrate(self) -> None:
        assert self._pool is not None
        async with self._pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock(hashtext($1))", f"webhookd:{self._schema}")
            try:
                await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self._schema}"')
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY,"
                    " name text NOT NULL, applied_at bigint NOT NULL)"
                )
                done = {row[0] for row in await conn.fetch("SELECT version FROM schema_migrations")}
                for migration in migrations.load("postgres"):
                    if migration.version in done:
                        continue
                    async with conn.transaction():
                        await conn.execute(migration.sql)
                        await conn.execute(
                            "INSERT INTO schema_migrations VALUES ($1, $2, $3)",
                            migration.version,
                            migration.name,
                            clock.system_clock(),
                        )
            finally:
                await conn.execute(
                    "SELECT pg_advisory_unlock(hashtext($1))", f"webhookd:{self._schema}"
                )

    async def close(self) -> None:
        if self._listener is not None:
            listener, self._listener = self._listener, None
            listener.terminate()
        for pool in (self._pool, self._lazy_pool):
            if pool is None:
                continue
            try:
                await asyncio.wait_for(pool.close(), self._timeout)
            except (TimeoutError, *DOWN):
                pool.terminate()
        self._pool = self._lazy_pool = None

    async def _pool_for(self, durable: bool) -> asyncpg.Pool:
        """The pool for durable programs, or the one whose sessions commit without
        waiting for the WAL flush (created when first needed: API processes never do)."""
        if self._pool is None:
            raise Unavailable("The database is closed.")
        if durable:
            return self._pool
        async with self._lazy_lock:
            if self._lazy_pool is None:
                self._lazy_pool = await self._create_pool(synchronous_commit="off")
        return self._lazy_pool

    async def run(
        self,
        program: Program[T],
        *,
        write: bool,
        announce: bool = False,
        durable: bool = True,
        bounded: bool = True,
    ) -> T:
        """Non-durable programs (claims, settles) commit without waiting for the WAL flush:
        the row locks they hold are released at once, not a disk sync later. What a crash
        of PostgreSQL itself may lose of them (the last few hundred ms) only makes a
        delivery be leased or sent again; it never loses an event."""
        try:
            pool = await self._pool_for(durable)
            conn = await pool.acquire(timeout=self._timeout)
            try:
                async with conn.transaction(readonly=not write):
                    result = await _drive(conn, program)
                    if announce:
                        await conn.execute("SELECT pg_notify($1, '')", self.channel)
            except BaseException:
                await _release(pool, conn)
                raise
        except DOWN as exc:
            raise Unavailable(f"The database is unavailable ({exc}); try again shortly.") from exc
        except (
            asyncpg.exceptions.CharacterNotInRepertoireError,
            asyncpg.exceptions.UntranslatableCharacterError,
        ):
            # Input validation stops NUL before here; this is the net for anything it missed.
            raise Invalid("Text must not contain NUL characters (\\u0000).") from None
        # Committed: whatever happens to the connection now must not turn into an error,
        # or the caller would report a failure for work that is durably done.
        await _release(pool, conn)
        return result

    async def ping(self) -> None:
        def select_one() -> Program[None]:
            yield Op(queries.Q.PING, {}, "one")

        await self.run(select_one(), write=False)

    async def wait_for_work(self, timeout: float) -> None:
        await self._listen()
        try:
            await asyncio.wait_for(self._work.wait(), timeout)
        except TimeoutError:
            return
        finally:
            self._work.clear()

    async def _listen(self) -> None:
        """Keep one LISTEN connection; if it cannot be had now, polling covers for it."""
        if self._listener is not None and not self._listener.is_closed():
            return
        listener: asyncpg.Connection | None = None
        try:
            listener = await asyncpg.connect(
                self._dsn, timeout=self._timeout, server_settings=self._settings
            )
            await listener.add_listener(self.channel, self._notified)
        except DOWN as exc:
            if listener is not None:
                listener.terminate()  # connected but could not LISTEN: don't leak it
            log.warning("cannot LISTEN for new work (%s); polling instead", exc)
            return
        self._listener = listener
        self._work.set()  # notices may have been missed while it was down: look now

    def _notified(self, *_: object) -> None:
        self._work.set()
