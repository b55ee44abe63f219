"""Delivery statistics of one webhook: `GET /dashboard/webhooks/{id}/stats`."""

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from webhookd.api import responses
from webhookd.api.auth import Tenant
from webhookd.api.webhooks import Svc
from webhookd.domain import stats
from webhookd.domain.clock import iso

router = APIRouter(prefix="/dashboard/webhooks/{webhook_id}", tags=["deliveries"])


def _iso(ms: int | None) -> str | None:
    return None if ms is None else iso(ms)


def stats_json(webhook_id: str, s: stats.Stats) -> dict[str, Any]:
    rate = s.success_rate
    return {
        "webhookId": webhook_id,
        "window": s.window.name,
        "bucketSeconds": s.window.size // 1000,
        "from": iso(s.window.start),
        "to": iso(s.window.end),
        "delivered": s.delivered,
        "failed": s.failed,
        "retrying": s.retrying,
        "pending": s.pending,
        "attempts": s.attempts,
        "successRate": None if rate is None else round(rate, 4),
        "p50Ms": s.p50_ms,
        "p95Ms": s.p95_ms,
        "lastSuccessAt": _iso(s.last_success_at),
        "lastFailureAt": _iso(s.last_failure_at),
        "buckets": [
            {
                "start": iso(b.start),
                "delivered": b.delivered,
                "failed": b.failed,
                "retrying": b.retrying,
                "pending": b.pending,
                "attempts": b.attempts,
                "p50Ms": b.p50_ms,
                "p95Ms": b.p95_ms,
            }
            for b in s.buckets
        ],
    }


@router.get("/stats", summary="Delivery statistics over a window, in time buckets")
async def webhook_stats(
    webhook_id: str,
    tenant: Tenant,
    service: Svc,
    window: Annotated[
        str,
        Query(
            max_length=10,
            description="24h (hourly buckets), 7d or 30d (daily buckets, UTC)",
        ),
    ] = "24h",
) -> JSONResponse:
    found = await service.webhook_stats(tenant, webhook_id, window)
    return responses.ok(200, stats_json(webhook_id, found))
