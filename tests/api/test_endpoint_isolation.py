"""A webhook's `rateLimit` through the API, on both engines."""

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import postgres
from tests.conftest import AppFactory, auth, create_webhook

pg_schema = postgres.pg_schema
Start = Callable[..., TestClient]


@pytest.fixture(params=["sqlite", "postgres"])
def start(request: pytest.FixtureRequest, app_factory: AppFactory) -> Start:
    """`app_factory` on the engine of the test's parameter."""
    if request.param == "sqlite":
        return app_factory
    schema = request.getfixturevalue("pg_schema")

    def on_postgres(**overrides: Any) -> TestClient:
        return app_factory(database_url=postgres.URL, database_schema=schema, **overrides)

    return on_postgres


def get(client: TestClient, webhook_id: str) -> dict[str, Any]:
    answer = client.get(f"/dashboard/webhooks/{webhook_id}", headers=auth())
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()["data"]
    return data


def test_rate_limit_is_set_kept_changed_and_removed(start: Start) -> None:
    client = start(run_worker=False)
    hook = create_webhook(client, rateLimit=25)
    assert hook["rateLimit"] == 25
    base = f"/dashboard/webhooks/{hook['id']}"

    def patch(body: dict[str, Any]) -> Any:
        answer = client.patch(base, json=body, headers=auth())
        assert answer.status_code == 200, answer.text
        return answer.json()["data"]["rateLimit"]

    assert patch({"description": "left out: kept"}) == 25
    assert patch({"rateLimit": 10000}) == 10000
    assert patch({"rateLimit": None}) is None  # null removes it
    assert get(client, hook["id"])["rateLimit"] is None
    assert patch({"description": "still none"}) is None
    assert patch({"rateLimit": 1}) == 1
    [listed] = client.get("/dashboard/webhooks", headers=auth()).json()["data"]
    assert listed["rateLimit"] == 1
    log = client.get("/dashboard/audit-log", headers=auth()).json()["data"]
    details = [e["details"] for e in reversed(log)]
    assert details[0] == {"url": "https://example.com/hook", "events": ["*"], "rateLimit": 25}
    assert {"rateLimit": None} in details  # the removal, in the API's terms
    assert details[-1] == {"rateLimit": 1}
