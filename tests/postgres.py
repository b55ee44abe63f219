"""The local PostgreSQL for tests: a fresh schema per test, dropped afterwards.

WEBHOOKD_TEST_DATABASE_URL names the server (default: the local one, trust auth).
If it cannot be reached the PostgreSQL tests are skipped on a developer machine, and
FAIL under CI (CI=true): they must never silently not run there.
"""

import asyncio
import os
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import asyncpg
import pytest

from webhookd.store.postgres import PostgresStore

URL = os.environ.get("WEBHOOKD_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


async def _admin_async(sql: str) -> None:
    conn = await asyncpg.connect(URL, timeout=30)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def admin(sql: str) -> None:
    """Run one statement on its own connection (in a thread: callers may be inside a loop)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, _admin_async(sql)).result()


async def _value_async(sql: str, *args: object) -> object:
    conn = await asyncpg.connect(URL, timeout=30)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


def value(sql: str, *args: object) -> object:
    """The first column of the first row of one query, like `admin`."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _value_async(sql, *args)).result()


def _reachable() -> str | None:
    try:
        admin("SELECT 1")
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"PostgreSQL at {URL} is not reachable ({exc})"
    return None


_problem: list[str | None] = []


def require() -> None:
    """Skip (or, under CI, fail) the calling test when PostgreSQL is not there."""
    if not _problem:
        _problem.append(_reachable())
    if _problem[0] is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{_problem[0]}; CI must run the PostgreSQL tests (.ci/run starts it)")
        pytest.skip(_problem[0])


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """The name of a schema nobody else uses; webhookd creates it, the fixture drops it."""
    require()
    name = f"test_{secrets.token_hex(6)}"
    yield name
    admin(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


async def _migrate(schema: str) -> None:
    store = PostgresStore(URL, schema=schema, pool_size=1)
    await store.open()  # which migrates
    await store.close()


@pytest.fixture(scope="session")
def _migrated_schema() -> Iterator[str]:
    require()
    name = f"test_{secrets.token_hex(6)}"
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, _migrate(name)).result()
    yield name
    admin(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture
def pg_migrated(_migrated_schema: str) -> Iterator[str]:
    """A schema webhookd has migrated, with every table empty: for tests that use the
    store as webhookd leaves it (the contract suites, the API on PostgreSQL). One per
    session, emptied after each test, which must have closed its stores by then: a
    fresh schema migrated per test took most of these tests' time. (DELETE, newest table
    first, is much faster than TRUNCATE on a few rows; no durability is needed.)"""
    yield _migrated_schema
    admin(
        "SET synchronous_commit = off;"
        " DO $$ DECLARE r record; BEGIN"
        " FOR r IN SELECT c.oid::regclass AS name, c.relkind FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        f" WHERE n.nspname = '{_migrated_schema}' AND c.relkind IN ('r', 'S')"
        " AND c.relname <> 'schema_migrations' ORDER BY c.relkind, c.oid DESC LOOP"
        " IF r.relkind = 'r' THEN EXECUTE format('DELETE FROM %s', r.name);"
        " ELSE EXECUTE format('ALTER SEQUENCE %s RESTART', r.name); END IF;"
        " END LOOP; END $$"
    )
