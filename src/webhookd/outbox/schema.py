"""The outbox's schema in an application's PostgreSQL: install it, and read its state.

`install` applies `outbox/sql/postgres/NNN_*.sql` in order, each once, recorded in
`webhookd_outbox.migrations`, under an advisory lock (several installs at once apply
each migration exactly once). It is idempotent: run it on every deploy.
"""

from dataclasses import dataclass

import asyncpg

from webhookd.store import migrations

LOCK = "webhookd_outbox:install"


async def install(dsn: str) -> list[str]:
    """Apply the outbox's pending migrations; the names of those applied now."""
    conn = await asyncpg.connect(dsn, timeout=30)
    try:
        await conn.execute("SELECT pg_advisory_lock(hashtext($1))", LOCK)
        try:
            return await _apply(conn)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", LOCK)
    finally:
        await conn.close()


async def _apply(conn: asyncpg.Connection) -> list[str]:
    await conn.execute("CREATE SCHEMA IF NOT EXISTS webhookd_outbox")
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS webhookd_outbox.migrations (version integer PRIMARY KEY,"
        " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    done = {row[0] for row in await conn.fetch("SELECT version FROM webhookd_outbox.migrations")}
    applied = []
    for migration in migrations.load("postgres", "webhookd.outbox"):
        if migration.version in done:
            continue
        async with conn.transaction():
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO webhookd_outbox.migrations (version, name) VALUES ($1, $2)",
                migration.version,
                migration.name,
            )
        applied.append(f"{migration.version:03d}_{migration.name}")
    return applied


@dataclass(frozen=True, slots=True)
class OutboxState:
    """What is waiting in an outbox: rows not yet relayed, the oldest one's age (the
    relay's lag), and the rows moved to the dead-letter table."""

    backlog: int
    lag_seconds: float
    dead: int


STATE_SQL = """
SELECT (SELECT count(*) FROM webhookd_outbox.events),
       coalesce(extract(epoch FROM clock_timestamp() - (SELECT created_at
                FROM webhookd_outbox.events ORDER BY id LIMIT 1)), 0)::float8,
       (SELECT count(*) FROM webhookd_outbox.dead)
"""


async def state(conn: asyncpg.Connection) -> OutboxState:
    row = await conn.fetchrow(STATE_SQL)
    assert row is not None
    return OutboxState(int(row[0]), float(row[1]), int(row[2]))


async def installed(conn: asyncpg.Connection) -> bool:
    return bool(await conn.fetchval("SELECT to_regclass('webhookd_outbox.events') IS NOT NULL"))
