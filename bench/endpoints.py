"""A tenant's broken endpoints for the isolation benchmark: one aiohttp process on uvloop
that holds hundreds of requests open at once.

`POST /hang/N` reads the request and never answers (the handler is cancelled when the
client gives up and closes the connection); `POST /fail/N` answers 500 at once.
`GET /stats` reports the requests held now, the most held at once, and how many of
each kind came. Run: `python -m bench.endpoints PORT`.
"""

import asyncio
import sys

import uvloop
from aiohttp import web


class Counts:
    def __init__(self) -> None:
        self.held = 0
        self.most_held = 0
        self.hang = 0
        self.fail = 0


counts = Counts()


async def hang(request: web.Request) -> web.Response:
    await request.read()
    counts.hang += 1
    counts.held += 1
    counts.most_held = max(counts.most_held, counts.held)
    try:
        await asyncio.Event().wait()  # never set: only the client's disconnect ends it
    finally:
        counts.held -= 1
    raise AssertionError("unreachable")


async def fail(request: web.Request) -> web.Response:
    await request.read()
    counts.fail += 1
    return web.Response(status=500, text="broken")


async def stats(_: web.Request) -> web.Response:
    return web.json_response(
        {"held": counts.held, "most_held": counts.most_held, "hang": counts.hang,
         "fail": counts.fail}
    )  # fmt: skip


async def serve(port: int) -> None:
    app = web.Application()
    app.router.add_post("/hang/{n}", hang)
    app.router.add_post("/fail/{n}", fail)
    app.router.add_get("/stats", stats)
    # handler_cancellation: a held request's handler ends when its client hangs up.
    runner = web.AppRunner(app, handle_signals=True, access_log=None, handler_cancellation=True)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=4096).start()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main() -> None:
    uvloop.run(serve(int(sys.argv[1])))


if __name__ == "__main__":
    main()
