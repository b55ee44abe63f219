"""The framework's floor: a FastAPI route that does nothing but what every Dashboard
route's plumbing does (a Bearer dependency, a JSON response), on the same server stack.
Next to the bare Starlette route it shows how much of the budget FastAPI itself takes
before webhookd does any work. Run: `python -m bench.fastapi_app PORT`."""

import sys
from typing import Annotated

import uvicorn
from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

app = FastAPI()
bearer = HTTPBearer(auto_error=False)


async def tenant(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> str:
    return "tenant"


@app.get("/dashboard/webhooks")
async def webhooks(tenant: Annotated[str, Depends(tenant)]) -> JSONResponse:
    return JSONResponse({"statusCode": 200, "data": []})


def main() -> None:
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), loop="uvloop", http="httptools",
                access_log=False, log_level="warning", server_header=False)  # fmt: skip


if __name__ == "__main__":
    main()
