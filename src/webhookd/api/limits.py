"""Request body size limits, enforced before any handler or parser sees the body.

The body is read into memory up to the limit of its route: 64 KiB for the Dashboard
API, `WEBHOOKD_MAX_EVENT_BYTES` for `POST /events`, `WEBHOOKD_MAX_BATCH_BYTES` for
`POST /events/batch`. One byte more and the request is answered in the envelope
without reading the rest: `413` for a batch, `400` elsewhere (what those routes have
always answered, which their clients may check).
"""

from dataclasses import dataclass

import orjson
from fastapi import Request
from starlette.types import Receive, Scope, Send

from webhookd.api.responses import error_body
from webhookd.errors import Invalid

DASHBOARD_MAX_BODY = 64 * 1024
DEFAULT_MAX_BATCH = 5 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Cap:
    size: int
    status: int = 400
    advice: str = "send a smaller body"


class BodyCaps:
    def __init__(self, events_limit: int, batch_limit: int = DEFAULT_MAX_BATCH) -> None:
        self.caps = {
            "/events": Cap(events_limit),
            "/events/batch": Cap(batch_limit, 413, "send fewer events per batch"),
        }
        self.dashboard = Cap(DASHBOARD_MAX_BODY)

    def limit_for(self, path: str) -> Cap:
        return self.caps.get(path.rstrip("/"), self.dashboard)

    async def read(self, scope: Scope, receive: Receive, send: Send) -> bytes | None:
        """The whole body, or None once the request is answered (larger than its route's
        cap, declared or sent) or the client has gone away."""
        cap = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > cap.size:
            await self._reject(send, cap)
            return None
        message = await receive()
        body: bytes | bytearray = message.get("body", b"")
        if message.get("more_body", False):  # more than one chunk: collect them
            body = bytearray(body)
            more = True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return None
                body += message.get("body", b"")
                more = message.get("more_body", False)
                if len(body) > cap.size:
                    break
        elif message["type"] == "http.disconnect":
            return None
        if len(body) > cap.size:
            await self._reject(send, cap)
            return None
        return bytes(body)

    @staticmethod
    async def _reject(send: Send, cap: Cap) -> None:
        payload = orjson.dumps(
            error_body(cap.status, f"Request body is larger than {cap.size} bytes; {cap.advice}.")
        )
        await send(
            {
                "type": "http.response.start",
                "status": cap.status,
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
