"""Routes for the page: `/` redirects to `/ui`; `/ui` and its two assets are fixed files.

Plain Starlette routes, not API operations: they stay out of the OpenAPI document and
need no token (the page holds the token in the browser and sends it to the API itself).
Every answer carries a strict Content-Security-Policy: scripts and styles only from this
origin, no inline code, requests only to this origin, no framing.
"""

from importlib import resources

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "img-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
ASSETS = {
    "app.js": "text/javascript; charset=utf-8",
    "chart.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}


def _read(name: str) -> bytes:
    return resources.files("webhookd.web").joinpath("static", name).read_bytes()


def routes() -> list[BaseRoute]:
    """The page's routes, with the files read once, at start-up."""
    index = _read("index.html")
    assets = {name: (_read(name), kind) for name, kind in ASSETS.items()}

    async def home(request: Request) -> Response:
        # Relative, so the page also works behind a proxy that serves webhookd under a prefix;
        # a `#token=` fragment survives the redirect (browsers keep it).
        return RedirectResponse("ui", status_code=302, headers=HEADERS)

    async def page(request: Request) -> Response:
        return Response(index, media_type="text/html; charset=utf-8", headers=HEADERS)

    async def asset(request: Request) -> Response:
        found = assets.get(request.path_params["name"])
        if found is None:
            return Response("Not Found", status_code=404, media_type="text/plain", headers=HEADERS)
        body, kind = found
        return Response(body, media_type=kind, headers=HEADERS)

    return [
        Route("/", home, methods=["GET"]),
        Route("/ui", page, methods=["GET"]),
        Route("/ui/{name}", asset, methods=["GET"]),
    ]
