"""A real webhookd for the client's tests: the app (store, worker, sender) served by
uvicorn on 127.0.0.1 in a thread, on a SQLite file; and `Flaky`, a real HTTP server in
front of it that fails on purpose and counts what it was sent."""

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Self

import pytest
import uvicorn

from tests import local_http as httpx
from tests.conftest import INGEST_KEY, STOP_POLL, WAIT, make_settings, make_token, wait_until
from webhookd.api.app import create_app
from webhookd.testing import _QuietServer, free_port


@dataclass(frozen=True)
class Server:
    base: str
    ingest_key: str = INGEST_KEY


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One webhookd per test module; tests keep apart by tenant (the `tenant` fixture)."""
    yield from _serve(tmp_path_factory.mktemp("client"))


def _serve(tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    app = create_app(make_settings(tmp_path))
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, lifespan="on", log_config=None, log_level="warning"
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    wait_until(lambda: running.started or not thread.is_alive())
    assert thread.is_alive(), "webhookd did not start"
    yield Server(f"http://127.0.0.1:{port}")
    running.should_exit = True
    thread.join(WAIT)


@pytest.fixture
def tenant() -> str:
    return f"client-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def token(tenant: str) -> str:
    return make_token(tenant)


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    body: Any  # parsed JSON, or None


@dataclass
class Flaky:
    """An HTTP server on 127.0.0.1 that answers its first `fail` requests with
    `status` (in webhookd's error envelope, with `Retry-After: retry_after`), then
    passes requests to `upstream` and relays the answers. With `forward_failed`, a
    failed request is passed on first and only its answer replaced: the answer lost on
    the way back, after the server did the work."""

    upstream: str
    fail: int = 0
    status: int = 503
    retry_after: str | None = "0"
    forward_failed: bool = False
    seen: list[Seen] = field(default_factory=list)
    upstream_answers: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        flaky = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                flaky._handle(self, body)

            do_GET = do_POST = do_PATCH = do_DELETE = _any

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._http = httpx.Client()
        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._lock = threading.Lock()
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(STOP_POLL,), daemon=True
        )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail_next(self, n: int) -> None:
        """Fail the next `n` requests from now."""
        self.fail = self.count + n

    @property
    def count(self) -> int:
        return len(self.seen)

    def _handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        with self._lock:
            self.seen.append(Seen(handler.command, handler.path, json.loads(body or b"null")))
            failing = len(self.seen) <= self.fail
        if failing and not self.forward_failed:
            self._answer(handler, *self._failure())
            return
        headers = {
            name: value
            for name, value in handler.headers.items()
            if name.lower() not in ("host", "content-length", "connection")
        }
        answer = self._http.request(
            handler.command, self.upstream + handler.path, content=body, headers=headers
        )
        self.upstream_answers.append(answer.json())
        if failing:
            self._answer(handler, *self._failure())
        else:
            self._answer(handler, answer.status_code, answer.content, {})

    def _failure(self) -> tuple[int, bytes, dict[str, str]]:
        body = {"statusCode": self.status, "message": "Try again soon.", "error": "Busy"}
        extra = {} if self.retry_after is None else {"Retry-After": self.retry_after}
        return self.status, json.dumps(body).encode(), extra

    @staticmethod
    def _answer(
        handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]
    ) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._http.close()
