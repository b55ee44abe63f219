"""Probes for process managers and load balancers."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from webhookd.api import responses

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> JSONResponse:
    return responses.ok(200, {"status": "ok"})


@router.get("/readyz", summary="The database answers")
async def readyz(request: Request) -> JSONResponse:
    await request.app.state.service.store.ping()
    return responses.ok(200, {"status": "ready"})
