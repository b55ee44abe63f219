"""The HTTP front: limits every connection meets before any route code runs.

uvicorn (httptools) reads headers of any size and count, and keeps a connection that
sends half a request, or nothing, open for ever; the delivery worker shares that event
loop. `protocol(limits)` is uvicorn's own httptools protocol with these limits on top:

- the request line and headers at most `header_bytes` (16 KiB), at most `headers` (100)
  fields: otherwise `431` and the connection is closed;
- the headers must arrive within `header_timeout` (10 s) of the connection or of the
  request's first byte, and the body within `body_timeout` (30 s) of the headers:
  otherwise the connection is closed (a `408` first when nothing was answered yet);
- at most `connections` open at once in the process: past that a new connection gets
  `503` and is closed, with one log line a minute saying so.
"""

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("webhookd.api")
LINGER = 2.0  # seconds a refused connection drains before it is closed
BODY_GRACE = 5.0  # seconds before a body's rate is judged


@dataclass(frozen=True, slots=True)
class FrontLimits:
    header_bytes: int = 16 * 1024
    headers: int = 100
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    body_min_rate: int = 1024  # bytes/s a body must average once BODY_GRACE has passed
    connections: int = 10_000


def _answer(status: int, reason: str, message: str) -> bytes:
    body = f'{{"statusCode":{status},"message":"{message}","error":"{reason}"}}'.encode()
    return (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    ).encode() + body


TOO_LARGE = _answer(
    431,
    "Request Header Fields Too Large",
    "The request line and headers are too large (WEBHOOKD_MAX_HEADER_BYTES, WEBHOOKD_MAX_HEADERS).",
)
TOO_SLOW = _answer(408, "Request Timeout", "The request did not arrive in time.")
TOO_MANY = _answer(503, "Service Unavailable", "Too many open connections; try again shortly.")


class Front(HttpToolsProtocol):
    """Subclassed per server by `protocol()`, which sets `limits` and a fresh `state`."""

    limits: ClassVar[FrontLimits] = FrontLimits()
    state: ClassVar[dict[str, float]] = {"open": 0, "refused_logged": 0.0}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timer: asyncio.TimerHandle | None = None
        self._in_headers = True
        self._header_bytes = 0
        self._fields = 0
        self._tail = b""  # the end of the last packet: "\r\n\r\n" may straddle two
        self._counted = False
        self._draining = False  # refused: what still arrives is dropped
        self._body_started = 0.0
        self._body_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self.state["open"] >= self.limits.connections:
            now = time.monotonic()
            if now - self.state["refused_logged"] > 60:
                self.state["refused_logged"] = now
                log.warning(
                    "%d connections open, the most allowed "
                    "(WEBHOOKD_MAX_CONNECTIONS): refusing new ones with 503",
                    self.state["open"],
                )
            transport.write(TOO_MANY)
            transport.close()
            return
        self.state["open"] += 1
        self._counted = True
        self._start(self.limits.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._counted:
            self.state["open"] -= 1
            self._counted = False
        self._stop()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._draining:
            return
        if self._in_headers:
            if self._timer is None:  # a keep-alive connection's next request begins
                self._start(self.limits.header_timeout)
            seen = self._tail + data
            end = seen.find(b"\r\n\r\n")
            self._header_bytes += len(data) if end < 0 else max(0, end + 4 - len(self._tail))
            self._tail = seen[-3:]
            if self._header_bytes > self.limits.header_bytes:
                return self._refuse(TOO_LARGE)
        super().data_received(data)

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._draining:
            return
        self._fields += 1
        if self._fields > self.limits.headers:
            self._refuse(TOO_LARGE)
            return
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._draining:  # refused inside this same packet: no request is run
            return
        self._in_headers = False
        self._body_started, self._body_bytes = time.monotonic(), 0
        self._start(self.limits.body_timeout)
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if self._draining:
            return
        self._body_bytes += len(body)
        elapsed = time.monotonic() - self._body_started
        if elapsed > BODY_GRACE and self._body_bytes < self.limits.body_min_rate * elapsed:
            self._refuse(TOO_SLOW)  # a trickle that would hold the connection to the deadline
            return
        super().on_body(body)

    def on_message_complete(self) -> None:
        if self._draining:
            return
        self._stop()
        self._in_headers, self._header_bytes, self._fields, self._tail = True, 0, 0, b""
        super().on_message_complete()

    def _start(self, seconds: float) -> None:
        self._stop()
        self._timer = self.loop.call_later(seconds, self._refuse, TOO_SLOW)

    def _stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _refuse(self, answer: bytes) -> None:
        """Answer, then close gently: half-close, drop what the client still sends, and
        close for good after LINGER seconds. Closing with unread input would reset the
        connection, and the client might never read the answer."""
        self._stop()
        if self.transport.is_closing() or self._draining:
            return
        self._draining = True
        if self.cycle is None or not self.cycle.response_started:
            self.transport.write(answer)
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._timer = self.loop.call_later(LINGER, self.transport.close)


def protocol(limits: FrontLimits) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol class with `limits` (pass it as uvicorn's `http`)."""
    state: dict[str, float] = {"open": 0, "refused_logged": 0.0}
    return type("Front", (Front,), {"limits": limits, "state": state})
