"""The embedded default Store: one SQLite file, WAL mode.

All database work runs on one dedicated thread holding one connection, one hand-off
per transaction: the event loop never blocks on disk, and there is one writer path.
Writers take the lock up front (`BEGIN IMMEDIATE`); `busy_timeout` covers another
process (such as `webhookd emit`) writing the same file. New work wakes the
in-process worker through an asyncio.Event; other processes' work is found by polling.
Statements live in `sql/sqlite/queries.sql`.
"""

import asyncio
import secrets
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import orjson

from webhookd.domain import catalog, clock
from webhookd.domain.models import (
    Attempt,
    Delivery,
    DeliveryDetail,
    DeliveryStatus,
    Event,
    Job,
    Settlement,
    Webhook,
)
from webhookd.errors import Conflict, Unavailable
from webhookd.store import migrations, queries, rows
from webhookd.store.base import ClaimRequest, DeliveryFilter, Published, WebhookChanges

T = TypeVar("T")
Q = queries.load("sqlite")


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
        params = {
            "id": w.id, "tenant": w.tenant_id, "url": w.url, "events": rows.dump_events(w.events),
            "description": w.description, "secret": w.secret, "active": int(w.active),
            "created_at": w.created_at,
        }  # fmt: skip
        await self._run(lambda conn: conn.execute(Q["insert_webhook"], params), write=True)

    async def list_webhooks(self, tenant_id: str) -> list[Webhook]:
        found = await self._run(
            lambda conn: conn.execute(Q["list_webhooks"], {"tenant": tenant_id}).fetchall()
        )
        return [rows.webhook(row) for row in found]

    @staticmethod
    def _get(conn: sqlite3.Connection, tenant_id: str, webhook_id: str) -> Webhook | None:
        row = conn.execute(Q["get_webhook"], {"tenant": tenant_id, "id": webhook_id}).fetchone()
        return None if row is None else rows.webhook(row)

    async def get_webhook(self, tenant_id: str, webhook_id: str) -> Webhook | None:
        return await self._run(lambda conn: self._get(conn, tenant_id, webhook_id))

    async def _change(
        self, name: str, tenant_id: str, webhook_id: str, **extra: Any
    ) -> Webhook | None:
        def change(conn: sqlite3.Connection) -> Webhook | None:
            conn.execute(Q[name], {"tenant": tenant_id, "id": webhook_id, **extra})
            return self._get(conn, tenant_id, webhook_id)

        return await self._run(change, write=True)

    async def update_webhook(
        self, tenant_id: str, webhook_id: str, changes: WebhookChanges
    ) -> Webhook | None:
        events = None if changes.events is None else rows.dump_events(changes.events)
        return await self._change(
            "update_webhook", tenant_id, webhook_id,
            url=changes.url, events=events, description=changes.description,
        )  # fmt: skip

    async def toggle_webhook(self, tenant_id: str, webhook_id: str) -> Webhook | None:
        return await self._change("toggle_webhook", tenant_id, webhook_id)

    async def delete_webhook(self, tenant_id: str, webhook_id: str) -> bool:
        params = {"tenant": tenant_id, "id": webhook_id}
        cursor = await self._run(lambda conn: conn.execute(Q["delete_webhook"], params), True)
        return cursor.rowcount > 0

    # events and the queue -----------------------------------------------------------
    async def publish(
        self, event: Event, idempotency_key: str | None, idempotency_window_ms: int
    ) -> Published:
        def publish(conn: sqlite3.Connection) -> Published:
            if idempotency_key is not None:
                key = {"tenant": event.tenant_id, "key": idempotency_key}
                earlier = conn.execute(Q["find_idempotent"], key).fetchone()
                if earlier is not None:
                    if earlier["created_at"] > event.created_at - idempotency_window_ms:
                        return Published(earlier["id"], earlier["deliveries"], created=False)
                    conn.execute(Q["forget_idempotency_key"], {"id": earlier["id"]})
            hooks = conn.execute(Q["active_webhooks"], {"tenant": event.tenant_id}).fetchall()
            targets = [
                h["id"] for h in hooks if catalog.subscribes(orjson.loads(h["events"]), event.type)
            ]
            conn.execute(Q["insert_event"], rows.event_params(event, idempotency_key, len(targets)))
            conn.executemany(
                Q["insert_delivery"],
                [rows.delivery_params(event, webhook_id) for webhook_id in targets],
            )
            return Published(event.id, len(targets), created=True)

        published = await self._run(publish, write=True)
        if published.deliveries:
            self._work.set()
        return published

    async def claim(self, request: ClaimRequest) -> list[Job]:
        token = secrets.token_hex(8)

        def claim(conn: sqlite3.Connection) -> list[Job]:
            picked = rows.pick_fairly(
                request,
                lambda lane, saturated, limit: conn.execute(
                    Q[lane], {"now": request.now_ms, "saturated": saturated, "limit": limit}
                ).fetchall(),
            )
            if not picked:
                return []
            until = request.now_ms + request.lease_ms
            conn.execute(Q["lease"], {"until": until, "token": token, "ids": orjson.dumps(picked)})
            return [rows.job(r, token) for r in conn.execute(Q["leased_jobs"], {"token": token})]

        return await self._run(claim, write=True)

    async def settle(self, settlements: Sequence[Settlement], disable_after_ms: int) -> int:
        def settle(conn: sqlite3.Connection) -> int:
            return sum(_settle_one(conn, s, disable_after_ms) for s in settlements)

        applied = await self._run(settle, write=True)
        if any(s.status is DeliveryStatus.PENDING for s in settlements):
            self._work.set()
        return applied

    async def record_test(self, webhook: Webhook, event: Event, attempt: Attempt) -> str:
        delivery_id = attempt.delivery_id
        status = DeliveryStatus.DELIVERED if attempt.result.ok else DeliveryStatus.FAILED

        def record(conn: sqlite3.Connection) -> str:
            conn.execute(Q["insert_event"], rows.event_params(event, None, 1))
            conn.execute(
                Q["insert_delivery"],
                rows.delivery_params(event, webhook.id, delivery_id, status, attempts=1, manual=1),
            )
            conn.execute(Q["record_attempt"], rows.attempt_params(attempt))
            conn.execute(Q["touch_webhook"], {"at": attempt.attempted_at, "id": webhook.id})
            return delivery_id

        return await self._run(record, write=True)

    async def wait_for_work(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._work.wait(), timeout)
        except TimeoutError:
            return
        finally:
            self._work.clear()

    # the delivery log ---------------------------------------------------------------
    async def list_deliveries(
        self, tenant_id: str, webhook_id: str, where: DeliveryFilter, now_ms: int
    ) -> list[Delivery]:
        params = {
            "tenant": tenant_id, "webhook": webhook_id, "limit": where.limit,
            "status": None if where.status is None else where.status.value,
            "event": where.event_type, "before": where.before,
        }  # fmt: skip
        found = await self._run(lambda conn: conn.execute(Q["list_deliveries"], params).fetchall())
        return [rows.delivery(row, now_ms) for row in found]

    async def get_delivery(
        self, tenant_id: str, webhook_id: str, delivery_id: str, now_ms: int
    ) -> DeliveryDetail | None:
        def get(conn: sqlite3.Connection) -> DeliveryDetail | None:
            params = {"tenant": tenant_id, "webhook": webhook_id, "id": delivery_id}
            row = conn.execute(Q["get_delivery"], params).fetchone()
            if row is None:
                return None
            tried = conn.execute(Q["attempts_of"], {"id": delivery_id}).fetchall()
            return DeliveryDetail(
                rows.delivery(row, now_ms), bytes(row["body"]), [rows.attempt(a) for a in tried]
            )

        return await self._run(get)

    async def resend(
        self, tenant_id: str, webhook_id: str, delivery_id: str, now_ms: int
    ) -> Delivery | None:
        def resend(conn: sqlite3.Connection) -> Delivery | None:
            params = {"tenant": tenant_id, "webhook": webhook_id, "id": delivery_id}
            row = conn.execute(Q["get_delivery"], params).fetchone()
            if row is None:
                return None
            if rows.delivery(row, now_ms).in_flight:
                raise Conflict(f"Delivery {delivery_id} is being sent right now; try again later.")
            conn.execute(Q["resend"], {"id": delivery_id, "now": now_ms})
            return rows.delivery(conn.execute(Q["get_delivery"], params).fetchone(), now_ms)

        delivery = await self._run(resend, write=True)
        if delivery is not None:
            self._work.set()
        return delivery

    async def recover(
        self, tenant_id: str, webhook_id: str, since_ms: int, until_ms: int, now_ms: int, limit: int
    ) -> int:
        params = {
            "webhook": webhook_id, "since": since_ms, "until": until_ms, "now": now_ms,
            "limit": limit,
        }  # fmt: skip

        def recover(conn: sqlite3.Connection) -> int:
            if self._get(conn, tenant_id, webhook_id) is None:
                return -1
            return conn.execute(Q["recover"], params).rowcount

        count = await self._run(recover, write=True)
        if count > 0:
            self._work.set()
        return count

    async def purge(self, before_ms: int, batch: int) -> int:
        params = {"before": before_ms, "batch": batch}
        cursor = await self._run(lambda conn: conn.execute(Q["purge"], params), write=True)
        return cursor.rowcount


def _settle_one(conn: sqlite3.Connection, s: Settlement, disable_after_ms: int) -> bool:
    """Apply one result if the lease is still ours; False when another worker took over."""
    if conn.execute(Q["settle"], rows.settle_params(s)).rowcount == 0:
        return False
    attempt, webhook_id = s.attempt, s.job.webhook_id
    if attempt is None:
        return True
    conn.execute(Q["record_attempt"], rows.attempt_params(attempt))
    conn.execute(Q["touch_webhook"], {"at": attempt.attempted_at, "id": webhook_id})
    if attempt.result.ok:
        conn.execute(Q["webhook_succeeded"], {"id": webhook_id})
        return True
    reason = s.disable_reason
    if reason is None:
        state = conn.execute(
            Q["webhook_failed"], {"at": attempt.attempted_at, "id": webhook_id}
        ).fetchone()
        reason = rows.failing_too_long(state, attempt.attempted_at, disable_after_ms)
    if reason is not None:
        conn.execute(Q["disable_webhook"], {"id": webhook_id, "reason": reason})
    return True
