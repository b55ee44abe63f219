"""`ProgramStore`: the Store protocol, once, over an engine that runs programs.

An engine (SQLite, PostgreSQL) subclasses it and supplies four things: how to run a
program in one transaction, how to announce new work, how to wait for it, and how
to connect, migrate and close. Everything else is shared (see programs.py).
"""

import secrets
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import TypeVar

from webhookd.domain.circuit import DEFAULT_BREAKER, Breaker
from webhookd.domain.models import (
    Attempt,
    AuditEntry,
    Delivery,
    DeliveryDetail,
    DeliveryStatus,
    Event,
    Settlement,
    Webhook,
)
from webhookd.store import programs
from webhookd.store.base import (
    Claimed,
    ClaimRequest,
    DeliveryFilter,
    Published,
    QueueStats,
    WebhookChanges,
)
from webhookd.store.group import GroupCommit
from webhookd.store.programs import Program

T = TypeVar("T")
Publish = tuple[list[tuple[Event, str | None]], int]  # events with their keys; the window


class ProgramStore(ABC):
    # Publishes that find this many transactions of theirs under way queue and share the
    # next one (store/group.py). SQLite writes one at a time anyway, so a queued publish
    # loses nothing by sharing the next commit (one fsync). PostgreSQL runs them side by
    # side on its pool: with one writer, measured, they waited for each other (POST
    # /events p99 30 -> 340 ms beside a tenant publishing to 240 endpoints); with several,
    # they share transactions only when the pool is busy.
    publish_writers = 1
    _publishes: "GroupCommit[Publish, list[Published]] | None" = None

    @abstractmethod
    async def run(
        self,
        program: Program[T],
        *,
        write: bool,
        announce: bool = False,
        durable: bool = True,
        bounded: bool = True,
    ) -> T:
        """Run `program` in one transaction; with `announce`, wake workers once committed.

        `bounded=False` marks a read whose cost grows with the data (counting a backlog):
        an engine that runs small reads on its event loop sends those elsewhere.

        `durable=False` marks queue bookkeeping that at-least-once delivery can afford to
        lose in a crash of the database server itself (claims and settles: a lost one
        means the delivery is leased or sent again), so an engine may commit it without
        waiting for the disk. Accepted events and every API change stay durable."""

    @abstractmethod
    async def open(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def ping(self) -> None: ...

    @abstractmethod
    async def wait_for_work(self, timeout: float) -> None: ...

    # webhooks
    async def create_webhook(
        self, webhook: Webhook, audit: AuditEntry | None = None, *, limit: int | None = None
    ) -> None:
        program = programs.create_webhook(webhook, limit)
        await self.run(programs.audited(program, audit), write=True)

    async def list_webhooks(self, tenant_id: str) -> list[Webhook]:
        return await self.run(programs.list_webhooks(tenant_id), write=False)

    async def get_webhook(self, tenant_id: str, webhook_id: str) -> Webhook | None:
        return await self.run(programs.get_webhook(tenant_id, webhook_id), write=False)

    async def update_webhook(
        self,
        tenant_id: str,
        webhook_id: str,
        changes: WebhookChanges,
        audit: AuditEntry | None = None,
    ) -> Webhook | None:
        program = programs.update_webhook(tenant_id, webhook_id, changes)
        return await self.run(programs.audited(program, audit), write=True)

    async def toggle_webhook(
        self, tenant_id: str, webhook_id: str, audit: AuditEntry | None = None
    ) -> Webhook | None:
        program = programs.toggle_webhook(tenant_id, webhook_id)
        audited = programs.audited(program, audit, lambda w: {"active": w is not None and w.active})
        return await self.run(audited, write=True)

    async def rotate_secret(
        self,
        tenant_id: str,
        webhook_id: str,
        sealed: str,
        grace_ms: int,
        now_ms: int,
        audit: AuditEntry | None = None,
    ) -> Webhook | None:
        program = programs.rotate_secret(tenant_id, webhook_id, sealed, grace_ms, now_ms)
        return await self.run(programs.audited(program, audit), write=True)

    async def delete_webhook(
        self, tenant_id: str, webhook_id: str, audit: AuditEntry | None = None
    ) -> bool:
        program = programs.delete_webhook(tenant_id, webhook_id)
        return await self.run(programs.audited(program, audit), write=True)

    # events and the queue
    async def publish(
        self, event: Event, idempotency_key: str | None, idempotency_window_ms: int
    ) -> Published:
        published = await self.publish_all([(event, idempotency_key)], idempotency_window_ms)
        return published[0]

    async def publish_all(
        self, items: Sequence[tuple[Event, str | None]], idempotency_window_ms: int
    ) -> list[Published]:
        """One program, group-committed where the engine asks for it (store/group.py):
        publishes that arrive while one is being written share the next transaction, each
        still all-or-nothing. A batch is one program, so it commits whole or not at all."""
        if self._publishes is None:
            self._publishes = GroupCommit(
                lambda batch: self.run(batch, write=True, announce=True),
                _publish_together,
                writers=self.publish_writers,
            )
        return await self._publishes.submit((list(items), idempotency_window_ms))

    async def claim(self, request: ClaimRequest) -> Claimed:
        program = programs.claim(request, secrets.token_hex(8))
        return await self.run(program, write=True, durable=False)

    async def settle(
        self,
        settlements: Sequence[Settlement],
        disable_after_ms: int,
        breaker: Breaker = DEFAULT_BREAKER,
    ) -> int:
        retry_now = any(s.status is DeliveryStatus.PENDING for s in settlements)
        program = programs.settle(settlements, disable_after_ms, breaker)
        return await self.run(program, write=True, announce=retry_now, durable=False)

    async def record_test(self, webhook: Webhook, event: Event, attempt: Attempt) -> str:
        return await self.run(programs.record_test(webhook, event, attempt), write=True)

    # the delivery log
    async def list_deliveries(
        self, tenant_id: str, webhook_id: str, where: DeliveryFilter, now_ms: int
    ) -> list[Delivery]:
        program = programs.list_deliveries(tenant_id, webhook_id, where, now_ms)
        return await self.run(program, write=False)

    async def get_delivery(
        self, tenant_id: str, webhook_id: str, delivery_id: str, now_ms: int
    ) -> DeliveryDetail | None:
        program = programs.get_delivery(tenant_id, webhook_id, delivery_id, now_ms)
        return await self.run(program, write=False)

    async def resend(
        self,
        tenant_id: str,
        webhook_id: str,
        delivery_id: str,
        now_ms: int,
        audit: AuditEntry | None = None,
    ) -> Delivery | None:
        program = programs.resend(tenant_id, webhook_id, delivery_id, now_ms)
        return await self.run(programs.audited(program, audit), write=True, announce=True)

    async def recover(
        self,
        tenant_id: str,
        webhook_id: str,
        since_ms: int,
        until_ms: int,
        now_ms: int,
        limit: int,
        audit: AuditEntry | None = None,
    ) -> int:
        program = programs.recover(tenant_id, webhook_id, since_ms, until_ms, now_ms, limit)
        audited = programs.audited(program, audit, lambda count: {"recovered": count})
        return await self.run(audited, write=True, announce=True)

    async def list_audit(self, tenant_id: str, before: str | None, limit: int) -> list[AuditEntry]:
        return await self.run(programs.list_audit(tenant_id, before, limit), write=False)

    async def reseal(self, transform: Callable[[str], str]) -> int:
        return await self.run(programs.reseal(transform), write=True)

    async def queue_stats(self, now_ms: int) -> QueueStats:
        return await self.run(programs.queue_stats(now_ms), write=False, bounded=False)

    async def purge(self, before_ms: int, batch: int) -> int:
        return await self.run(programs.purge(before_ms, batch), write=True)


def _publish_together(works: Sequence[Publish]) -> Program[list[list[Published]]]:
    """Several publishes in one transaction: their events as one `publish_all` (one
    statement per kind of row for them all) when they share an idempotency window,
    which they do outside tests; each publish's answers, in turn."""
    windows = {window for _, window in works}
    split: list[list[Published]] = []
    if len(windows) > 1:
        for items, window in works:
            split.append((yield from programs.publish_all(items, window)))
        return split
    answers = yield from programs.publish_all(
        [item for items, _ in works for item in items], windows.pop()
    )
    at = 0
    for items, _ in works:
        split.append(answers[at : at + len(items)])
        at += len(items)
    return split
