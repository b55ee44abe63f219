"""webhookd.outbox's helpers publish inside the application's own transaction, with each
driver they support: a rollback leaves nothing, a commit leaves the event as given."""

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import psycopg
import pytest
import sqlalchemy
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import Session

from webhookd import outbox
from webhookd.errors import Invalid

DATA = {"recordId": "rec_1", "score": 0.5, "tags": ["a", "b"]}


async def _rows(url: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT tenant_id, event, data::text AS data, idempotency_key"
            " FROM webhookd_outbox.events ORDER BY id"
        )
    finally:
        await conn.close()
    return [{**dict(row), "data": json.loads(row["data"])} for row in rows]


def rows(url: str) -> list[dict[str, Any]]:
    return asyncio.run(_rows(url))


def test_psycopg_commit_and_rollback(outbox_db: str) -> None:
    with psycopg.connect(outbox_db) as conn:
        with conn.transaction():
            key = outbox.publish(conn, "acme", "verification.completed", DATA)
            assert rows(outbox_db) == []  # not visible before the commit

        def fails() -> None:
            with conn.transaction():
                outbox.publish(conn.cursor(), "acme", "verification.failed", DATA, "mine-1")
                raise RuntimeError("the application's transaction fails")

        with pytest.raises(RuntimeError):
            fails()
    assert key.startswith("obx_")
    assert rows(outbox_db) == [
        {"tenant_id": "acme", "event": "verification.completed", "data": DATA,
         "idempotency_key": key},
    ]  # fmt: skip


def test_sqlalchemy_session_and_connection(outbox_db: str) -> None:
    engine = sqlalchemy.create_engine(outbox_db.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with Session(engine) as session, session.begin():
            outbox.publish(session, "acme", "verification.completed", DATA, "session-1")
        with engine.connect() as conn:
            outbox.publish(conn, "acme", "verification.completed", DATA, "rolled-back")
            conn.rollback()
        with engine.begin() as conn:
            outbox.publish(conn, "acme", "record.verified", {"n": 1}, "connection-1")
    finally:
        engine.dispose()
    assert [r["idempotency_key"] for r in rows(outbox_db)] == ["session-1", "connection-1"]


def test_sqlalchemy_async_session(outbox_db: str) -> None:
    async def main() -> None:
        engine = create_async_engine(outbox_db.replace("postgresql://", "postgresql+asyncpg://"))
        try:
            async with AsyncSession(engine) as session, session.begin():
                await outbox.publish_async(session, "acme", "record.verified", DATA, "async-1")
            async with engine.connect() as conn:
                await outbox.publish_async(conn, "acme", "record.verified", DATA, "undone")
                await conn.rollback()
        finally:
            await engine.dispose()

    asyncio.run(main())
    assert [r["idempotency_key"] for r in rows(outbox_db)] == ["async-1"]


def test_asyncpg_transaction(outbox_db: str) -> None:
    async def main() -> None:
        conn = await asyncpg.connect(outbox_db)
        try:
            async with conn.transaction():
                await outbox.publish_async(conn, "acme", "verification.started", DATA, "pg-1")

            async def fails() -> None:
                async with conn.transaction():
                    await outbox.publish_async(conn, "acme", "verification.started", DATA, "x")
                    raise RuntimeError("rolled back")

            with pytest.raises(RuntimeError):
                await fails()
        finally:
            await conn.close()

    asyncio.run(main())
    assert [(r["idempotency_key"], r["data"]) for r in rows(outbox_db)] == [("pg-1", DATA)]


@pytest.fixture
def django_connection(outbox_db: str) -> Iterator[Any]:
    import django
    from django.conf import settings
    from django.db import connections

    parts = urlsplit(outbox_db)
    database = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.path.lstrip("/"),
        "USER": parts.username or "",
        "PASSWORD": parts.password or "",
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
    }
    if not settings.configured:
        settings.configure(DATABASES={"default": database}, USE_TZ=True)
        django.setup()
    connections["default"].close()
    connections["default"].settings_dict.update(database)
    try:
        yield connections["default"]
    finally:
        connections["default"].close()


def test_django_atomic(outbox_db: str, django_connection: Any) -> None:
    from django.db import transaction

    with transaction.atomic():
        outbox.publish(django_connection, "acme", "verification.completed", DATA, "django-1")

    def fails() -> None:
        with transaction.atomic():
            outbox.publish(django_connection, "acme", "verification.completed", DATA, "django-2")
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        fails()
    assert [r["idempotency_key"] for r in rows(outbox_db)] == ["django-1"]


@pytest.mark.parametrize(
    ("tenant", "event", "data", "message"),
    [
        ("acme", "verification.done", {}, "event: Unknown event type 'verification.done'"),
        ("", "verification.completed", {}, "tenantId must be 1 to 255 characters"),
        ("acme", "verification.completed", {"x": float("nan")}, "data"),
        ("acme", "verification.completed", {"n": 2**64}, "data.n"),
    ],
)
def test_refused_before_any_sql_as_post_events_would(
    outbox_db: str, tenant: str, event: str, data: Any, message: str
) -> None:
    with psycopg.connect(outbox_db) as conn:
        with pytest.raises(Invalid) as refused:
            outbox.publish(conn, tenant, event, data)
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE  # no SQL ran
    assert message in refused.value.message
    assert rows(outbox_db) == []


def test_event_types_given_or_from_the_environment(outbox_db: str) -> None:
    with psycopg.connect(outbox_db, autocommit=True) as conn:
        outbox.publish(conn, "acme", "order.paid", {}, event_types={"order.paid"})
        with pytest.raises(Invalid):
            outbox.publish(conn, "acme", "order.paid", {})  # not in the default catalog
    assert [r["event"] for r in rows(outbox_db)] == ["order.paid"]


def test_a_connection_of_another_kind_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="publish_async"):
        outbox.publish(object(), "acme", "verification.completed", {})
    with pytest.raises(TypeError, match="asyncpg"):
        asyncio.run(outbox.publish_async(object(), "acme", "verification.completed", {}))


def test_the_configured_catalogs_schemas_are_checked_too(
    outbox_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog_file = Path(__file__).parents[2] / "examples" / "event-catalog.yaml"
    monkeypatch.setenv("WEBHOOKD_EVENT_CATALOG", str(catalog_file))
    outbox._configured.cache_clear()
    try:
        with psycopg.connect(outbox_db, autocommit=True) as conn:
            with pytest.raises(Invalid) as refused:
                outbox.publish(conn, "acme", "verification.completed", {"runId": "run_1"})
            outbox.publish(
                conn, "acme", "verification.completed", {"runId": "run_1", "verified": 3}
            )
    finally:
        outbox._configured.cache_clear()
    assert "does not match the schema of event type 'verification.completed'" in str(
        refused.value.message
    )
    assert [r["data"] for r in rows(outbox_db)] == [{"runId": "run_1", "verified": 3}]
