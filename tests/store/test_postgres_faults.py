"""PostgreSQL connection faults: what a dropped connection may and may not turn into."""

import asyncio
import dataclasses
import secrets

import asyncpg
import pytest

from tests import postgres
from tests.conftest import WAIT, eventually
from tests.store.test_contract import webhook
from webhookd.delivery.worker import Settler
from webhookd.domain import ids
from webhookd.domain.models import (
    Attempt,
    DeliveryStatus,
    Event,
    SendResult,
    Settlement,
)
from webhookd.errors import Invalid, Unavailable
from webhookd.store import postgres as pg
from webhookd.store.base import ClaimRequest, DeliveryFilter
from webhookd.store.postgres import PostgresStore

pg_schema = postgres.pg_schema


async def test_a_connection_that_dies_after_commit_is_dropped_quietly(pg_schema: str) -> None:
    """Returning a dead connection to the pool must not fail a call whose work committed,
    and the next call gets a live connection."""
    store = PostgresStore(postgres.URL, schema=pg_schema, pool_size=1)
    await store.open()
    try:
        pool = store._pool
        assert pool is not None
        conn = await pool.acquire()
        postgres.admin(f"SELECT pg_terminate_backend({conn.get_server_pid()})")

        def ended() -> bool:
            """The client has seen the server end it (the pool then lets go of it)."""
            try:
                return conn.is_closed()
            except asyncpg.InterfaceError:
                return True

        await eventually(ended)
        await pg._release(pool, conn)  # must not raise
        for _ in range(3):  # the one-connection pool replaced the dead one
            try:
                await store.ping()
                break
            except Unavailable:
                continue  # the first use of the dead connection may still find it dead
        else:
            raise AssertionError("the pool never recovered")
    finally:
        await store.close()


async def test_an_unreachable_database_is_unavailable(pg_schema: str) -> None:
    store = PostgresStore("postgresql://postgres@127.0.0.1:1/none", schema=pg_schema, timeout=1)
    with pytest.raises(Unavailable, match="is it running"):
        await store.open()


async def test_a_nul_that_slipped_past_validation_is_invalid_not_a_crash(pg_schema: str) -> None:
    store = PostgresStore(postgres.URL, schema=pg_schema, pool_size=2)
    await store.open()
    try:
        where = DeliveryFilter(status=None, event_type="a\x00b", before=None, limit=10)
        with pytest.raises(Invalid, match="NUL"):
            await store.list_deliveries("t", "wh_x", where, 0)
    finally:
        await store.close()


async def test_the_longest_schema_name_still_publishes_and_wakes_workers() -> None:
    """WEBHOOKD_DATABASE_SCHEMA may be 63 characters; the NOTIFY channel must still fit."""
    postgres.require()
    schema = f"t{secrets.token_hex(31)}"
    assert len(schema) == 63
    store = PostgresStore(postgres.URL, schema=schema, pool_size=2)
    await store.open()
    try:
        hook = webhook()
        await store.create_webhook(hook)
        await store.wait_for_work(0)  # listening, and no wake-up left over
        waiter = asyncio.create_task(store.wait_for_work(3600))
        await asyncio.sleep(0)
        assert not waiter.done()
        await store.publish(Event(ids.new_id(ids.EVENT, 0), "a", "x", b"{}", 0), None, 1)
        # Woken by the NOTIFY on the schema's channel: left alone it would wait an hour.
        await asyncio.wait_for(waiter, WAIT)
    finally:
        await store.close()
        postgres.admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


async def test_one_unstorable_result_does_not_roll_back_the_others(pg_schema: str) -> None:
    """A settle batch with one result PostgreSQL refuses: the rest are still committed."""
    store = PostgresStore(postgres.URL, schema=pg_schema, pool_size=2)
    await store.open()
    try:
        hook = webhook()
        await store.create_webhook(hook)
        for n in range(3):
            await store.publish(Event(ids.new_id(ids.EVENT, n), "a", "x", b"{}", n), None, 1)
        jobs = (await store.claim(ClaimRequest(10, 60_000, 3, 3, 100, {}))).jobs
        results = [
            Settlement(job, Attempt(job.delivery_id, 20, SendResult(200, None, 1, excerpt)),
                       DeliveryStatus.DELIVERED)
            for job, excerpt in zip(jobs, ["ok", "bad\x00", "ok"], strict=True)
        ]  # fmt: skip
        settler = Settler(store, 86_400_000, batch=10, delay=0.05)
        outcomes = await asyncio.gather(
            *(settler.settle(r) for r in results), return_exceptions=True
        )
        assert [isinstance(o, Invalid) for o in outcomes] == [False, True, False]
        statuses = []
        for job in jobs:
            detail = await store.get_delivery("a", hook.id, job.delivery_id, 30)
            assert detail is not None
            statuses.append(detail.delivery.status)
        assert statuses == [
            DeliveryStatus.DELIVERED,
            DeliveryStatus.PENDING,
            DeliveryStatus.DELIVERED,
        ]
    finally:
        await store.close()


async def test_a_claim_skips_a_webhook_another_transaction_holds(pg_schema: str) -> None:
    """A settle holds a rate-limited webhook's row: a claim on another worker takes the
    other webhooks' deliveries at once instead of waiting behind it (one tenant's busy
    webhook must not delay every tenant's claim), and takes the held one's later."""
    store = PostgresStore(postgres.URL, schema=pg_schema, pool_size=2)
    await store.open()
    holder = await asyncpg.connect(postgres.URL, server_settings={"search_path": pg_schema})
    try:
        limited = dataclasses.replace(webhook(), rate_limit=100)
        free = webhook()
        for hook in (limited, free):
            await store.create_webhook(hook)
        await store.publish(Event(ids.new_id(ids.EVENT, 1), "a", "x", b"{}", 1), None, 1)
        async with holder.transaction():
            await holder.execute("SELECT 1 FROM webhooks WHERE id = $1 FOR UPDATE", limited.id)
            request = ClaimRequest(10, 60_000, 10, 10, 100, {})
            claimed = await asyncio.wait_for(store.claim(request), WAIT)
            assert [job.webhook_id for job in claimed.jobs] == [free.id]
            assert claimed.wake_at is not None  # it comes back for the held one soon
        again = await store.claim(ClaimRequest(20, 60_000, 10, 10, 100, {}))
        assert [job.webhook_id for job in again.jobs] == [limited.id]
    finally:
        await holder.close()
        await store.close()


async def test_every_connection_replans_its_statements_every_few_seconds(pg_schema: str) -> None:
    """A generic plan made while the queue was nearly empty scanned the whole deliveries
    table once it had grown (a claim went from 1.5 ms to 150 ms at 960,000 rows; `make
    bench`'s isolation section shows it): every connection, the API's and the worker's,
    prepares its statements again after `PLAN_LIFETIME_S`, so a plan fits the tables as
    they are (asyncpg's default keeps one for 5 minutes)."""
    store = PostgresStore(postgres.URL, schema=pg_schema, pool_size=2)
    await store.open()
    try:
        for durable in (True, False):
            pool = await store._pool_for(durable)
            async with pool.acquire() as conn:
                config = conn._con._config  # type: ignore[attr-defined]  # asyncpg keeps the connection's options here
                assert config.max_cached_statement_lifetime == pg.PLAN_LIFETIME_S <= 10
    finally:
        await store.close()
