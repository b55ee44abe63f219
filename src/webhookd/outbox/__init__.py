"""Publish inside your own database transaction: the producer outbox (docs/outbox.md).

`webhookd outbox install --database postgresql://app…` puts a schema `webhookd_outbox`
in the application's PostgreSQL, with `webhookd_outbox.publish(tenant_id, event, data,
idempotency_key)`. These helpers call it on the connection the application already
has, inside its open transaction, so the event exists exactly when the transaction
commits; `webhookd relay` (outbox/relay.py) then moves it into webhookd.

    publish(conn, "acme", "verification.completed", {"recordId": "rec_1"})        # sync
    await publish_async(conn, "acme", "verification.completed", {"recordId": "rec_1"})

`conn` may be, for `publish`: a psycopg 3 connection or cursor, a SQLAlchemy `Session`
or `Connection`, or a Django connection (`django.db.connection`, `connections[alias]`);
for `publish_async`: an asyncpg connection, or a SQLAlchemy `AsyncSession` or
`AsyncConnection`. Each returns the event's idempotency key in webhookd (yours, or an
`obx_…` one made for it). Before any SQL runs, the event is checked as `POST /events`
checks it (known event type, tenant id, data that a delivery can carry): a problem
raises `webhookd.errors.Invalid` naming the field, and nothing is written.
"""

import functools
import json
from collections.abc import Collection, Mapping
from typing import Any

from webhookd.errors import Invalid

__all__ = ["OUTBOX_SCHEMA", "SQL_PUBLISH", "check", "publish", "publish_async"]

OUTBOX_SCHEMA = "webhookd_outbox"
#: The one statement every helper runs, in each driver's parameter style.
SQL_PUBLISH = "SELECT webhookd_outbox.publish({0}, {1}, CAST({2} AS jsonb), {3})"
_PYFORMAT = SQL_PUBLISH.format("%s", "%s", "%s", "%s")  # psycopg, Django
_NUMBERED = SQL_PUBLISH.format("$1", "$2", "$3", "$4")  # asyncpg
_NAMED = SQL_PUBLISH.format(":tenant_id", ":event", ":data", ":idempotency_key")  # SQLAlchemy


@functools.cache
def _configured() -> tuple[Mapping[str, str], bool]:
    """The event catalog webhookd is configured with here (the WEBHOOKD_* environment:
    WEBHOOKD_EVENT_CATALOG with its schemas, or WEBHOOKD_EVENT_TYPES), and whether numbers
    a delivery cannot carry exactly are refused (WEBHOOKD_NUMBERS)."""
    from webhookd.config import Settings

    settings = Settings()
    return settings.catalog, settings.numbers == "exact"


def check(
    tenant_id: str,
    event: str,
    data: Any,
    idempotency_key: str | None = None,
    event_types: Collection[str] | None = None,
) -> str:
    """The data's JSON text, or Invalid saying what `POST /events` would refuse.

    `event_types`: the names to check against; by default the catalog this process's
    environment configures (with the JSON Schemas of WEBHOOKD_EVENT_CATALOG, if set)."""
    from webhookd.domain import numbers
    from webhookd.service import Unfit, new_event

    configured, exact = _configured()
    types = configured if event_types is None else dict.fromkeys(event_types, "")
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 255:
        raise Invalid("idempotency_key must be 1 to 255 characters")
    if exact:
        try:
            found = numbers.inexact(json.dumps(data), "data")
        except (TypeError, ValueError):
            found = None  # not JSON at all: new_event says what is wrong
        if found is not None:
            raise Invalid(numbers.refusal(*found))
    try:
        event_created = new_event(types, "evt_check", tenant_id, event, data, 0)
    except Unfit as exc:
        raise Invalid(exc.named) from None
    # The body is {"event":…,"timestamp":…,"data":<data>}: its data, written once.
    head = event_created.body.index(b'"data":') + len(b'"data":')
    return event_created.body[head:-1].decode()


def publish(
    conn: Any,
    tenant_id: str,
    event: str,
    data: Any,
    idempotency_key: str | None = None,
    *,
    event_types: Collection[str] | None = None,
) -> str:
    """Publish through the outbox on a synchronous connection, in its transaction."""
    text = check(tenant_id, event, data, idempotency_key, event_types)
    args = (tenant_id, event, text, idempotency_key)
    kind = _kind(conn)
    if kind == "sqlalchemy":
        return str(conn.execute(*_sqlalchemy(args)).scalar_one())
    if kind == "django":
        with conn.cursor() as cursor:
            cursor.execute(_PYFORMAT, list(args))
            return str(cursor.fetchone()[0])
    if kind == "psycopg":
        row = conn.execute(_PYFORMAT, args).fetchone()
        return str(row[0])
    raise TypeError(
        f"publish() takes a psycopg 3 connection or cursor, a SQLAlchemy Session or "
        f"Connection, or a Django connection, not {type(conn).__module__}."
        f"{type(conn).__qualname__} (for asyncpg or SQLAlchemy's async API, use publish_async)"
    )


async def publish_async(
    conn: Any,
    tenant_id: str,
    event: str,
    data: Any,
    idempotency_key: str | None = None,
    *,
    event_types: Collection[str] | None = None,
) -> str:
    """Publish through the outbox on an asynchronous connection, in its transaction."""
    text = check(tenant_id, event, data, idempotency_key, event_types)
    args = (tenant_id, event, text, idempotency_key)
    kind = _kind(conn)
    if kind == "asyncpg":
        return str(await conn.fetchval(_NUMBERED, *args))
    if kind == "sqlalchemy":
        return str((await conn.execute(*_sqlalchemy(args))).scalar_one())
    raise TypeError(
        f"publish_async() takes an asyncpg connection or a SQLAlchemy AsyncSession or "
        f"AsyncConnection, not {type(conn).__module__}.{type(conn).__qualname__} (for "
        "psycopg, SQLAlchemy's sync API or Django, use publish)"
    )


_NAMES = ("tenant_id", "event", "data", "idempotency_key")


def _sqlalchemy(args: tuple[str, str, str, str | None]) -> tuple[Any, dict[str, Any]]:
    """The statement and parameters for a SQLAlchemy session or connection."""
    from sqlalchemy import text as sql_text

    return sql_text(_NAMED), dict(zip(_NAMES, args, strict=True))


def _kind(conn: Any) -> str:
    """Which driver `conn` belongs to, by its class's module: none is imported here."""
    for cls in type(conn).__mro__:
        module = cls.__module__
        for prefix in ("asyncpg", "psycopg", "sqlalchemy", "django"):
            if module == prefix or module.startswith(prefix + "."):
                return prefix
    return "unknown"
