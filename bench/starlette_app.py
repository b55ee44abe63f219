"""A bare Starlette route on the same server stack as webhookd (uvicorn, uvloop,
httptools): the reference next to `GET /dashboard/webhooks`.
Run: `python -m bench.starlette_app PORT`."""

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def webhooks(request: Request) -> JSONResponse:
    return JSONResponse({"statusCode": 200, "data": []})


app = Starlette(routes=[Route("/dashboard/webhooks", webhooks)])


def main() -> None:
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), loop="uvloop", http="httptools",
                access_log=False, log_level="warning", server_header=False)  # fmt: skip


if __name__ == "__main__":
    main()
