"""Probes for process managers and load balancers, and metrics for Prometheus."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from webhookd import metrics
from webhookd.api import responses
from webhookd.errors import Unavailable
from webhookd.metrics import Metrics

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up")
@router.head("/healthz", include_in_schema=False)
async def healthz() -> JSONResponse:
    return responses.ok(200, {"status": "ok"})


@router.get("/readyz", summary="The database answers, migrations applied")
@router.head("/readyz", include_in_schema=False)
async def readyz(request: Request) -> JSONResponse:
    # The store migrates when it opens and the app serves only once it has: an answer
    # from the database is the last thing to know.
    await request.app.state.service.store.ping()
    return responses.ok(200, {"status": "ready"})


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {metrics.CONTENT_TYPE: {}}}},
)
async def prometheus(request: Request) -> Response:
    measured: Metrics = request.app.state.metrics
    try:
        queue = await request.app.state.service.queue_stats()
    except Unavailable:
        queue = None  # the counters still tell something while the database is away
    return Response(measured.render(queue), media_type=metrics.CONTENT_TYPE)
