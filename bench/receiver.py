"""The receiving end of every benchmark: a bare ASGI app on uvicorn (one process, one core).

Answers 200 to every POST and counts it. The first and last arrival are kept, and when
the delivered event's data carries `t0` (the wall-clock time the load generator
published it), the publish → arrival latency in ms is kept too.
`GET /stats` reports, `POST /reset` starts over. Run: `python -m bench.receiver PORT`;
`python -m bench.receiver PORT,PORT,… DELAY_MS` listens on every port (endpoints on
different host:port pairs, as different customers' are) and answers each POST
DELAY_MS after it arrived (a round trip to a distant endpoint).
"""

import asyncio
import socket
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
import uvicorn

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

OK_START = {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
OK_BODY = {"type": "http.response.body", "body": b"OK"}


class State:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.count = 0
        self.first = 0.0
        self.last = 0.0
        self.latencies: list[float] = []
        self.waiting = 0  # POSTs not answered yet (with a delay)
        self.most_waiting = 0


state = State()
DELAY = 0.0  # seconds before each POST is answered


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _arrived(body: bytes) -> None:
    now = time.time()
    state.count += 1
    if not state.first:
        state.first = now
    state.last = now
    if b'"t0"' in body:
        t0 = orjson.loads(body)["data"]["t0"]
        state.latencies.append((now - t0) * 1000)


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    body = await _body(receive)
    if scope["method"] == "POST" and scope["path"] != "/reset":
        _arrived(body)
        if DELAY:
            state.waiting += 1
            state.most_waiting = max(state.most_waiting, state.waiting)
            try:
                await asyncio.sleep(DELAY)
            finally:
                state.waiting -= 1
        await send(OK_START)
        await send(OK_BODY)
        return
    if scope["path"] == "/reset":
        state.reset()
        answer = b"{}"
    else:
        answer = orjson.dumps(
            {"count": state.count, "first": state.first, "last": state.last,
             "latencies": state.latencies, "most_waiting": state.most_waiting,
             "waiting": state.waiting}
        )  # fmt: skip
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})  # fmt: skip
    await send({"type": "http.response.body", "body": answer})


def _listening(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


def main() -> None:
    global DELAY
    ports = [int(port) for port in sys.argv[1].split(",")]
    DELAY = float(sys.argv[2]) / 1000 if len(sys.argv) > 2 else 0.0
    config = uvicorn.Config(app, loop="uvloop", http="httptools", access_log=False,
                            log_level="warning", backlog=4096)  # fmt: skip
    uvicorn.Server(config).run(sockets=[_listening(port) for port in ports])


if __name__ == "__main__":
    main()
