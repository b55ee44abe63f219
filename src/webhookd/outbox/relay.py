"""The relay: committed outbox rows of an application's PostgreSQL into webhookd.

One round, in one transaction on the application's database:

1. claim up to `batch` rows, oldest first, `FOR UPDATE SKIP LOCKED` (several relays
   share the outbox; each row is held by one of them);
2. publish them into webhookd in one group-committed publish, each with its row's
   idempotency key (`Service.publish_relayed`);
3. move the rows that can never be published (an event type no longer in the
   catalog, say) to `webhookd_outbox.dead` with the reason, delete the others, commit.

A relay that dies after 2 and before 3 leaves the rows in the outbox; the next round
(of any relay) publishes them again with the same keys, which webhookd answers with
the events it already has. So each row becomes exactly one event in webhookd. Between
rounds the relay waits for `NOTIFY webhookd_outbox` (sent by every publish at commit),
or `poll` seconds at most.
"""

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence

import asyncpg

from webhookd.domain import numbers
from webhookd.errors import Unavailable
from webhookd.metrics import OutboxMetrics
from webhookd.outbox import schema
from webhookd.service import NewEvent, Relayed

log = logging.getLogger("webhookd.outbox")

Publish = Callable[[Sequence[NewEvent]], Awaitable[Relayed]]

CLAIM = """
SELECT id, idempotency_key, tenant_id, event, data::text AS data
FROM webhookd_outbox.events ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED
"""
BURY = """
INSERT INTO webhookd_outbox.dead (id, idempotency_key, tenant_id, event, data, created_at, reason)
SELECT e.id, e.idempotency_key, e.tenant_id, e.event, e.data, e.created_at, d.reason
FROM webhookd_outbox.events e JOIN unnest($1::bigint[], $2::text[]) AS d(id, reason) USING (id)
"""
DELETE = "DELETE FROM webhookd_outbox.events WHERE id = ANY($1::bigint[])"
CHANNEL = "webhookd_outbox"
STATE_EVERY = 5.0  # seconds between readings of the backlog and lag for /metrics


class Relay:
    def __init__(
        self,
        source: str,
        publish: Publish,
        *,
        metrics: OutboxMetrics | None = None,
        batch: int = 500,
        poll: float = 1.0,
        retry_after: float = 1.0,
        exact_numbers: bool = True,
    ) -> None:
        self.source = source
        self.publish = publish
        self.metrics = metrics
        self.batch = batch
        self.poll = poll
        self.retry_after = retry_after
        self.exact_numbers = exact_numbers  # WEBHOOKD_NUMBERS=exact (domain/numbers.py)
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Relay until `stop()`. A database that is down (either one) is logged and
        tried again `retry_after` seconds later; nothing is lost meanwhile."""
        while not self._stopping.is_set():
            try:
                await self._run_connected()
            except (OSError, TimeoutError, asyncpg.PostgresError, Unavailable) as exc:
                reason = exc.message if isinstance(exc, Unavailable) else f"{exc}"
                log.warning(
                    "outbox relay: %s; trying again in %g s", reason or type(exc), self.retry_after
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.retry_after)

    async def _run_connected(self) -> None:
        conn = await asyncpg.connect(self.source, timeout=30)
        listener = await asyncpg.connect(self.source, timeout=30)
        try:
            if not await schema.installed(conn):
                raise Unavailable(
                    "the outbox is not installed in the source database: run "
                    "`webhookd outbox install --database <source>`"
                )
            await listener.add_listener(CHANNEL, lambda *_: self._wake.set())
            log.info("outbox relay started")
            loop = asyncio.get_running_loop()
            next_state = 0.0
            while not self._stopping.is_set():
                self._wake.clear()
                moved = await self.relay_once(conn)
                if self.metrics is not None and loop.time() >= next_state:
                    await self._read_state(conn)
                    next_state = loop.time() + STATE_EVERY
                if moved < self.batch:  # drained: wait for a publish, or the next poll
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.poll)
        finally:
            await listener.close(timeout=5)
            await conn.close(timeout=5)

    async def relay_once(self, conn: asyncpg.Connection) -> int:
        """One round (module docstring); how many rows it took off the outbox."""
        async with conn.transaction():
            rows = await conn.fetch(CLAIM, self.batch)
            if not rows:
                return 0
            items = [
                NewEvent(
                    row["tenant_id"], row["event"], json.loads(row["data"]), row["idempotency_key"]
                )
                for row in rows
            ]
            refused: dict[int, str] = {}
            candidates = []
            for index, row in enumerate(rows):
                found = numbers.inexact(row["data"], "data") if self.exact_numbers else None
                if found is not None:
                    refused[index] = numbers.refusal(*found)
                else:
                    candidates.append(index)
            relayed = await self.publish([items[index] for index in candidates])
            refused.update({candidates[i]: reason for i, reason in relayed.refused.items()})
            if refused:
                dead = sorted(refused)
                await conn.execute(BURY, [rows[i]["id"] for i in dead], [refused[i] for i in dead])
                for index in dead:
                    log.warning(
                        "outbox row %d (%s for tenant %s) cannot be published, moved to "
                        "webhookd_outbox.dead: %s",
                        rows[index]["id"],
                        rows[index]["event"][:100],
                        rows[index]["tenant_id"][:100],
                        refused[index],
                    )
            await conn.execute(DELETE, [row["id"] for row in rows])
        if self.metrics is not None:
            self.metrics.relayed.inc(len(relayed.published))
            self.metrics.dead.inc(len(refused))
        return len(rows)

    async def _read_state(self, conn: asyncpg.Connection) -> None:
        assert self.metrics is not None
        state = await schema.state(conn)
        self.metrics.backlog.set(state.backlog)
        self.metrics.lag.set(state.lag_seconds)
