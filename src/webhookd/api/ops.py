"""Probes for process managers and load balancers."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from webhookd.api import responses

router = APIRouter(tags=["operations"])


@router.api_route("/healthz", methods=["GET", "HEAD"], summary="The process is up")
async def healthz() -> JSONResponse:
    return responses.ok(200, {"status": "ok"})


@router.api_route("/readyz", methods=["GET", "HEAD"], summary="The database answers")
async def readyz(request: Request) -> JSONResponse:
    await request.app.state.service.store.ping()
    return responses.ok(200, {"status": "ready"})
