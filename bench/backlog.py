"""Claim time with a large backlog on one endpoint the claim must skip, against the same
claim with no backlog: the `backlog` section of `make bench`, in-process on the Store API.

One webhook (tenant "big") gets BACKLOG due deliveries (a fifth of them retries) by
direct inserts; ten others (tenant "small") five due deliveries each, published through
the Store (two of each made retries), so every claim leases the same 50 jobs. The big
webhook is skipped one of two ways: *paused* (its circuit open until the year 3000) or
*saturated* (its circuit closed, but `ClaimRequest.busy` says it has one in flight and
its window is one, as a hung endpoint's is).

Claims must not change what the next one sees. Each claim is 2 ms after the one before,
with a lease of 1 ms: it takes the same 50 rows and leases them until a time the next
claim has passed, so every claim does the same reads and writes (a lease per job). The
request is a fresh default worker's (512 slots, windows of 32 for the ten proven
endpoints). Timed: `await store.claim(...)`, the median of CLAIMS after 20 not counted.
"""

import contextlib
import re
import sqlite3
import statistics
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import asyncpg

from webhookd.domain import ids
from webhookd.domain.models import Event, Webhook
from webhookd.store import programs, queries
from webhookd.store import sqlite as sqlite_engine
from webhookd.store.base import ClaimRequest
from webhookd.store.engine import Store
from webhookd.store.postgres import P, PostgresStore
from webhookd.store.sqlite import SQLiteStore

PAUSED_UNTIL = 32_503_680_000_000  # 3000-01-01
OTHERS = 10  # webhooks with work to claim
EVENTS = 5  # due deliveries each (the first RETRIED of them retries)
RETRIED = 2
CONCURRENCY = 512  # a default worker's
PER_WEBHOOK = 32
LEASE_MS = 1
STEP_MS = 2
WARM = 20
BODY = b'{"event":"verification.completed","data":{"recordId":"rec_1"}}'
KIND = "verification.completed"
MODES = ("paused", "saturated")


@dataclass
class Scene:
    big: str  # the webhook with the backlog
    others: list[str]
    now: int
    plans: dict[str, str] = field(default_factory=dict)

    def tick(self) -> int:
        self.now += STEP_MS
        return self.now

    def request(self, mode: str) -> ClaimRequest:
        busy = {self.big: 1} if mode == "saturated" else {}
        free = CONCURRENCY - len(busy)
        return ClaimRequest(
            now_ms=self.tick(), lease_ms=LEASE_MS, slots=free,
            retry_slots=min(free, CONCURRENCY - CONCURRENCY // 4), per_webhook=PER_WEBHOOK,
            busy=busy, caps=dict.fromkeys(self.others, PER_WEBHOOK), default_cap=1,
            unproven_slots=CONCURRENCY // 2 - len(busy), proven=frozenset(self.others),
        )  # fmt: skip

    def due_params(self, mode: str) -> dict[str, Any]:
        """The parameters programs.claim gives the `due` statement for `request(mode)`."""
        request = self.request(mode)
        full = sorted(w for w, n in request.busy.items() if n >= request.cap(w))
        return {"now": request.now_ms, "excluded": full, "only": None,
                **programs.due_rooms(request, request.busy),
                "retry_limit": request.retry_slots * 4,
                "first_limit": request.slots * 4}  # fmt: skip


class Engine(Protocol):
    @property
    def store(self) -> Store: ...

    async def insert(self, events: list[tuple[Any, ...]], deliveries: list[tuple[Any, ...]],
                     ) -> None: ...  # fmt: skip

    async def execute(self, sql: str, *args: Any) -> None: ...

    async def explain(self, params: dict[str, Any]) -> str: ...


EVENT_COLUMNS = ("id", "tenant_id", "type", "body", "deliveries", "created_at")
DELIVERY_COLUMNS = ("id", "event_id", "webhook_id", "tenant_id", "event_type", "status",
                    "attempts", "next_attempt_at", "created_at")  # fmt: skip


class SQLite:
    def __init__(self, path: Path) -> None:
        self.store = SQLiteStore(path)
        self.path = path

    @contextlib.contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        with contextlib.closing(sqlite3.connect(self.path, timeout=10)) as conn:
            yield conn

    async def insert(self, events: list[tuple[Any, ...]], deliveries: list[tuple[Any, ...]],
                     ) -> None:  # fmt: skip
        with self._conn() as conn, conn:
            conn.executemany(_insert("events", EVENT_COLUMNS, "?"), events)
            conn.executemany(_insert("deliveries", DELIVERY_COLUMNS, "?"), deliveries)

    async def execute(self, sql: str, *args: Any) -> None:
        with self._conn() as conn, conn:
            conn.execute(re.sub(r"\$\d+", "?", sql), args)

    async def explain(self, params: dict[str, Any]) -> str:
        with self._conn() as conn:
            due = queries.load("sqlite")["due"]
            plan = conn.execute("EXPLAIN QUERY PLAN " + due, sqlite_engine.bind(params))
            depth: dict[int, int] = {0: -1}
            lines = []
            for node, parent, _, detail in plan.fetchall():
                depth[node] = depth.get(parent, -1) + 1
                lines.append("  " * depth[node] + detail)
        return "\n".join(lines)


class Postgres:
    def __init__(self, dsn: str) -> None:
        self.store = PostgresStore(dsn, pool_size=4)
        self.dsn = dsn

    @contextlib.asynccontextmanager
    async def _conn(self) -> AsyncIterator[asyncpg.Connection]:
        conn = await asyncpg.connect(self.dsn)
        try:
            yield conn
        finally:
            await conn.close()

    async def insert(self, events: list[tuple[Any, ...]], deliveries: list[tuple[Any, ...]],
                     ) -> None:  # fmt: skip
        async with self._conn() as conn:
            await conn.copy_records_to_table("events", records=events, columns=EVENT_COLUMNS)
            await conn.copy_records_to_table("deliveries", records=deliveries,
                                             columns=DELIVERY_COLUMNS)  # fmt: skip
            await conn.execute("VACUUM (ANALYZE) events, deliveries")  # as autovacuum would

    async def execute(self, sql: str, *args: Any) -> None:
        async with self._conn() as conn:
            await conn.execute(sql, *args)

    async def explain(self, params: dict[str, Any]) -> str:
        due = P["due"]
        async with self._conn() as conn:
            transaction = conn.transaction()
            await transaction.start()
            try:  # the statement locks what it finds (FOR UPDATE SKIP LOCKED): roll back
                plan = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + due.sql,
                                        *due.args(params))  # fmt: skip
            finally:
                await transaction.rollback()
        return "\n".join(row[0] for row in plan)


def _insert(table: str, columns: tuple[str, ...], mark: str) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"


def _webhook(tenant: str, now: int) -> Webhook:
    return Webhook(id=ids.new_id(ids.WEBHOOK, now), tenant_id=tenant,
                   url="https://example.com/hook", events=("*",), description="",
                   secret="unused", active=True, created_at=now)  # fmt: skip


async def _scene(engine: Engine) -> Scene:
    """The webhooks, and the small set of due work every claim takes."""
    now = int(time.time() * 1000)
    big = _webhook("big", now)
    await engine.store.create_webhook(big)
    others = [_webhook("small", now) for _ in range(OTHERS)]
    for hook in others:
        await engine.store.create_webhook(hook)
    created = now - 600_000
    events = [Event(ids.new_id(ids.EVENT, created + n), "small", KIND, BODY, created + n)
              for n in range(EVENTS)]  # fmt: skip
    for event in events:
        await engine.store.publish(event, None, 86_400_000)
    for event in events[:RETRIED]:
        await engine.execute("UPDATE deliveries SET attempts = 1 WHERE event_id = $1", event.id)
    return Scene(big.id, [hook.id for hook in others], now)


async def _backlog(engine: Engine, scene: Scene, count: int) -> None:
    start = scene.now - 3_600_000
    events, deliveries = [], []
    for n in range(count):
        at = start + n * 3_600_000 // count
        event_id = ids.new_id(ids.EVENT, at)
        events.append((event_id, "big", KIND, BODY, 1, at))
        deliveries.append((ids.new_id(ids.DELIVERY, at), event_id, scene.big, "big", KIND,
                           "pending", 1 if n % 5 == 0 else 0, at, at))  # fmt: skip
    await engine.insert(events, deliveries)


async def _pause(engine: Engine, scene: Scene, mode: str) -> None:
    until = PAUSED_UNTIL if mode == "paused" else None
    await engine.execute("UPDATE webhooks SET circuit_until = $1 WHERE id = $2", until, scene.big)


async def _time_claims(engine: Engine, scene: Scene, mode: str, claims: int) -> dict[str, Any]:
    await _pause(engine, scene, mode)
    times: list[float] = []
    leased: set[int] = set()
    for n in range(WARM + claims):
        request = scene.request(mode)
        started = time.perf_counter()
        claimed = await engine.store.claim(request)
        elapsed = (time.perf_counter() - started) * 1000
        leased.add(len(claimed.jobs))
        if n >= WARM:
            times.append(elapsed)
    times.sort()
    return {"median_ms": statistics.median(times), "p90_ms": times[int(0.9 * (len(times) - 1))],
            "min_ms": times[0], "jobs_per_claim": sorted(leased)}  # fmt: skip


async def measure(engine: Engine, backlog: int, claims: int) -> dict[str, Any]:
    """{mode: {"empty": timing, "backlog": timing}}, the plans, and the setup's times."""
    await engine.store.open()
    try:
        scene = await _scene(engine)
        result: dict[str, Any] = {mode: {} for mode in MODES}
        for mode in MODES:
            result[mode]["empty"] = await _time_claims(engine, scene, mode, claims)
        started = time.perf_counter()
        await _backlog(engine, scene, backlog)
        result["insert_seconds"] = time.perf_counter() - started
        for mode in MODES:
            result[mode]["backlog"] = await _time_claims(engine, scene, mode, claims)
            await _pause(engine, scene, mode)
            result[mode]["plan"] = await engine.explain(scene.due_params(mode))
    finally:
        await engine.store.close()
    return result
