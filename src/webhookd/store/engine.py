"""The Store: every database operation webhookd performs, by name, defined once.

Each operation runs a transaction "program" (programs.py). An engine (SQLite,
PostgreSQL) subclasses `Store` and supplies four things: how to run a program in one
transaction, how to announce new work, how to wait for it, and how to connect,
migrate and close. One contract suite (tests/store/) runs against both engines.

Rules every engine keeps:
- every read and write of a tenant's data is scoped by `tenant_id`;
- `publish` writes the event and one delivery per subscribed, active webhook of the
  tenant in ONE transaction (the outbox): when it returns, nothing can be lost;
  `publish_all` does so for a batch of events, all of them in one transaction;
- `claim` leases due deliveries in one short transaction; `settle` applies a result
  only while the caller still holds the lease (`lease_token` matches);
- no transaction stays open across an HTTP call (the Store never makes one);
- a dependency failure raises `errors.Unavailable`, never a driver exception.
"""

import secrets
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import TypeVar

from webhookd.domain import stats
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


class Store(ABC):
    """Every database operation, each one program run by the engine's `run`."""

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
    async def open(self) -> None:
        """Connect, and apply pending migrations."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def ping(self) -> None:
        """Return when the database answers; raise Unavailable otherwise."""

    @abstractmethod
    async def wait_for_work(self, timeout: float) -> None:
        """Return when new deliveries may be due, or after `timeout` seconds."""

    # webhooks
    async def create_webhook(
        self, webhook: Webhook, audit: AuditEntry | None = None, *, limit: int | None = None
    ) -> None:
        """Every change takes an optional audit entry, written in the same transaction
        (and only when the change found what it acted on), and with it the operator's
        notice of the change, if there is an operator webhook (domain/operator.py)."""
        program = programs.create_webhook(webhook, limit)
        await self.run(programs.audited(program, audit), write=True, announce=True)

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
        return await self.run(programs.audited(program, audit), write=True, announce=True)

    async def toggle_webhook(
        self, tenant_id: str, webhook_id: str, audit: AuditEntry | None = None
    ) -> Webhook | None:
        """Flip `active` atomically (enabling clears `disabled_reason`)."""
        program = programs.toggle_webhook(tenant_id, webhook_id)
        audited = programs.audited(program, audit, lambda w: {"active": w is not None and w.active})
        return await self.run(audited, write=True, announce=True)

    async def rotate_secret(
        self,
        tenant_id: str,
        webhook_id: str,
        sealed: str,
        grace_ms: int,
        now_ms: int,
        audit: AuditEntry | None = None,
    ) -> Webhook | None:
        """Replace the (sealed) secret; the old one stays valid `grace_ms` more."""
        program = programs.rotate_secret(tenant_id, webhook_id, sealed, grace_ms, now_ms)
        return await self.run(programs.audited(program, audit), write=True, announce=True)

    async def delete_webhook(
        self, tenant_id: str, webhook_id: str, audit: AuditEntry | None = None
    ) -> bool:
        program = programs.delete_webhook(tenant_id, webhook_id)
        return await self.run(programs.audited(program, audit), write=True, announce=True)

    # events and the queue
    async def publish(
        self, event: Event, idempotency_key: str | None, idempotency_window_ms: int
    ) -> Published:
        """Store the event and its deliveries (due at `event.created_at`) in one transaction."""
        published = await self.publish_all([(event, idempotency_key)], idempotency_window_ms)
        return published[0]

    async def publish_all(
        self, items: Sequence[tuple[Event, str | None]], idempotency_window_ms: int
    ) -> list[Published]:
        """`publish` for each (event, idempotency key), in order, all in ONE transaction:
        all are stored or none. A reused key raises `KeyReused` naming the item.

        One program, group-committed where the engine asks for it (store/group.py):
        publishes that arrive while one is being written share the next transaction, each
        still all-or-nothing. A batch is one program, so it commits whole or not at all."""
        if self._publishes is None:
            self._publishes = GroupCommit(
                lambda batch: self.run(batch, write=True, announce=True),
                _publish_together,
                writers=self.publish_writers,
                key=_tenant_of,
            )
        return await self._publishes.submit((list(items), idempotency_window_ms))

    async def claim(self, request: ClaimRequest) -> Claimed:
        """Lease due deliveries until `now + lease`: retries within their slots, then first
        attempts in the rest (see ClaimRequest)."""
        program = programs.claim(request, secrets.token_hex(8))
        return await self.run(program, write=True, durable=False)

    async def settle(
        self,
        settlements: Sequence[Settlement],
        disable_after_ms: int,
        breaker: Breaker = DEFAULT_BREAKER,
    ) -> int:
        """Record attempts and new states; skip any whose lease was lost. Returns applied count.

        Also keeps each webhook's failure clock: a success resets it, and a webhook whose
        attempts have all failed for `disable_after_ms` is disabled with a reason; and
        its circuit, by `breaker`'s rules (domain/circuit.py). What the operator is to
        hear of it (an endpoint failing, disabled, recovered; a delivery's last attempt
        used) is queued to the operator's webhook in the same transaction
        (domain/operator.py), never about that webhook itself, which is never disabled.
        """
        # A retry is due, or a failure may have queued a notice to the operator.
        retry_now = any(s.status is not DeliveryStatus.DELIVERED for s in settlements)
        program = programs.settle(settlements, disable_after_ms, breaker)
        return await self.run(program, write=True, announce=retry_now, durable=False)

    async def set_operator(self, webhook: Webhook | None) -> None:
        """Make `webhook` the operator's webhook (its id and tenant are those of
        domain/operator.py), enabled; None disables the one there is. A webhook in
        that tenant is never listed, and a customer cannot name it."""
        await self.run(programs.set_operator(webhook), write=True)

    async def webhook_stats(
        self, tenant_id: str, webhook_id: str, window: stats.Window
    ) -> stats.Stats | None:
        """Deliveries by bucket and outcome, attempt latency, over `window`
        (domain/stats.py); None if the tenant has no such webhook."""
        program = programs.webhook_stats(tenant_id, webhook_id, window)
        return await self.run(program, write=False, bounded=False)

    async def record_test(self, webhook: Webhook, event: Event, attempt: Attempt) -> str:
        """Log a test send (already made) as a delivery with one attempt; its id."""
        return await self.run(programs.record_test(webhook, event, attempt), write=True)

    # the delivery log
    async def list_deliveries(
        self, tenant_id: str, webhook_id: str, where: DeliveryFilter, now_ms: int
    ) -> list[Delivery]:
        """Newest first."""
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
        """Make the delivery due now (same id). Raises Conflict while it is in flight."""
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
        """Re-queue failed deliveries created in [since, until), oldest first; how many."""
        program = programs.recover(tenant_id, webhook_id, since_ms, until_ms, now_ms, limit)
        audited = programs.audited(program, audit, lambda count: {"recovered": count})
        return await self.run(audited, write=True, announce=True)

    async def list_audit(self, tenant_id: str, before: str | None, limit: int) -> list[AuditEntry]:
        """The tenant's audit log, newest first, ids below `before`."""
        return await self.run(programs.list_audit(tenant_id, before, limit), write=False)

    async def reseal(self, transform: Callable[[str], str]) -> int:
        """Apply `transform` to every stored sealed secret; how many webhooks."""
        return await self.run(programs.reseal(transform), write=True)

    async def queue_stats(self, now_ms: int) -> QueueStats:
        """The backlog and the number of auto-disabled webhooks, as of `now_ms`."""
        return await self.run(programs.queue_stats(now_ms), write=False, bounded=False)

    async def purge(self, before_ms: int, batch: int) -> int:
        """Delete up to `batch` finished events older than `before_ms` with their log."""
        return await self.run(programs.purge(before_ms, batch), write=True)


def _tenant_of(publish: Publish) -> str:
    """What a publish is grouped by: its (first) event's tenant (store/group.py)."""
    items, _ = publish
    return items[0][0].tenant_id if items else ""


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
