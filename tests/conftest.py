"""Fixtures that start real things: the app on a SQLite file in tmp_path, receivers on 127.0.0.1."""

import asyncio
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, Self, TypeVar

import jwt
import pytest
from fastapi.testclient import TestClient

from webhookd import testing
from webhookd.api.app import create_app
from webhookd.config import Settings
from webhookd.domain.clock import system_clock
from webhookd.domain.models import SendResult

JWT_SECRET = "test-secret-that-is-at-least-32-bytes-long"
INGEST_KEY = "test-ingest-key"
SECRET_KEY = "4G0ALG35WNl3Yg5Z8b2ZXsQ9B0U0c2Eq2lq9W6Zt3vA="  # a Fernet key for the tests
# How long a test waits for something before it fails. It only bounds a failure (a test
# that passes never waits that long), so it is generous: the suite runs on loaded
# machines, and no test may fail because the machine was slow.
WAIT = 30.0
STOP_POLL = 0.01  # how often a test's server thread looks for its shutdown, in seconds
T = TypeVar("T")


def make_token(tenant: str = "tenant-a", secret: str = JWT_SECRET, **claims: Any) -> str:
    now = int(time.time())
    payload: dict[str, Any] = {"sub": tenant, "iat": now, "exp": now + 600, **claims}
    payload = {key: value for key, value in payload.items() if value is not None}
    return jwt.encode(payload, secret, algorithm="HS256")


def auth(tenant: str = "tenant-a") -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(tenant)}"}


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'webhookd.db'}",
        "jwt_secret": JWT_SECRET,
        "ingest_key": INGEST_KEY,
        "secret_key": SECRET_KEY,
        "retry_schedule": "",
        "delivery_timeout": WAIT,  # receivers on 127.0.0.1 answer at once: a bound
        "poll_interval": 0.2,
        "allow_private_networks": True,  # receivers run on 127.0.0.1
        "dashboard_rate_limit": "0",  # tests/api/test_rate_limits.py turns them on
        "events_rate_limit": "0",
        **overrides,
    }
    return Settings(**values)


AppFactory = Callable[..., TestClient]


@pytest.fixture
def app_factory(tmp_path: Path) -> Iterator[AppFactory]:
    """Start the real app (store, sender, worker) with settings overrides; stopped after."""
    clients: list[TestClient] = []

    def start(**overrides: Any) -> TestClient:
        run_worker = overrides.pop("run_worker", True)
        now = overrides.pop("now", system_clock)
        settings = make_settings(tmp_path, **overrides)
        client = TestClient(create_app(settings, run_worker=run_worker, now=now))
        client.__enter__()
        clients.append(client)
        return client

    yield start
    for client in reversed(clients):
        client.__exit__(None, None, None)


@pytest.fixture
def client(app_factory: AppFactory) -> TestClient:
    return app_factory()


def create_webhook(client: TestClient, tenant: str = "tenant-a", **body: Any) -> dict[str, Any]:
    payload = {"url": "https://example.com/hook", **body}
    response = client.post("/dashboard/webhooks", json=payload, headers=auth(tenant))
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def publish(client: TestClient, tenant: str, event: str, data: Any = None, **extra: Any) -> Any:
    body = {"tenantId": tenant, "event": event, "data": data or {}, **extra}
    return client.post("/events", json=body, headers={"X-Api-Key": INGEST_KEY})


def wait_until(
    check: Callable[[], T | Literal[False] | None], timeout: float = WAIT, every: float = 0.05
) -> T:
    """Poll `check` until it returns something truthy, and return that; AssertionError
    naming the check after `timeout` s. The one way a test waits for a condition."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{_name(check)} not met within {timeout:g} s (last: {value!r})")
        time.sleep(every)


async def eventually(
    check: Callable[[], T | Literal[False] | None], timeout: float = WAIT, every: float = 0.01
) -> T:
    """`wait_until` for asyncio tests: the loop keeps running while it waits."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{_name(check)} not met within {timeout:g} s (last: {value!r})")
        await asyncio.sleep(every)


def _name(check: Callable[..., object]) -> str:
    name = getattr(check, "__qualname__", repr(check))
    return "condition" if "<lambda>" in name else f"condition {name}()"


class Receiver(testing.Receiver):
    """webhookd.testing.Receiver whose `wait_for` waits WAIT seconds unless told, and
    which stops at once: serve_forever looks for a shutdown every 0.5 s by default,
    which every receiver a test closed would cost it."""

    def __init__(self, respond: testing.Responder | None = None, status: int = 200) -> None:
        super().__init__(respond, status)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(STOP_POLL,), daemon=True
        )

    def __enter__(self) -> Self:
        super().__enter__()
        return self

    def wait_for(self, count: int, timeout: float = WAIT) -> list[testing.Received]:
        return super().wait_for(count, timeout)

    def whole(self) -> list[testing.Received]:
        """The requests that came with their whole body. A sender killed mid-request
        leaves one whose body stops short; it never got an answer, so it is sent again."""
        return [r for r in self.requests if len(r.body) == int(r.headers["content-length"])]


class NoTransport:
    """A Transport for a Service or Worker that must send nothing."""

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult:
        raise AssertionError(f"nothing is to be sent here (a POST to {url})")


class Clock:
    """A clock the test moves by hand (ms since the epoch), for `app_factory(now=…)`:
    what the worker schedules can then be checked exactly, whatever the machine's
    speed. It starts at the real time, so tokens and retention see a plausible now."""

    def __init__(self) -> None:
        self.ms = system_clock()

    def __call__(self) -> int:
        return self.ms

    def advance_to(self, ms: int) -> None:
        assert ms >= self.ms, "time never runs backwards"
        self.ms = ms
