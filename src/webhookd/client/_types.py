"""What the API answers, as TypedDicts: each value IS the JSON object the server sent
(a plain dict at run time), so a field a newer server adds is kept and readable as
`webhook["someNewField"]`, and nothing breaks on it. Field names are the API's own
(camelCase); docs/api.md describes each one."""

from typing import Any, Generic, Literal, Required, TypedDict, TypeVar

T = TypeVar("T")

DeliveryStatus = Literal["pending", "delivered", "failed"]
HealthStatus = Literal["healthy", "failing", "paused"]


class NewEvent(TypedDict, total=False):
    """One event to publish, as `POST /events` and `POST /events/batch` take it."""

    tenantId: Required[str]
    event: Required[str]
    data: dict[str, Any]
    idempotencyKey: str


class Published(TypedDict):
    """`POST /events`' answer, and each item of `POST /events/batch`'s."""

    id: str
    deliveries: int


class Health(TypedDict):
    status: HealthStatus
    failingSince: str | None
    consecutiveFailures: int
    nextProbeAt: str | None


class WebhookAuth(TypedDict, total=False):
    """A webhook's `auth` as answers show it: the type and who, never the secret."""

    type: Required[Literal["basic", "bearer", "header", "oauth2"]]
    username: str  # basic
    name: str  # header
    clientId: str  # oauth2
    tokenUrl: str  # oauth2


class Webhook(TypedDict, total=False):
    """A webhook as list, get and update answer it. Fields other than the seed's six may
    be missing from older servers; a newer server's additions are kept as they came."""

    id: Required[str]
    url: Required[str]
    events: Required[list[str]]
    description: Required[str]
    active: Required[bool]
    createdAt: Required[str]
    lastTriggeredAt: str | None
    disabledReason: str | None
    rateLimit: int | None
    ordering: Literal["none", "fifo"]
    filter: dict[str, Any] | None
    headers: dict[str, str]  # custom headers sent with every request
    auth: WebhookAuth | None
    health: Health


class CreatedWebhook(Webhook):
    """The create answer: the webhook with its signing secret, shown this once."""

    secret: Required[str]


class Toggled(TypedDict):
    id: str
    active: bool
    message: str


class SendTestResult(TypedDict):
    """What a test send did: `httpStatus` is None when the endpoint did not answer."""

    success: bool
    httpStatus: int | None
    message: str


class RotatedSecret(TypedDict):
    id: str
    secret: str
    previousSecretExpiresAt: str | None


class Delivery(TypedDict):
    id: str
    eventId: str
    event: str
    status: DeliveryStatus
    attempts: int
    inFlight: bool
    createdAt: str
    lastAttemptAt: str | None
    lastHttpStatus: int | None
    nextAttemptAt: str | None
    blockedBy: str | None  # an ordered webhook's: the delivery at the head of its queue


class Attempt(TypedDict):
    attemptedAt: str
    durationMs: int
    httpStatus: int | None
    error: str | None
    responseExcerpt: str | None
    requestHeaders: dict[str, str]


class DeliveryDetail(Delivery):
    """One delivery with the exact body sent (parsed) and every attempt, oldest first."""

    payload: Any
    attemptLog: list[Attempt]


class Page(TypedDict, Generic[T]):
    """A page of a list, newest first; `nextCursor` fetches the next one (None: the last)."""

    data: list[T]
    nextCursor: str | None


class AuditEntry(TypedDict):
    id: str
    at: str
    actor: str
    action: str
    webhookId: str | None
    details: dict[str, Any]


class EventType(TypedDict):
    name: str
    description: str


class Recovered(TypedDict):
    recovered: int
