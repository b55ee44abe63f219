"""The Store: every database operation webhookd performs, by name. SQLite and
PostgreSQL implement it; one contract suite (tests/store/) runs against both.

Rules every implementation keeps:
- every read and write of a tenant's data is scoped by `tenant_id`;
- `publish` writes the event and one delivery per subscribed, active webhook of the
  tenant in ONE transaction (the outbox): when it returns, nothing can be lost;
  `publish_all` does so for a batch of events, all of them in one transaction;
- `claim` leases due deliveries in one short transaction; `settle` applies a result
  only while the caller still holds the lease (`lease_token` matches);
- no transaction stays open across an HTTP call (the Store never makes one);
- a dependency failure raises `errors.Unavailable`, never a driver exception.
"""

from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Protocol

from webhookd.domain.circuit import DEFAULT_BREAKER, Breaker
from webhookd.domain.models import (
    Attempt,
    AuditEntry,
    Delivery,
    DeliveryDetail,
    DeliveryStatus,
    Event,
    Job,
    Settlement,
    Webhook,
)


@dataclass(frozen=True, slots=True)
class WebhookChanges:
    """Fields a PATCH may change; None leaves a field as it is."""

    url: str | None = None
    events: tuple[str, ...] | None = None
    description: str | None = None
    rate_limit: int | None = None  # 0 removes the limit


@dataclass(frozen=True, slots=True)
class Published:
    event_id: str
    deliveries: int
    created: bool  # False when an idempotency key matched an earlier event


@dataclass(frozen=True, slots=True)
class QueueStats:
    """The queue at a glance, for /metrics."""

    pending: int  # deliveries waiting: due now or scheduled for a retry
    due: int  # of those, due now
    oldest_due_ms: int  # how long the oldest due delivery has waited; 0 when none is due
    auto_disabled: int  # webhooks webhookd disabled (failing too long, or 410 Gone)
    health: Mapping[str, int] = field(default_factory=dict)  # enabled webhooks by health


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    """How much work a worker can take now.

    Up to `slots` deliveries, of which at most `retry_slots` already attempted ones: the
    rest of the worker's slots stay reserved for first attempts, so a retry backlog
    cannot delay fresh events. No webhook gets more than its cap in flight, counting
    `busy` (what this worker already has in flight, per webhook): `caps` for the
    webhooks it names, `default_cap` for the others, never above `per_webhook`.
    With `unproven_slots` set, webhooks outside `proven` get at most that many of the
    slots (domain/flow.py). Paused webhooks are never claimed; a half-open one gives
    one delivery, its probe; a rate-limited one no more than its bucket holds.
    """

    now_ms: int
    lease_ms: int
    slots: int
    retry_slots: int
    per_webhook: int
    busy: Mapping[str, int]
    caps: Mapping[str, int] = field(default_factory=dict)
    default_cap: int | None = None
    unproven_slots: int | None = None
    proven: AbstractSet[str] = frozenset()

    def cap(self, webhook_id: str) -> int:
        cap = self.caps.get(webhook_id, self.default_cap)
        return self.per_webhook if cap is None else min(cap, self.per_webhook)


@dataclass(frozen=True, slots=True)
class Claimed:
    """What a claim leased, and when something it had to leave (a rate-limited webhook
    waiting for its next token) becomes claimable: the worker claims again then."""

    jobs: list[Job]
    wake_at: int | None = None


@dataclass(frozen=True, slots=True)
class DeliveryFilter:
    status: DeliveryStatus | None = None
    event_type: str | None = None
    before: str | None = None  # cursor: the last id of the previous page
    limit: int = 50


class Store(Protocol):
    async def open(self) -> None:
        """Connect, and apply pending migrations."""

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Return when the database answers; raise Unavailable otherwise."""

    # webhooks
    async def create_webhook(
        self, webhook: Webhook, audit: AuditEntry | None = None, *, limit: int | None = None
    ) -> None:
        """Every change takes an optional audit entry, written in the same transaction
        (and only when the change found what it acted on)."""

    async def list_webhooks(self, tenant_id: str) -> list[Webhook]: ...

    async def get_webhook(self, tenant_id: str, webhook_id: str) -> Webhook | None: ...

    async def update_webhook(
        self,
        tenant_id: str,
        webhook_id: str,
        changes: WebhookChanges,
        audit: AuditEntry | None = None,
    ) -> Webhook | None: ...

    async def toggle_webhook(
        self, tenant_id: str, webhook_id: str, audit: AuditEntry | None = None
    ) -> Webhook | None:
        """Flip `active` atomically (enabling clears `disabled_reason`)."""

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

    async def delete_webhook(
        self, tenant_id: str, webhook_id: str, audit: AuditEntry | None = None
    ) -> bool: ...

    # events and the delivery queue
    async def publish(
        self, event: Event, idempotency_key: str | None, idempotency_window_ms: int
    ) -> Published:
        """Store the event and its deliveries (due at `event.created_at`) in one transaction."""

    async def publish_all(
        self, items: Sequence[tuple[Event, str | None]], idempotency_window_ms: int
    ) -> list[Published]:
        """`publish` for each (event, idempotency key), in order, all in ONE transaction:
        all are stored or none. A reused key raises `KeyReused` naming the item."""

    async def claim(self, request: ClaimRequest) -> Claimed:
        """Lease due deliveries until `now + lease`: retries within their slots, then first
        attempts in the rest (see ClaimRequest)."""

    async def settle(
        self,
        settlements: Sequence[Settlement],
        disable_after_ms: int,
        breaker: Breaker = DEFAULT_BREAKER,
    ) -> int:
        """Record attempts and new states; skip any whose lease was lost. Returns applied count.

        Also keeps each webhook's failure clock: a success resets it, and a webhook whose
        attempts have all failed for `disable_after_ms` is disabled with a reason; and
        its circuit, by `breaker`'s rules (domain/circuit.py).
        """

    async def record_test(self, webhook: Webhook, event: Event, attempt: Attempt) -> str:
        """Log a test send (already made) as a delivery with one attempt; its id."""

    async def wait_for_work(self, timeout: float) -> None:
        """Return when new deliveries may be due, or after `timeout` seconds."""

    # the delivery log
    async def list_deliveries(
        self, tenant_id: str, webhook_id: str, where: DeliveryFilter, now_ms: int
    ) -> list[Delivery]:
        """Newest first."""

    async def get_delivery(
        self, tenant_id: str, webhook_id: str, delivery_id: str, now_ms: int
    ) -> DeliveryDetail | None: ...

    async def resend(
        self,
        tenant_id: str,
        webhook_id: str,
        delivery_id: str,
        now_ms: int,
        audit: AuditEntry | None = None,
    ) -> Delivery | None:
        """Make the delivery due now (same id). Raises Conflict while it is in flight."""

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

    async def list_audit(self, tenant_id: str, before: str | None, limit: int) -> list[AuditEntry]:
        """The tenant's audit log, newest first, ids below `before`."""

    async def reseal(self, transform: Callable[[str], str]) -> int:
        """Apply `transform` to every stored sealed secret; how many webhooks."""

    async def queue_stats(self, now_ms: int) -> QueueStats:
        """The backlog and the number of auto-disabled webhooks, as of `now_ms`."""
        ...

    async def purge(self, before_ms: int, batch: int) -> int:
        """Delete up to `batch` finished events older than `before_ms` with their log."""
