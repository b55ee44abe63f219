"""The relay moves committed outbox rows into webhookd: a real application database,
a real webhookd (its app with the worker, or its store), a real receiver."""

import asyncio
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg
import psycopg
import pytest

from tests.conftest import (
    AppFactory,
    NoTransport,
    Receiver,
    auth,
    create_webhook,
    eventually,
    make_settings,
    wait_until,
)
from webhookd import outbox, store
from webhookd.metrics import Metrics
from webhookd.outbox import schema
from webhookd.outbox.relay import Relay
from webhookd.service import NewEvent, Relayed, Service


def outbox_state(url: str) -> schema.OutboxState:
    async def read() -> schema.OutboxState:
        conn = await asyncpg.connect(url)
        try:
            return await schema.state(conn)
        finally:
            await conn.close()

    return asyncio.run(read())


def dead_rows(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT event, reason FROM webhookd_outbox.dead ORDER BY id")
        return [(event, reason) for event, reason in rows]


def test_serve_relays_what_commits_and_nothing_that_rolls_back(
    app_factory: AppFactory, outbox_db: str
) -> None:
    with Receiver() as receiver:
        client = app_factory(outbox_source=outbox_db)
        hook = create_webhook(client, "acme", url=receiver.url)
        with psycopg.connect(outbox_db) as conn:
            conn.rollback()
            outbox.publish(conn, "acme", "verification.failed", {"recordId": "never"})
            conn.rollback()  # the application's transaction fails: the event never was
            outbox.publish(conn, "acme", "verification.completed", {"recordId": "rec_1"})
            conn.commit()
        (request,) = receiver.wait_for(1)
        wait_until(lambda: outbox_state(outbox_db).backlog == 0)
        answer = client.get(f"/dashboard/webhooks/{hook['id']}/deliveries", headers=auth("acme"))
    body = json.loads(request.body)
    assert (body["event"], body["data"]) == ("verification.completed", {"recordId": "rec_1"})
    assert [d["event"] for d in answer.json()["data"]] == ["verification.completed"]


def test_a_row_that_can_never_be_published_is_set_aside_and_the_rest_go(
    app_factory: AppFactory, outbox_db: str
) -> None:
    with Receiver() as receiver:
        client = app_factory(outbox_source=outbox_db)
        create_webhook(client, "acme", url=receiver.url)
        with psycopg.connect(outbox_db, autocommit=True) as conn:
            # Straight SQL, as a trigger or another language would: nothing checked it.
            conn.execute("SELECT webhookd_outbox.publish('acme', 'order.gone', '{}')")
            conn.execute(
                "SELECT webhookd_outbox.publish('acme', 'record.verified', '{\"n\": 1e400}')"
            )
            conn.execute("SELECT webhookd_outbox.publish('acme', 'record.verified', '{\"n\": 2}')")
        (request,) = receiver.wait_for(1)
        wait_until(lambda: outbox_state(outbox_db).backlog == 0)
        metrics = client.get("/metrics").text
    assert json.loads(request.body)["data"] == {"n": 2}
    dead = dead_rows(outbox_db)
    assert [event for event, _ in dead] == ["order.gone", "record.verified"]
    assert "Unknown event type 'order.gone'" in dead[0][1]
    assert "data.n" in dead[1][1]
    assert outbox_state(outbox_db).dead == 2
    assert "webhookd_outbox_relayed_total 1.0" in metrics
    assert "webhookd_outbox_dead_total 2.0" in metrics


class DiesAfterPublishing:
    """A relay's publish that stores the events, then dies before the outbox rows are
    deleted (the process was killed between the two commits)."""

    def __init__(self, service: Service) -> None:
        self.service = service

    async def __call__(self, items: Sequence[NewEvent]) -> Relayed:
        await self.service.publish_relayed(items)
        raise ConnectionResetError("killed after publishing")


async def _events_in(path: Path) -> list[Any]:
    with sqlite3.connect(path) as db:
        return [json.loads(b)["data"] for (b,) in db.execute("SELECT body FROM events ORDER BY id")]


def test_a_relay_killed_between_publish_and_delete_publishes_each_row_once(
    tmp_path: Path, outbox_db: str
) -> None:
    async def main() -> list[Any]:
        settings = make_settings(tmp_path)
        db = store.from_settings(settings)
        await db.open()
        try:
            service = Service(db, NoTransport(), settings.catalog, sealer=settings.sealer)
            with psycopg.connect(outbox_db, autocommit=True) as application:
                for n in range(3):
                    outbox.publish(application, "acme", "record.verified", {"n": n})
            conn = await asyncpg.connect(outbox_db)
            try:
                with pytest.raises(ConnectionResetError):
                    await Relay(outbox_db, DiesAfterPublishing(service)).relay_once(conn)
                assert (await schema.state(conn)).backlog == 3  # the rows are still there
                assert await Relay(outbox_db, service.publish_relayed).relay_once(conn) == 3
            finally:
                await conn.close()
        finally:
            await db.close()
        return await _events_in(tmp_path / "webhookd.db")

    events = asyncio.run(main())
    assert events == [{"n": 0}, {"n": 1}, {"n": 2}]  # published twice, stored once
    assert outbox_state(outbox_db).backlog == 0


def test_a_publish_wakes_the_relay_without_waiting_for_a_poll(
    tmp_path: Path, outbox_db: str
) -> None:
    async def main() -> None:
        settings = make_settings(tmp_path)
        db = store.from_settings(settings)
        await db.open()
        metrics = Metrics().with_outbox()
        service = Service(db, NoTransport(), settings.catalog, sealer=settings.sealer)
        relay = Relay(outbox_db, service.publish_relayed, metrics=metrics, poll=3600)
        task = asyncio.create_task(relay.run())
        try:
            listening = await asyncpg.connect(outbox_db)
            try:
                await eventually_listening(listening)
                await outbox.publish_async(listening, "acme", "record.verified", {"n": 1})
            finally:
                await listening.close()
            await eventually(lambda: metrics.relayed._value.get() == 1)
        finally:
            relay.stop()
            await task
            await db.close()

    asyncio.run(main())


async def eventually_listening(conn: asyncpg.Connection) -> None:
    """Until the relay's LISTEN is in place (a publish before it would wait for a poll)."""
    for _ in range(3000):
        if await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND query LIKE 'LISTEN%'"
        ):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the relay never listened")


def test_a_source_without_the_outbox_says_what_to_run(
    tmp_path: Path, app_db: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        settings = make_settings(tmp_path)
        db = store.from_settings(settings)
        await db.open()
        service = Service(db, NoTransport(), settings.catalog, sealer=settings.sealer)
        relay = Relay(app_db, service.publish_relayed, retry_after=0.05)
        task = asyncio.create_task(relay.run())
        try:
            await eventually(lambda: "webhookd outbox install" in caplog.text)
        finally:
            relay.stop()
            await task
            await db.close()

    caplog.set_level("WARNING", "webhookd.outbox")
    asyncio.run(main())
    assert "the outbox is not installed in the source database" in caplog.text
