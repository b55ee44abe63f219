"""Examples for the OpenAPI document: the seed's own values wherever the seed shows them.

`tests/api/test_openapi.py` checks each example against a real answer of the same
route (same keys, same types), so an example cannot drift from what webhookd says.
"""

from http import HTTPStatus
from typing import Any

WH = "wh_abc123"
DLV = "dlv_01jxd2k3m4n5p6q7r8s9t0v1w2"
EVT = "evt_01jxd2k3m4n5p6q7r8s9t0v1w2"
CREATED = "2025-06-01T12:00:00.000Z"
TRIGGERED = "2025-06-10T15:22:00.000Z"
URL = "https://your-app.com/webhooks/pacspace"
EVENTS = ["verification.completed", "verification.failed"]

HEALTHY = {"status": "healthy", "failingSince": None, "consecutiveFailures": 0, "nextProbeAt": None}
WEBHOOK = {
    "id": WH,
    "url": URL,
    "events": EVENTS,
    "description": "Production webhook",
    "active": True,
    "createdAt": CREATED,
    "lastTriggeredAt": TRIGGERED,
    "disabledReason": None,
    "rateLimit": None,
    "ordering": "none",
    "filter": None,
    "headers": {"X-Customer-Id": "cus_42"},
    "auth": {"type": "bearer"},
    "health": HEALTHY,
}
FILTER = {"amount": {"$gte": 100}, "currency": {"$in": ["EUR", "USD"]}}
RECORDS_ONLY = {"recordId": {"$exists": True}}  # the PATCH example's: the events below match
# A webhook whose endpoint stopped answering: its circuit is open until the probe.
PAUSED = {
    **WEBHOOK,
    "id": "wh_def456",
    "url": "https://your-app.com/webhooks/eu",
    "description": "Production (EU)",
    "rateLimit": 50,
    "filter": FILTER,
    "headers": {},
    "auth": {
        "type": "oauth2",
        "clientId": "webhookd-eu",
        "tokenUrl": "https://auth.your-app.com/oauth/token",
    },
    "health": {
        "status": "paused",
        "failingSince": "2025-06-10T15:20:00.000Z",
        "consecutiveFailures": 5,
        "nextProbeAt": "2025-06-10T15:22:30.000Z",
    },
}
DELIVERY = {
    "id": DLV,
    "eventId": EVT,
    "event": "verification.completed",
    "status": "delivered",
    "attempts": 1,
    "inFlight": False,
    "createdAt": TRIGGERED,
    "lastAttemptAt": "2025-06-10T15:22:00.041Z",
    "lastHttpStatus": 200,
    "nextAttemptAt": None,
    "blockedBy": None,
}
ATTEMPT = {
    "attemptedAt": "2025-06-10T15:22:00.041Z",
    "durationMs": 38,
    "httpStatus": 200,
    "error": None,
    "responseExcerpt": "OK",
    "requestHeaders": {
        "Content-Type": "application/json",
        "X-PacSpace-Event": "verification.completed",
        "X-PacSpace-Delivery": DLV,
        "X-PacSpace-Timestamp": "1749568920",
        "X-Customer-Id": "cus_42",
        "Authorization": "Bearer [redacted]",
    },
}


def _ok(status: int, data: Any) -> dict[str, Any]:
    return {"statusCode": status, "data": data}


REQUESTS: dict[tuple[str, str], Any] = {
    ("post", "/dashboard/webhooks"): {
        "url": URL,
        "events": EVENTS,
        "description": "Production webhook",
    },
    ("patch", "/dashboard/webhooks/{webhook_id}"): {
        "description": "Production (EU)",
        "rateLimit": 50,
        "filter": RECORDS_ONLY,
        "headers": {"X-Customer-Id": "cus_42"},
        "auth": {"type": "bearer", "token": "your-endpoint-token"},
    },
    ("post", "/dashboard/webhooks/{webhook_id}/rotate-secret"): {"graceSeconds": 86400},
    ("post", "/dashboard/webhooks/{webhook_id}/recover"): {
        "since": "2025-06-10T00:00:00.000Z",
        "until": "2025-06-10T18:00:00.000Z",
    },
    ("post", "/events"): {
        "tenantId": "acme",
        "event": "verification.completed",
        "data": {"recordId": "rec_123"},
        "idempotencyKey": "job-42",
    },
    ("post", "/events/batch"): {
        "events": [
            {
                "tenantId": "acme",
                "event": "verification.completed",
                "data": {"recordId": "rec_123"},
                "idempotencyKey": "job-42",
            },
            {
                "tenantId": "acme",
                "event": "verification.failed",
                "data": {"recordId": "rec_124"},
                "idempotencyKey": "job-43",
            },
        ]
    },
}

ANSWERS: dict[tuple[str, str], tuple[int, Any]] = {
    ("post", "/dashboard/webhooks"): (
        201,
        _ok(
            201,
            {
                "id": WH,
                "url": URL,
                "events": EVENTS,
                "description": "Production webhook",
                "secret": "whsec_k7d9f2a1b3c4e5f60718293a4b5c6d7e8f90a1b2c3d4=",
                "active": True,
                "createdAt": CREATED,
                "rateLimit": None,
                "ordering": "none",
                "filter": None,
                "headers": {},
                "auth": None,
            },
        ),
    ),
    ("get", "/dashboard/webhooks"): (200, _ok(200, [WEBHOOK, PAUSED])),
    ("get", "/dashboard/webhooks/{webhook_id}"): (200, _ok(200, WEBHOOK)),
    ("patch", "/dashboard/webhooks/{webhook_id}"): (
        200,
        _ok(
            200,
            {**WEBHOOK, "description": "Production (EU)", "rateLimit": 50, "filter": RECORDS_ONLY},
        ),
    ),
    ("post", "/dashboard/webhooks/{webhook_id}/toggle"): (
        200,
        _ok(
            200,
            {
                "id": WH,
                "active": False,
                "message": "Webhook has been disabled.",
            },
        ),
    ),
    ("post", "/dashboard/webhooks/{webhook_id}/test"): (
        200,
        _ok(
            200,
            {
                "success": True,
                "httpStatus": 200,
                "message": "Test event sent successfully.",
            },
        ),
    ),
    ("delete", "/dashboard/webhooks/{webhook_id}"): (
        200,
        {"statusCode": 200, "message": "Webhook deleted successfully."},
    ),
    ("post", "/dashboard/webhooks/{webhook_id}/rotate-secret"): (
        200,
        _ok(
            200,
            {
                "id": WH,
                "secret": "whsec_Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5=",
                "previousSecretExpiresAt": "2025-06-11T15:30:00.000Z",
            },
        ),
    ),
    ("get", "/dashboard/event-types"): (
        200,
        _ok(
            200,
            [
                {
                    "name": "verification.completed",
                    "description": "A verification run finished and its records were verified.",
                    "schema": {
                        "type": "object",
                        "required": ["runId", "verified"],
                        "properties": {
                            "runId": {"type": "string"},
                            "verified": {"type": "integer", "minimum": 0},
                        },
                    },
                    "example": {"runId": "run_42", "verified": 1200},
                },
            ],
        ),
    ),
    ("get", "/dashboard/audit-log"): (
        200,
        {
            "statusCode": 200,
            "data": [
                {
                    "id": "aud_01jxd2k3m4n5p6q7r8s9t0v1w2",
                    "at": "2025-06-10T15:30:00.000Z",
                    "actor": "alice@your-app.com",
                    "action": "webhook.toggled",
                    "webhookId": WH,
                    "details": {"active": False},
                }
            ],
            "nextCursor": None,
        },
    ),
    ("get", "/dashboard/webhooks/{webhook_id}/deliveries"): (
        200,
        {"statusCode": 200, "data": [DELIVERY], "nextCursor": None},
    ),
    ("get", "/dashboard/webhooks/{webhook_id}/deliveries/{delivery_id}"): (
        200,
        _ok(
            200,
            {
                **DELIVERY,
                "payload": {
                    "event": "verification.completed",
                    "timestamp": TRIGGERED,
                    "data": {"recordId": "rec_123"},
                },
                "attemptLog": [ATTEMPT],
            },
        ),
    ),
    ("post", "/dashboard/webhooks/{webhook_id}/deliveries/{delivery_id}/retry"): (
        202,
        _ok(
            202,
            {
                **DELIVERY,
                "status": "pending",
                "nextAttemptAt": "2025-06-10T15:31:00.000Z",
            },
        ),
    ),
    ("post", "/dashboard/webhooks/{webhook_id}/recover"): (202, _ok(202, {"recovered": 3})),
    ("get", "/dashboard/webhooks/{webhook_id}/stats"): (
        200,
        _ok(
            200,
            {
                "webhookId": WH,
                "window": "24h",
                "bucketSeconds": 3600,
                "from": "2025-06-09T16:00:00.000Z",
                "to": "2025-06-10T16:00:00.000Z",
                "delivered": 1180,
                "failed": 12,
                "retrying": 3,
                "pending": 0,
                "attempts": 1221,
                "successRate": 0.9899,
                "p50Ms": 84,
                "p95Ms": 412,
                "lastSuccessAt": "2025-06-10T15:22:00.000Z",
                "lastFailureAt": "2025-06-10T09:41:07.000Z",
                "buckets": [
                    {
                        "start": "2025-06-09T16:00:00.000Z",
                        "delivered": 52,
                        "failed": 0,
                        "retrying": 0,
                        "pending": 0,
                        "attempts": 52,
                        "p50Ms": 80,
                        "p95Ms": 301,
                    }
                ],
            },
        ),
    ),
    ("post", "/events"): (202, _ok(202, {"id": EVT, "deliveries": 2})),
    ("post", "/events/batch"): (
        202,
        _ok(
            202,
            [
                {"id": EVT, "deliveries": 2},
                {"id": "evt_01jxd2k3m4n5p6q7r8s9t0v1w3", "deliveries": 1},
            ],
        ),
    ),
    ("get", "/healthz"): (200, _ok(200, {"status": "ok"})),
    ("get", "/readyz"): (200, _ok(200, {"status": "ready"})),
}

DOWN = "The database is unavailable (connection refused); try again shortly."
UNKNOWN_QUERY = "Unknown query parameter 'limt'."
DASHBOARD_401 = "Missing or malformed Authorization header: send 'Authorization: Bearer <JWT>'."
DASHBOARD_429 = "Too many requests for this tenant; retry in 2 s."
_BODY_400 = {
    ("post", "/dashboard/webhooks"): "url must be an absolute http:// or https:// URL",
    (
        "patch",
        "/dashboard/webhooks/{webhook_id}",
    ): "url must be an absolute http:// or https:// URL",
    ("post", "/dashboard/webhooks/{webhook_id}/rotate-secret"): (
        "graceSeconds: Input should be less than or equal to 604800."
    ),
    ("post", "/dashboard/webhooks/{webhook_id}/recover"): (
        "since must be an ISO 8601 time such as 2025-06-01T12:00:00.000Z"
    ),
    ("get", "/dashboard/webhooks/{webhook_id}/stats"): "window must be one of 24h, 7d, 30d",
    ("post", "/events"): (
        "Unknown event type 'verification.done'. GET /dashboard/event-types lists the valid ones."
    ),
    ("post", "/events/batch"): (
        "events[1].event: Unknown event type 'verification.done'. GET /dashboard/event-types "
        "lists the valid ones."
    ),
}
_CONFLICT = {
    ("post", "/dashboard/webhooks"): "This tenant already has 100 webhooks, the most allowed "
    "(WEBHOOKD_MAX_WEBHOOKS_PER_TENANT); delete one it no longer needs first.",
    ("post", "/dashboard/webhooks/{webhook_id}/deliveries/{delivery_id}/retry"): (
        "Delivery dlv_01jxd2k3m4n5p6q7r8s9t0v1w2 is being sent right now; try again later."
    ),
    ("post", "/dashboard/webhooks/{webhook_id}/recover"): (
        "Webhook wh_abc123 is disabled; enable it (POST …/toggle) before sending again."
    ),
    ("post", "/events"): "This idempotency key was used in the last 24 h for a different "
    "event or data; send a new key for a new event.",
    ("post", "/events/batch"): "events[1].idempotencyKey: This idempotency key was used in "
    "the last 24 h for a different event or data; send a new key for a new event.",
}
BATCH_413 = "Request body is larger than 5242880 bytes; send fewer events per batch."  # the default


def errors_for(method: str, path: str) -> dict[int, str]:
    """The error answers one route can give, each with a message it really says."""
    if path in ("/healthz", "/metrics"):
        return {400: UNKNOWN_QUERY}
    if path == "/readyz":
        return {400: UNKNOWN_QUERY, 503: DOWN}
    found: dict[int, str] = {400: _BODY_400.get((method, path), UNKNOWN_QUERY)}
    if path in ("/events", "/events/batch"):
        found[401] = "Missing or wrong X-Api-Key header: send the ingest key."
        found[429] = "Too many events for this ingest key; retry in 1 s."
    else:
        found[401] = DASHBOARD_401
        found[429] = DASHBOARD_429
    if path == "/events/batch":
        found[413] = BATCH_413
    if "{delivery_id}" in path:
        found[404] = "Delivery not found."
    elif "{webhook_id}" in path:
        found[404] = "Webhook not found."
    if (method, path) in _CONFLICT:
        found[409] = _CONFLICT[(method, path)]
    found[503] = DOWN
    return dict(sorted(found.items()))


def install(schema: dict[str, Any]) -> dict[str, Any]:
    """Put the examples into an OpenAPI document built by FastAPI."""
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            request = REQUESTS.get((method, path))
            if request is not None:
                body = operation["requestBody"]["content"]["application/json"]
                body["example"] = request
            answers = operation.get("responses", {})
            documented = ANSWERS.get((method, path))
            if documented is not None:
                status, example = documented
                answer = answers.setdefault(str(status), {"description": "Success"})
                answer.setdefault("content", {}).setdefault("application/json", {})
                answer["content"]["application/json"]["example"] = example
            for code, message in errors_for(method, path).items():
                answers[str(code)] = {
                    "description": HTTPStatus(code).phrase,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/Error"},
                            "example": {
                                "statusCode": code,
                                "message": message,
                                "error": HTTPStatus(code).phrase,
                            },
                        }
                    },
                }
    return schema
