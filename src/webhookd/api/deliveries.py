"""The delivery log: list, inspect, send again, recover a time range."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from webhookd.api import responses
from webhookd.api.auth import Actor, Tenant
from webhookd.api.schemas import Recover
from webhookd.api.webhooks import Svc
from webhookd.domain.clock import iso
from webhookd.domain.models import Attempt, Delivery, DeliveryStatus
from webhookd.errors import Invalid
from webhookd.store.base import DeliveryFilter

router = APIRouter(prefix="/dashboard/webhooks/{webhook_id}", tags=["deliveries"])


def _iso(ms: int | None) -> str | None:
    return None if ms is None else iso(ms)


def delivery_json(d: Delivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "eventId": d.event_id,
        "event": d.event_type,
        "status": d.status.value,
        "attempts": d.attempts,
        "inFlight": d.in_flight,
        "createdAt": iso(d.created_at),
        "lastAttemptAt": _iso(d.last_attempt_at),
        "lastHttpStatus": d.last_http_status,
        "nextAttemptAt": _iso(d.next_attempt_at),
        "blockedBy": d.blocked_by,
    }


def attempt_json(a: Attempt) -> dict[str, Any]:
    r = a.result
    return {
        "attemptedAt": iso(a.attempted_at),
        "durationMs": r.duration_ms,
        "httpStatus": r.http_status,
        "error": r.error,
        "responseExcerpt": r.response_excerpt,
        "requestHeaders": a.request_headers,
    }


def _moment(name: str, text: str | None) -> int | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(f"{name} must be an ISO 8601 time such as 2025-06-01T12:00:00.000Z") from None
    if moment.tzinfo is None:
        raise Invalid(f"{name} must include a time zone, such as a final Z for UTC")
    return round(moment.timestamp() * 1000)


@router.get("/deliveries", summary="A webhook's deliveries, newest first")
async def list_deliveries(
    webhook_id: str,
    tenant: Tenant,
    service: Svc,
    status: Annotated[DeliveryStatus | None, Query()] = None,
    event: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=64, description="nextCursor of the page before")
    ] = None,
) -> JSONResponse:
    where = DeliveryFilter(status=status, event_type=event, before=cursor, limit=limit + 1)
    found = await service.list_deliveries(tenant, webhook_id, where)
    page = found[:limit]
    more = len(found) > limit
    body = {
        "statusCode": 200,
        "data": [delivery_json(d) for d in page],
        "nextCursor": page[-1].id if more else None,
    }
    return responses.Json(body)


@router.get("/deliveries/{delivery_id}", summary="One delivery with its payload and every attempt")
async def get_delivery(webhook_id: str, delivery_id: str, tenant: Tenant, service: Svc) -> Response:
    detail = await service.get_delivery(tenant, webhook_id, delivery_id)
    data = delivery_json(detail.delivery)
    data["payload"] = None  # keeps its place in the answer; the stored bytes go there
    data["attemptLog"] = [attempt_json(a) for a in detail.attempts]
    return responses.ok_with_raw(200, data, "payload", detail.body)


@router.post(
    "/deliveries/{delivery_id}/retry",
    status_code=202,
    summary="Send a delivery again now (same delivery id)",
)
async def retry_delivery(
    webhook_id: str, delivery_id: str, tenant: Tenant, actor: Actor, service: Svc
) -> JSONResponse:
    delivery = await service.resend(tenant, webhook_id, delivery_id, actor=actor)
    answer = {"statusCode": 202, "data": delivery_json(delivery)}
    if delivery.manual and (await service.get_webhook(tenant, webhook_id)).fifo:
        answer["message"] = OUT_OF_ORDER
    return responses.Json(answer, status_code=202)


OUT_OF_ORDER = (
    "Sent now, out of order: this webhook delivers in order (ordering fifo), and a resent "
    "delivery does not wait for its queue."
)


@router.post("/recover", status_code=202, summary="Send again every failed delivery in a window")
async def recover(
    webhook_id: str, body: Recover, tenant: Tenant, actor: Actor, service: Svc
) -> JSONResponse:
    since = _moment("since", body.since)
    assert since is not None
    until = _moment("until", body.until)
    count = await service.recover(tenant, webhook_id, since, until, actor=actor)
    return responses.ok(202, {"recovered": count})
