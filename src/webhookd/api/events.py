"""`POST /events`: the platform's backend publishes an event for a tenant."""

import hmac
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse

from webhookd.api import responses
from webhookd.api.schemas import PublishEvent
from webhookd.api.webhooks import Svc
from webhookd.errors import Invalid, Throttled, Unauthenticated

router = APIRouter(tags=["events"])


async def require_ingest_key(
    request: Request, x_api_key: Annotated[str | None, Header()] = None
) -> None:
    expected: bytes = request.app.state.ingest_key
    if not expected:
        raise Unauthenticated("Event ingestion is off: set WEBHOOKD_INGEST_KEY on the server.")
    if x_api_key is None or not hmac.compare_digest(x_api_key.encode(), expected):
        raise Unauthenticated("Missing or wrong X-Api-Key header: send the ingest key.")
    wait = request.app.state.ingest_buckets.take("ingest", time.monotonic())
    if wait:
        raise Throttled(f"Too many events for this ingest key; retry in {wait:.1f} s.", wait)


@router.post(
    "/events",
    status_code=202,
    dependencies=[Depends(require_ingest_key)],
    summary="Publish an event to every subscribed webhook of a tenant",
)
async def publish_event(
    body: PublishEvent,
    service: Svc,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> JSONResponse:
    if idempotency_key and body.idempotencyKey and idempotency_key != body.idempotencyKey:
        raise Invalid("Idempotency-Key header and idempotencyKey field differ; send one of them")
    published = await service.publish(
        body.tenantId, body.event, body.data, body.idempotencyKey or idempotency_key
    )
    return responses.ok(202, {"id": published.event_id, "deliveries": published.deliveries})
