"""`Gate`: the one ASGI middleware every request goes through, before any routing.

In this order: count the request by route template, method and status (never the raw
path, whose ids would make a new series per webhook); check who is asking (a Dashboard
route's JWT and its tenant's rate limit, the ingest key and its rate limit on the two
ingest routes); read the body up to its route's cap. Only then does FastAPI route and
parse, so nobody unauthenticated can make webhookd read or parse a body.

One middleware rather than four: each ASGI layer is a call, a closure and a frame per
request, and a request here does little else (docs/performance.md).
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from webhookd.api import auth, limits
from webhookd.metrics import Metrics


class Gate:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        tenants: auth.TenantCheck,
        ingest: auth.IngestCheck,
        bodies: limits.BodyCaps,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.tenants = tenants
        self.ingest = ingest
        self.bodies = bodies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._pass(scope, receive, record_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unrouted"
            self.metrics.request(route, scope["method"], status)

    async def _pass(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if path.startswith("/dashboard"):
            refusal = await self.tenants.check(scope)
        elif path.rstrip("/") in auth.INGEST_PATHS:
            refusal = self.ingest.check(scope)
        else:
            refusal = None
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        if scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        body = await self.bodies.read(scope, receive, send)
        if body is None:
            return  # answered (too large), or the client went away
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
