"""The embedded default Store: one SQLite file, WAL mode.

All database work runs on one dedicated thread holding one connection, one hand-off
per transaction: the event loop never blocks on disk, and there is one writer path.
Writers take the lock up front (`BEGIN IMMEDIATE`); `busy_timeout` covers another
process (such as `webhookd emit`) writing the same file. New work wakes the
in-process worker through an asyncio.Event; other processes' work is found by polling.
"""

import asyncio
import secrets
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import orjson

from webhookd.domain import catalog, clock, ids
from webhookd.domain.models import DeliveryStatus, Event, Job, Settlement, Webhook
from webhookd.errors import Unavailable
from webhookd.store import migrations
from webhookd.store.base import Published, WebhookChanges

T = TypeVar("T")
_WEBHOOK_COLUMNS = (
    "id, tenant_id, url, events, description, secret, active, created_at, last_triggered_at"
)


def _webhook(row: sqlite3.Row) -> Webhook:
    return Webhook(
        id=row["id"],
        tenant_id=row["tenant_id"],
        url=row["url"],
        events=tuple(orjson.loads(row["events"])),
        description=row["description"],
        secret=row["secret"],
        active=bool(row["active"]),
        created_at=row["created_at"],
        last_triggered_at=row["last_triggered_at"],
    )


class SQLiteStore:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="webhookd-sqlite")
        self._conn: sqlite3.Connection | None = None
        self._work = asyncio.Event()

    # plumbing -----------------------------------------------------------------------
    async def _run(self, fn: Callable[[sqlite3.Connection], T], write: bool = False) -> T:
        def transaction() -> T:
            conn = self._conn
            if conn is None:
                raise Unavailable("The database is closed.")
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                result = fn(conn)
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
            return result

        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, transaction)
        except sqlite3.OperationalError as exc:
            raise Unavailable(f"The database is unavailable ({exc}); try again shortly.") from exc

    def _connect(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        self._conn = conn

    @staticmethod
    def _migrate(conn: sqlite3.Connection) -> None:
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

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._connect)
        await self._run(self._migrate, write=True)

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await asyncio.get_running_loop().run_in_executor(self._executor, conn.close)
        self._executor.shutdown(wait=True)

    async def ping(self) -> None:
        await self._run(lambda conn: conn.execute("SELECT 1").fetchone())

    # webhooks -----------------------------------------------------------------------
    async def create_webhook(self, webhook: Webhook) -> None:
        w = webhook
        row = (
            w.id,
            w.tenant_id,
            w.url,
            orjson.dumps(list(w.events)).decode(),
            w.description,
            w.secret,
            int(w.active),
            w.created_at,
            w.last_triggered_at,
        )
        await self._run(
            lambda conn: conn.execute(
                f"INSERT INTO webhooks ({_WEBHOOK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row
            ),
            write=True,
        )

    async def list_webhooks(self, tenant_id: str) -> list[Webhook]:
        sql = f"SELECT {_WEBHOOK_COLUMNS} FROM webhooks WHERE tenant_id = ? ORDER BY id"
        rows = await self._run(lambda conn: conn.execute(sql, (tenant_id,)).fetchall())
        return [_webhook(row) for row in rows]

    @staticmethod
    def _get(conn: sqlite3.Connection, tenant_id: str, webhook_id: str) -> Webhook | None:
        sql = f"SELECT {_WEBHOOK_COLUMNS} FROM webhooks WHERE tenant_id = ? AND id = ?"
        row = conn.execute(sql, (tenant_id, webhook_id)).fetchone()
        return None if row is None else _webhook(row)

    async def get_webhook(self, tenant_id: str, webhook_id: str) -> Webhook | None:
        return await self._run(lambda conn: self._get(conn, tenant_id, webhook_id))

    async def update_webhook(
        self, tenant_id: str, webhook_id: str, changes: WebhookChanges
    ) -> Webhook | None:
        values = {
            "url": changes.url,
            "events": None
            if changes.events is None
            else orjson.dumps(list(changes.events)).decode(),
            "description": changes.description,
        }
        values = {column: value for column, value in values.items() if value is not None}

        def update(conn: sqlite3.Connection) -> Webhook | None:
            if values:
                assignments = ", ".join(f"{column} = ?" for column in values)
                conn.execute(
                    f"UPDATE webhooks SET {assignments} WHERE tenant_id = ? AND id = ?",
                    (*values.values(), tenant_id, webhook_id),
                )
            return self._get(conn, tenant_id, webhook_id)

        return await self._run(update, write=True)

    async def toggle_webhook(self, tenant_id: str, webhook_id: str) -> Webhook | None:
        def toggle(conn: sqlite3.Connection) -> Webhook | None:
            conn.execute(
                "UPDATE webhooks SET active = 1 - active WHERE tenant_id = ? AND id = ?",
                (tenant_id, webhook_id),
            )
            return self._get(conn, tenant_id, webhook_id)

        return await self._run(toggle, write=True)

    async def delete_webhook(self, tenant_id: str, webhook_id: str) -> bool:
        sql = "DELETE FROM webhooks WHERE tenant_id = ? AND id = ?"
        cursor = await self._run(
            lambda conn: conn.execute(sql, (tenant_id, webhook_id)), write=True
        )
        return cursor.rowcount > 0

    async def mark_triggered(self, webhook_id: str, at_ms: int) -> None:
        await self._run(lambda conn: conn.execute(_TOUCH_WEBHOOK, (at_ms, webhook_id)), write=True)

    # events and the queue -----------------------------------------------------------
    async def publish(
        self, event: Event, idempotency_key: str | None, idempotency_window_ms: int
    ) -> Published:
        def publish(conn: sqlite3.Connection) -> Published:
            if idempotency_key is not None:
                earlier = conn.execute(
                    "SELECT id, deliveries, created_at FROM events"
                    " WHERE tenant_id = ? AND idempotency_key = ?",
                    (event.tenant_id, idempotency_key),
                ).fetchone()
                if earlier is not None:
                    if earlier["created_at"] > event.created_at - idempotency_window_ms:
                        return Published(earlier["id"], earlier["deliveries"], created=False)
                    conn.execute(
                        "UPDATE events SET idempotency_key = NULL WHERE id = ?", (earlier["id"],)
                    )
            hooks = conn.execute(
                "SELECT id, events FROM webhooks WHERE tenant_id = ? AND active = 1 ORDER BY id",
                (event.tenant_id,),
            ).fetchall()
            targets = [
                h["id"] for h in hooks if catalog.subscribes(orjson.loads(h["events"]), event.type)
            ]
            conn.execute(
                "INSERT INTO events (id, tenant_id, type, body, idempotency_key, deliveries,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    event.id,
                    event.tenant_id,
                    event.type,
                    event.body,
                    idempotency_key,
                    len(targets),
                    event.created_at,
                ),
            )
            conn.executemany(
                "INSERT INTO deliveries (id, event_id, webhook_id, tenant_id, event_type, status,"
                " next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
                [
                    (
                        ids.new_id(ids.DELIVERY, event.created_at),
                        event.id,
                        webhook_id,
                        event.tenant_id,
                        event.type,
                        event.created_at,
                        event.created_at,
                    )
                    for webhook_id in targets
                ],
            )
            return Published(event.id, len(targets), created=True)

        published = await self._run(publish, write=True)
        if published.deliveries:
            self._work.set()
        return published

    async def claim(self, now_ms: int, limit: int, lease_ms: int) -> list[Job]:
        token = secrets.token_hex(8)

        def claim(conn: sqlite3.Connection) -> list[Job]:
            conn.execute(
                "UPDATE deliveries SET locked_until = ?, lease_token = ? WHERE id IN ("
                " SELECT id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ?"
                " AND (locked_until IS NULL OR locked_until < ?) ORDER BY next_attempt_at LIMIT ?)",
                (now_ms + lease_ms, token, now_ms, now_ms, limit),
            )
            rows = conn.execute(
                "SELECT d.id, d.webhook_id, d.event_type, d.attempts, w.url, w.secret, w.active,"
                " e.body FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id"
                " JOIN events e ON e.id = d.event_id WHERE d.lease_token = ?",
                (token,),
            ).fetchall()
            return [
                Job(
                    delivery_id=r["id"],
                    webhook_id=r["webhook_id"],
                    event_type=r["event_type"],
                    url=r["url"],
                    secret=r["secret"],
                    webhook_active=bool(r["active"]),
                    body=bytes(r["body"]),
                    attempts=r["attempts"],
                    lease_token=token,
                )
                for r in rows
            ]

        return await self._run(claim, write=True)

    async def settle(self, settlements: Sequence[Settlement], now_ms: int) -> int:
        def settle(conn: sqlite3.Connection) -> int:
            return sum(_settle_one(conn, settlement) for settlement in settlements)

        applied = await self._run(settle, write=True)
        if any(s.status is DeliveryStatus.PENDING for s in settlements):
            self._work.set()
        return applied

    async def wait_for_work(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._work.wait(), timeout)
        except TimeoutError:
            return
        finally:
            self._work.clear()


_SETTLE = """
UPDATE deliveries
   SET status = ?, next_attempt_at = coalesce(?, next_attempt_at), attempts = attempts + ?,
       last_attempt_at = coalesce(?, last_attempt_at),
       last_http_status = coalesce(?, last_http_status), locked_until = NULL, lease_token = NULL
 WHERE id = ? AND lease_token = ?
"""
_RECORD_ATTEMPT = """
INSERT INTO attempts (delivery_id, attempted_at, duration_ms, http_status, error, response_excerpt)
VALUES (?, ?, ?, ?, ?, ?)
"""
_TOUCH_WEBHOOK = """
UPDATE webhooks SET last_triggered_at = max(coalesce(last_triggered_at, 0), ?) WHERE id = ?
"""


def _settle_one(conn: sqlite3.Connection, s: Settlement) -> bool:
    """Apply one result if the lease is still ours; False when another worker took over."""
    attempt, job = s.attempt, s.job
    result = None if attempt is None else attempt.result
    cursor = conn.execute(
        _SETTLE,
        (
            s.status.value,
            s.next_attempt_at,
            0 if attempt is None else 1,
            None if attempt is None else attempt.attempted_at,
            None if result is None else result.http_status,
            job.delivery_id,
            job.lease_token,
        ),
    )
    if cursor.rowcount == 0:
        return False
    if attempt is not None and result is not None:
        conn.execute(
            _RECORD_ATTEMPT,
            (
                job.delivery_id,
                attempt.attempted_at,
                result.duration_ms,
                result.http_status,
                result.error,
                result.response_excerpt,
            ),
        )
        conn.execute(_TOUCH_WEBHOOK, (attempt.attempted_at, job.webhook_id))
    return True
