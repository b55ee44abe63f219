"""Fixtures that start real things: the app on a SQLite file in tmp_path, receivers on 127.0.0.1."""

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from webhookd.api.app import create_app
from webhookd.config import Settings

JWT_SECRET = "test-secret-that-is-at-least-32-bytes-long"
INGEST_KEY = "test-ingest-key"
SECRET_KEY = "4G0ALG35WNl3Yg5Z8b2ZXsQ9B0U0c2Eq2lq9W6Zt3vA="  # a Fernet key for the tests


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
        "delivery_timeout": 5.0,
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
        client = TestClient(create_app(make_settings(tmp_path, **overrides), run_worker=run_worker))
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


def wait_until(check: Callable[[], Any], timeout: float = 10.0, every: float = 0.05) -> Any:
    """Poll `check` until it returns something truthy; AssertionError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last: {value!r})")
        time.sleep(every)
