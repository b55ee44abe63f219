"""Request body size limits, enforced before any handler or parser sees the body.

The body is read into memory up to the limit (64 KiB for the Dashboard API,
`WEBHOOKD_MAX_EVENT_BYTES` for `POST /events`); one byte more and the request is
answered 400 in the envelope without reading the rest.
"""

import orjson
from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from webhookd.api.responses import error_body
from webhookd.errors import Invalid

DASHBOARD_MAX_BODY = 64 * 1024


class BodyLimit:
    def __init__(self, app: ASGIApp, events_limit: int) -> None:
        self.app = app
        self.events_limit = events_limit

    def limit_for(self, path: str) -> int:
        return self.events_limit if path.rstrip("/") == "/events" else DASHBOARD_MAX_BODY

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > limit:
            await self._reject(send, limit)
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > limit:
                await self._reject(send, limit)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    @staticmethod
    async def _reject(send: Send, limit: int) -> None:
        payload = orjson.dumps(
            error_body(400, f"Request body is larger than {limit} bytes; send a smaller body.")
        )
        await send(
            {
                "type": "http.response.start",
                "status": 400,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


async def known_query_only(request: Request) -> None:
    """Refuse query parameters the route does not define (a typo should not be ignored)."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    known = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        known |= {param.alias for param in sub.query_params}
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise Invalid(f"Unknown query parameter {unknown[0][:50]!r}.")
