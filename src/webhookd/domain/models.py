"""The records webhookd keeps and passes around. Times are epoch milliseconds."""

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from webhookd.domain.endpoint import EndpointAuth


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class OldSecret:
    """A replaced signing secret, still signing deliveries until `until` (epoch ms)."""

    sealed: str
    until: int


@dataclass(frozen=True, slots=True)
class Circuit:
    """An endpoint's circuit breaker (domain/circuit.py has the rules)."""

    failures: int = 0  # breaker failures in a row
    trips: int = 0  # openings since the last success
    until: int | None = None  # open until then (epoch ms); half-open once passed

    def is_open(self, now_ms: int) -> bool:
        return self.until is not None and self.until > now_ms


@dataclass(frozen=True, slots=True)
class Webhook:
    id: str
    tenant_id: str
    url: str
    events: tuple[str, ...]
    description: str
    secret: str  # sealed (see sealing.py): never the plaintext
    active: bool
    created_at: int
    last_triggered_at: int | None = None
    disabled_reason: str | None = None  # set when webhookd disabled it, cleared on enable
    old_secrets: tuple[OldSecret, ...] = ()  # newest first
    rate_limit: int | None = None  # deliveries per second at most; None: no limit
    failing_since: int | None = None  # first failed attempt since the last success
    circuit: Circuit = Circuit()
    fifo: bool = False  # ordering "fifo": one at a time, in the order publishes committed
    filter: str | None = None  # payload filter, JSON text (domain/filters.py); None: none
    headers: tuple[tuple[str, str], ...] = ()  # custom headers sent with every request
    auth: EndpointAuth | None = None  # how requests authenticate (domain/endpoint.py)


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    tenant_id: str
    type: str
    body: bytes  # the exact delivery body, serialized once by domain/jsjson
    created_at: int
    fingerprint: str = ""  # of the type and data: a reused idempotency key must match it
    # The data as published, for payload filters at fan-out; None: read it from the body.
    data: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str
    event_id: str
    webhook_id: str
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: int | None  # None once delivered or failed
    created_at: int
    last_attempt_at: int | None = None
    last_http_status: int | None = None
    in_flight: bool = False
    manual: bool = False  # a resend outside its retry chain (and outside an ordered queue)
    blocked_by: str | None = None  # an ordered webhook's: the head of the queue it waits for


@dataclass(frozen=True, slots=True)
class Job:
    """A claimed delivery with everything needed to send it, held under a lease."""

    delivery_id: str
    webhook_id: str
    event_type: str
    url: str
    secret: str  # sealed
    webhook_active: bool
    body: bytes
    attempts: int
    lease_token: str
    manual: bool = False  # a one-off resend: no automatic retry chain follows it
    old_secrets: tuple[OldSecret, ...] = ()
    probe: bool = False  # sent while the webhook's circuit is half-open
    fifo: bool = False  # its webhook delivers in order: the head of the queue
    headers: tuple[tuple[str, str], ...] = ()
    auth: EndpointAuth | None = None


@dataclass(frozen=True, slots=True)
class SendResult:
    """What one HTTP attempt gave: a status, or an error when no answer came."""

    http_status: int | None
    error: str | None
    duration_ms: int
    response_excerpt: str = ""
    retry_after: str | None = None  # the answer's Retry-After header, as sent
    # The attempt failed in webhookd's own egress (the proxy was down or refused it): it
    # never reached the endpoint, so it counts for nothing against it (no circuit, no
    # failure clock, no place in the retry schedule).
    egress_fault: bool = False

    @property
    def ok(self) -> bool:
        return self.http_status is not None and 200 <= self.http_status < 300


@dataclass(frozen=True, slots=True)
class Attempt:
    delivery_id: str
    attempted_at: int
    result: SendResult
    request_headers: dict[str, str] = field(default_factory=dict)  # auth redacted: no secrets


@dataclass(frozen=True, slots=True)
class Settlement:
    """How one attempt ends a job: the new status and, if pending, when to try again."""

    job: Job
    attempt: Attempt | None
    status: DeliveryStatus
    next_attempt_at: int | None = None
    disable_reason: str | None = None  # disable the webhook now (410 Gone)


@dataclass(frozen=True, slots=True)
class DeliveryDetail:
    """One delivery for the log: its state, the exact body sent, every attempt."""

    delivery: Delivery
    body: bytes
    attempts: list[Attempt]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One change, for the append-only audit log. `details` never holds a secret."""

    id: str
    tenant_id: str
    actor: str  # the token's subject, or "webhookd" for what it did by itself
    action: str
    webhook_id: str | None
    at: int
    details: dict[str, object] = field(default_factory=dict)
