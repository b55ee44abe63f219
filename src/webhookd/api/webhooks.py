"""`/dashboard/webhooks`: the seed's six routes, PATCH, and the event-type catalog."""

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from webhookd.api import responses
from webhookd.api.auth import Actor, Tenant
from webhookd.api.schemas import CreateWebhook, RotateSecret, UpdateWebhook
from webhookd.domain.circuit import health
from webhookd.domain.clock import iso
from webhookd.domain.models import Webhook
from webhookd.errors import Invalid
from webhookd.service import Service

router = APIRouter(prefix="/dashboard", tags=["webhooks"])
DEFAULT_GRACE_SECONDS = 24 * 3600


async def _service(request: Request) -> Service:
    """`async`, though it awaits nothing: FastAPI runs a plain `def` dependency in a
    thread pool, a thread hop on every request (seen in the API's profile)."""
    service: Service = request.app.state.service
    return service


Svc = Annotated[Service, Depends(_service)]


def _iso_or_none(ms: int | None) -> str | None:
    return None if ms is None else iso(ms)


def webhook_json(webhook: Webhook, *, secret: str | None = None) -> dict[str, Any]:
    """A webhook as the seed shows it, then what webhookd adds (`rateLimit`, `ordering`, and
    `health` where the seed shows `lastTriggeredAt`); the (plaintext) secret only when just
    created."""
    data: dict[str, Any] = {
        "id": webhook.id,
        "url": webhook.url,
        "events": list(webhook.events),
        "description": webhook.description,
    }
    if secret is not None:
        data["secret"] = secret
    data["active"] = webhook.active
    data["createdAt"] = iso(webhook.created_at)
    if secret is None:
        data["lastTriggeredAt"] = _iso_or_none(webhook.last_triggered_at)
        data["disabledReason"] = webhook.disabled_reason
    data["rateLimit"] = webhook.rate_limit
    data["ordering"] = "fifo" if webhook.fifo else "none"
    data["filter"] = None if webhook.filter is None else orjson.loads(webhook.filter)
    data["headers"] = dict(webhook.headers)
    data["auth"] = None if webhook.auth is None else webhook.auth.shown()  # never its secret
    if secret is None:
        shown = health(webhook.circuit, webhook.failing_since)
        data["health"] = {
            "status": shown.status,
            "failingSince": _iso_or_none(shown.failing_since),
            "consecutiveFailures": shown.consecutive_failures,
            "nextProbeAt": _iso_or_none(shown.next_probe_at),
        }
    return data


@router.post("/webhooks", status_code=201, summary="Create a webhook")
async def create_webhook(
    body: CreateWebhook, tenant: Tenant, actor: Actor, service: Svc
) -> JSONResponse:
    webhook, secret = await service.create_webhook(
        tenant,
        body.url,
        body.events,
        body.description,
        rate_limit=body.rateLimit,
        ordering=body.ordering,
        payload_filter=body.filter,
        headers=body.headers,
        auth=None if body.auth is None else body.auth.model_dump(),
        actor=actor,
    )
    return responses.ok(201, webhook_json(webhook, secret=secret))


@router.get("/webhooks", summary="List webhooks")
async def list_webhooks(tenant: Tenant, service: Svc) -> JSONResponse:
    return responses.ok(200, [webhook_json(w) for w in await service.list_webhooks(tenant)])


@router.get("/webhooks/{webhook_id}", summary="Get a webhook")
async def get_webhook(webhook_id: str, tenant: Tenant, service: Svc) -> JSONResponse:
    return responses.ok(200, webhook_json(await service.get_webhook(tenant, webhook_id)))


@router.patch(
    "/webhooks/{webhook_id}",
    summary=(
        "Change a webhook's url, events, description, rate limit, ordering, filter, headers or auth"
    ),
)
async def update_webhook(
    webhook_id: str, body: UpdateWebhook, tenant: Tenant, actor: Actor, service: Svc
) -> JSONResponse:
    given = body.model_fields_set
    for name in ("url", "events", "ordering"):
        if name in given and getattr(body, name) is None:
            raise Invalid(f"{name} cannot be null; leave it out to keep the current value")
    webhook = await service.update_webhook(
        tenant,
        webhook_id,
        url=body.url,
        events=body.events,
        description=("" if body.description is None else body.description)
        if "description" in given
        else None,
        # null removes the limit (0 to the service); left out, it is kept (None)
        rate_limit=(body.rateLimit or 0) if "rateLimit" in given else None,
        ordering=body.ordering,
        # null removes the filter ({} to the service); left out, it is kept (None)
        payload_filter=(body.filter or {}) if "filter" in given else None,
        # null or {} removes the headers; left out, they are kept
        headers=(body.headers or {}) if "headers" in given else None,
        auth=None if body.auth is None else body.auth.model_dump(),
        remove_auth="auth" in given and body.auth is None,
        actor=actor,
    )
    return responses.ok(200, webhook_json(webhook))


@router.post("/webhooks/{webhook_id}/toggle", summary="Enable or disable a webhook")
async def toggle_webhook(
    webhook_id: str, tenant: Tenant, actor: Actor, service: Svc
) -> JSONResponse:
    webhook = await service.toggle_webhook(tenant, webhook_id, actor=actor)
    state = "enabled" if webhook.active else "disabled"
    return responses.ok(
        200, {"id": webhook.id, "active": webhook.active, "message": f"Webhook has been {state}."}
    )


@router.post("/webhooks/{webhook_id}/rotate-secret", summary="Replace the signing secret")
async def rotate_secret(
    webhook_id: str, tenant: Tenant, actor: Actor, service: Svc, body: RotateSecret | None = None
) -> JSONResponse:
    grace = (
        DEFAULT_GRACE_SECONDS if body is None or body.graceSeconds is None else body.graceSeconds
    )
    webhook, secret = await service.rotate_secret(tenant, webhook_id, grace, actor=actor)
    old = webhook.old_secrets[0].until if grace and webhook.old_secrets else None
    return responses.ok(
        200,
        {
            "id": webhook.id,
            "secret": secret,
            "previousSecretExpiresAt": None if old is None else iso(old),
        },
    )


@router.post("/webhooks/{webhook_id}/test", summary="Send a test event")
async def test_webhook(webhook_id: str, tenant: Tenant, service: Svc) -> JSONResponse:
    result = await service.test_webhook(tenant, webhook_id)
    return responses.ok(
        200,
        {"success": result.success, "httpStatus": result.http_status, "message": result.message},
    )


@router.delete("/webhooks/{webhook_id}", summary="Delete a webhook")
async def delete_webhook(
    webhook_id: str, tenant: Tenant, actor: Actor, service: Svc
) -> JSONResponse:
    await service.delete_webhook(tenant, webhook_id, actor=actor)
    return responses.message(200, "Webhook deleted successfully.")


@router.get(
    "/event-types",
    summary="The event types a webhook can subscribe to",
    description=(
        "Each type's name and description, the JSON Schema its `data` must match when it is "
        "published (null: any object), and an example of its data (null: none given). Both "
        "come from WEBHOOKD_EVENT_CATALOG."
    ),
)
async def event_types(tenant: Tenant, service: Svc) -> JSONResponse:
    return responses.ok(
        200,
        [
            {"name": t.name, "description": t.description, "schema": t.schema, "example": t.example}
            for t in service.event_types.types()
        ],
    )


@router.get("/audit-log", summary="Who changed what, newest first")
async def audit_log(
    tenant: Tenant,
    service: Svc,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> JSONResponse:
    found = await service.audit_log(tenant, cursor, limit + 1)
    page = found[:limit]
    data = [
        {
            "id": e.id,
            "at": iso(e.at),
            "actor": e.actor,
            "action": e.action,
            "webhookId": e.webhook_id,
            "details": e.details,
        }
        for e in page
    ]
    more = len(found) > limit
    return responses.Json(
        {"statusCode": 200, "data": data, "nextCursor": page[-1].id if more else None}
    )
