"""webhookd's Python client (docs/client.md).

- `Client` / `AsyncClient`: publish events with the ingest key (`POST /events`,
  `POST /events/batch`).
- `DashboardClient` / `AsyncDashboardClient`: a tenant's webhooks and delivery log
  with its JWT (every `/dashboard` route).

Every failure is a `WebhookdAPIError` (`status_code` 0 when no answer came). Idempotent
calls are retried on no answer and on 429/502/503/504 (`RetryPolicy`); a create, toggle,
test send, rotation, resend or recover never is. Answers are the API's JSON objects,
typed as TypedDicts (camelCase, as docs/api.md names them).
"""

from webhookd.client._async import AsyncClient, AsyncDashboardClient
from webhookd.client._calls import UNSET, Unset
from webhookd.client._core import DEFAULT_TIMEOUT, RetryPolicy, WebhookdAPIError
from webhookd.client._sync import Client, DashboardClient
from webhookd.client._types import (
    Attempt,
    AuditEntry,
    CreatedWebhook,
    Delivery,
    DeliveryDetail,
    DeliveryStatus,
    EventType,
    Health,
    HealthStatus,
    NewEvent,
    Page,
    Published,
    Recovered,
    RotatedSecret,
    SendTestResult,
    Toggled,
    Webhook,
    WebhookAuth,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "UNSET",
    "AsyncClient",
    "AsyncDashboardClient",
    "Attempt",
    "AuditEntry",
    "Client",
    "CreatedWebhook",
    "DashboardClient",
    "Delivery",
    "DeliveryDetail",
    "DeliveryStatus",
    "EventType",
    "Health",
    "HealthStatus",
    "NewEvent",
    "Page",
    "Published",
    "Recovered",
    "RetryPolicy",
    "RotatedSecret",
    "SendTestResult",
    "Toggled",
    "Unset",
    "Webhook",
    "WebhookAuth",
    "WebhookdAPIError",
]
