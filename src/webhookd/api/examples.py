"""Examples for the OpenAPI document: the seed's own values wherever the seed shows them.

`tests/api/test_openapi.py` checks each example against a real answer of the same
route (same keys, same types), so an example cannot drift from what webhookd says.
"""

from typing import Any

WH = "wh_abc123"
DLV = "dlv_01jxd2k3m4n5p6q7r8s9t0v1w2"
EVT = "evt_01jxd2k3m4n5p6q7r8s9t0v1w2"
CREATED = "2025-06-01T12:00:00.000Z"
TRIGGERED = "2025-06-10T15:22:00.000Z"
URL = "https://your-app.com/webhooks/pacspace"
EVENTS = ["verification.completed", "verification.failed"]

WEBHOOK = {
    "id": WH, "url": URL, "events": EVENTS, "description": "Production webhook",
    "active": True, "createdAt": CREATED, "lastTriggeredAt": TRIGGERED, "disabledReason": None,
}  # fmt: skip
DELIVERY = {
    "id": DLV, "eventId": EVT, "event": "verification.completed", "status": "delivered",
    "attempts": 1, "inFlight": False, "createdAt": TRIGGERED,
    "lastAttemptAt": "2025-06-10T15:22:00.041Z", "lastHttpStatus": 200, "nextAttemptAt": None,
}  # fmt: skip
ATTEMPT = {
    "attemptedAt": "2025-06-10T15:22:00.041Z", "durationMs": 38, "httpStatus": 200,
    "error": None, "responseExcerpt": "OK",
    "requestHeaders": {
        "Content-Type": "application/json", "X-PacSpace-Event": "verification.completed",
        "X-PacSpace-Delivery": DLV, "X-PacSpace-Timestamp": "1749568920",
    },
}  # fmt: skip


def _ok(status: int, data: Any) -> dict[str, Any]:
    return {"statusCode": status, "data": data}


REQUESTS: dict[tuple[str, str], Any] = {
    ("post", "/dashboard/webhooks"): {
        "url": URL,
        "events": EVENTS,
        "description": "Production webhook",
    },
    ("patch", "/dashboard/webhooks/{webhook_id}"): {"description": "Production (EU)"},
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
            },
        ),
    ),
    ("get", "/dashboard/webhooks"): (200, _ok(200, [WEBHOOK])),
    ("get", "/dashboard/webhooks/{webhook_id}"): (200, _ok(200, WEBHOOK)),
    ("patch", "/dashboard/webhooks/{webhook_id}"): (
        200,
        _ok(200, {**WEBHOOK, "description": "Production (EU)"}),
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
    ("post", "/events"): (202, _ok(202, {"id": EVT, "deliveries": 2})),
    ("get", "/healthz"): (200, _ok(200, {"status": "ok"})),
    ("get", "/readyz"): (200, _ok(200, {"status": "ready"})),
}

ERRORS: dict[int, str] = {
    400: "url must be an absolute http:// or https:// URL",
    401: "Missing or malformed Authorization header: send 'Authorization: Bearer <JWT>'.",
    404: "Webhook wh_abc123 not found.",
    409: "Webhook wh_abc123 is disabled; enable it (POST …/toggle) before sending again.",
    429: "Too many requests for this tenant; retry in 2 s.",
    503: "The database is unavailable (connection refused); try again shortly.",
}


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
            for code, answer in answers.items():
                if code.isdigit() and int(code) in ERRORS:
                    content = answer.setdefault("content", {}).setdefault("application/json", {})
                    content["example"] = {
                        "statusCode": int(code), "message": ERRORS[int(code)],
                        "error": answer.get("description", ""),
                    }  # fmt: skip
    return schema
