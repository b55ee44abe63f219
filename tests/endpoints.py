"""Many customer endpoints on one real aiohttp server (127.0.0.1, its own thread), for
isolation tests: `/ok/…` answers 200 at once, `/fail/…` 500 and `/hang/…` holds the
request open without answering, until `heal()`: then the held requests and every later
one get 200. `listen_also(port)` opens a second port (an endpoint that was refused
until then starts to answer)."""

import asyncio
import threading
from collections import Counter
from dataclasses import dataclass
from types import TracebackType

from aiohttp import web

from tests.conftest import WAIT


@dataclass(frozen=True)
class Hit:
    path: str
    delivery_id: str
    status: int


class Endpoints:
    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self.hanging: Counter[str] = Counter()  # requests held open now, by path
        self.most_hanging: Counter[str] = Counter()  # the most held at once, by path
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._healed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    def url(self, kind: str, n: int, port: int | None = None) -> str:
        return f"http://127.0.0.1:{port or self.port}/{kind}/{n}"

    def delivered(self, prefix: str = "/") -> set[str]:
        """Delivery ids answered 200 on paths under `prefix`."""
        with self._lock:
            return {
                h.delivery_id for h in self.hits if h.status == 200 and h.path.startswith(prefix)
            }

    def answered_ok(self, prefix: str = "/") -> Counter[str]:
        """How many times each delivery id was answered 200 under `prefix`."""
        with self._lock:
            return Counter(
                h.delivery_id for h in self.hits if h.status == 200 and h.path.startswith(prefix)
            )

    def held(self) -> int:
        with self._lock:
            return sum(self.hanging.values())

    async def _handle(self, request: web.Request) -> web.Response:
        await request.read()
        kind = request.path.split("/")[1]
        if kind == "hang" and not self._healed.is_set():
            with self._lock:
                self.hanging[request.path] += 1
                self.most_hanging[request.path] = max(
                    self.most_hanging[request.path], self.hanging[request.path]
                )
            try:
                await self._healed.wait()
            finally:
                with self._lock:
                    self.hanging[request.path] -= 1
        status = 500 if kind == "fail" and not self._healed.is_set() else 200
        with self._lock:
            self.hits.append(
                Hit(request.path, request.headers.get("X-PacSpace-Delivery", ""), status)
            )
        return web.Response(status=status, text="ok")

    async def _start(self) -> int:
        app = web.Application()
        app.router.add_post("/{kind}/{n}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.base_events.Server)
        port: int = server.sockets[0].getsockname()[1]
        return port

    async def _listen(self, port: int) -> None:
        assert self._runner is not None
        await web.TCPSite(self._runner, "127.0.0.1", port).start()

    def listen_also(self, port: int) -> None:
        asyncio.run_coroutine_threadsafe(self._listen(port), self._loop).result(WAIT)

    def heal(self) -> None:
        self._loop.call_soon_threadsafe(self._healed.set)

    def __enter__(self) -> "Endpoints":
        self._thread.start()
        self.port = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(WAIT)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.heal()
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(WAIT)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(WAIT)
        self._loop.close()
