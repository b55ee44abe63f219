"""The receiving end of every benchmark: a bare ASGI app on uvicorn (one process, one core).

Answers 200 to every POST and counts it. The first and last arrival are kept, and when
the delivered event's data carries `t0` (the wall-clock time the load generator
published it), the publish → arrival latency in ms is kept too.
`GET /stats` reports, `POST /reset` starts over. Run: `python -m bench.receiver PORT`.
"""

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


state = State()


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
        await send(OK_START)
        await send(OK_BODY)
        return
    if scope["path"] == "/reset":
        state.reset()
        answer = b"{}"
    else:
        answer = orjson.dumps(
            {"count": state.count, "first": state.first, "last": state.last,
             "latencies": state.latencies}
        )  # fmt: skip
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})  # fmt: skip
    await send({"type": "http.response.body", "body": answer})


def main() -> None:
    port = int(sys.argv[1])
    uvicorn.run(app, host="127.0.0.1", port=port, loop="uvloop", http="httptools",
                access_log=False, log_level="warning", backlog=4096)  # fmt: skip


if __name__ == "__main__":
    main()
