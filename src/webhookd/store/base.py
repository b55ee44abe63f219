"""What the Store operations (engine.py) take and return, besides the domain's records."""

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

from webhookd.domain.endpoint import EndpointAuth
from webhookd.domain.models import DeliveryStatus, Job


@dataclass(frozen=True, slots=True)
class WebhookChanges:
    """Fields a PATCH may change; None leaves a field as it is."""

    url: str | None = None
    events: tuple[str, ...] | None = None
    description: str | None = None
    rate_limit: int | None = None  # 0 removes the limit
    fifo: bool | None = None  # ordering: True "fifo", False "none"
    filter: str | None = None  # payload filter text (domain/filters.py); "" removes it
    headers: tuple[tuple[str, str], ...] | None = None  # replaces them all; () removes them
    auth: EndpointAuth | None = None
    remove_auth: bool = False  # with auth None: the webhook has no auth any more


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
