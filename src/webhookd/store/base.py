"""The Store: every database operation webhookd performs, by name. SQLite and
PostgreSQL implement it; one contract suite (tests/store/) runs against both.

Rules every implementation keeps:
- every read and write of a tenant's data is scoped by `tenant_id`;
- `publish` writes the event and one delivery per subscribed, active webhook of the
  tenant in ONE transaction (the outbox): when it returns, nothing can be lost;
- `claim` leases due deliveries in one short transaction; `settle` applies a result
  only while the caller still holds the lease (`lease_token` matches);
- no transaction stays open across an HTTP call (the Store never makes one);
- a dependency failure raises `errors.Unavailable`, never a driver exception.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from webhookd.domain.models import Event, Job, Settlement, Webhook


@dataclass(frozen=True, slots=True)
class WebhookChanges:
    """Fields a PATCH may change; None leaves a field as it is."""

    url: str | None = None
    events: tuple[str, ...] | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Published:
    event_id: str
    deliveries: int
    created: bool  # False when an idempotency key matched an earlier event


class Store(Protocol):
    async def open(self) -> None:
        """Connect, and apply pending migrations."""

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Return when the database answers; raise Unavailable otherwise."""

    # webhooks
    async def create_webhook(self, webhook: Webhook) -> None: ...

    async def list_webhooks(self, tenant_id: str) -> list[Webhook]: ...

    async def get_webhook(self, tenant_id: str, webhook_id: str) -> Webhook | None: ...

    async def update_webhook(
        self, tenant_id: str, webhook_id: str, changes: WebhookChanges
    ) -> Webhook | None: ...

    async def toggle_webhook(self, tenant_id: str, webhook_id: str) -> Webhook | None:
        """Flip `active` atomically; the webhook as it is afterwards."""

    async def delete_webhook(self, tenant_id: str, webhook_id: str) -> bool: ...

    async def mark_triggered(self, webhook_id: str, at_ms: int) -> None: ...

    # events and the delivery queue
    async def publish(
        self, event: Event, idempotency_key: str | None, idempotency_window_ms: int
    ) -> Published:
        """Store the event and its deliveries (due at `event.created_at`) in one transaction."""

    async def claim(self, now_ms: int, limit: int, lease_ms: int) -> list[Job]:
        """Lease up to `limit` due deliveries until `now_ms + lease_ms`."""

    async def settle(self, settlements: Sequence[Settlement], now_ms: int) -> int:
        """Record attempts and new states; skip any whose lease was lost. Returns applied count."""

    async def wait_for_work(self, timeout: float) -> None:
        """Return when new deliveries may be due, or after `timeout` seconds."""
