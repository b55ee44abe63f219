"""`POST /events` and `POST /events/batch`: the platform's backend publishes events."""

from typing import Annotated

from fastapi import APIRouter, Header, Request, Security
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader

from webhookd.api import responses
from webhookd.api.schemas import PublishBatch, PublishEvent
from webhookd.api.webhooks import Svc
from webhookd.domain import numbers
from webhookd.errors import Invalid
from webhookd.service import NewEvent

router = APIRouter(tags=["events"])


ingest_key = APIKeyHeader(
    name="X-Api-Key",
    scheme_name="IngestKey",
    description="The ingest key (WEBHOOKD_INGEST_KEY); checked before the body is read.",
    auto_error=False,
)


@router.post(
    "/events",
    status_code=202,
    dependencies=[Security(ingest_key)],
    summary="Publish an event to every subscribed webhook of a tenant",
    description=(
        "Each active webhook of the tenant subscribed to the type, and whose `filter` (if "
        "any) matches `data`, gets one delivery. If the type has a JSON Schema "
        "(WEBHOOKD_EVENT_CATALOG; GET /dashboard/event-types shows it), `data` must match "
        "it: otherwise a 400 names the JSON Pointer of the first error (`data does not "
        "match the schema of event type 'order.paid' at /data/amount: -5 is less than the "
        "minimum of 0`) and nothing is stored."
    ),
)
async def publish_event(
    body: PublishEvent,
    service: Svc,
    request: Request,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> JSONResponse:
    if request.app.state.exact_numbers:
        refuse_inexact(await request.body())  # the text as sent: parsing rounded it
    if idempotency_key and body.idempotencyKey and idempotency_key != body.idempotencyKey:
        raise Invalid("Idempotency-Key header and idempotencyKey field differ; send one of them")
    published = await service.publish(
        body.tenantId, body.event, body.data, body.idempotencyKey or idempotency_key
    )
    return responses.ok(202, {"id": published.event_id, "deliveries": published.deliveries})


@router.post(
    "/events/batch",
    status_code=202,
    dependencies=[Security(ingest_key)],
    summary="Publish up to 1,000 events at once, all or none",
    description=(
        "Each event as for POST /events, in one transaction: if any is refused, the answer "
        "names it (`events[3].event: …`) and none is stored. That includes data that breaks "
        "its type's schema (`events[3].data does not match the schema of event type … at "
        "/events/3/data/amount: …`): the whole batch is refused. The answer lists each "
        "event's id and deliveries in the order sent; an idempotencyKey works per event."
    ),
)
async def publish_batch(body: PublishBatch, service: Svc, request: Request) -> JSONResponse:
    if "idempotency-key" in request.headers:
        raise Invalid(
            "The Idempotency-Key header does not apply to a batch; give each event its own "
            "idempotencyKey."
        )
    if request.app.state.exact_numbers:
        refuse_inexact(await request.body())  # names the path: events[3].data.n
    items = [NewEvent(e.tenantId, e.event, e.data, e.idempotencyKey) for e in body.events]
    published = await service.publish_batch(items)
    return responses.ok(202, [{"id": p.event_id, "deliveries": p.deliveries} for p in published])


def refuse_inexact(text: str | bytes) -> None:
    """A 400 naming the first number a delivery could not carry exactly (domain/numbers)."""
    found = numbers.inexact(text)
    if found is not None:
        path, number = found
        raise Invalid(numbers.refusal(path.lstrip("."), number))
