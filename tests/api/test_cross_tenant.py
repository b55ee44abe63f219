"""Tenant B, on every route, against tenant A's objects: 404 every time, nothing changed."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import auth, create_webhook


def _dump(tmp_path: Path) -> list[Any]:
    import sqlite3

    with sqlite3.connect(tmp_path / "webhookd.db") as conn:
        tables = ("webhooks", "events", "deliveries", "attempts", "audit_log")
        return [conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables]


def test_tenant_b_cannot_touch_tenant_a(client: TestClient, tmp_path: Path) -> None:
    hook = create_webhook(client, "tenant-a", url="https://example.com/a")
    client.post(f"/dashboard/webhooks/{hook['id']}/test", headers=auth("tenant-a"))
    deliveries = client.get(
        f"/dashboard/webhooks/{hook['id']}/deliveries", headers=auth("tenant-a")
    )
    delivery_id = deliveries.json()["data"][0]["id"]
    before = _dump(tmp_path)
    base = f"/dashboard/webhooks/{hook['id']}"
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    routes: list[tuple[str, str, Any]] = [
        ("GET", base, None),
        ("PATCH", base, {"description": "taken over"}),
        ("PATCH", base, {"filter": {"status": "failed"}}),
        ("PATCH", base, {"filter": None}),
        ("PATCH", base, {"headers": {"X-Taken": "over"}}),
        ("PATCH", base, {"auth": {"type": "bearer", "token": "taken-over"}}),
        ("PATCH", base, {"auth": None}),
        ("POST", f"{base}/toggle", None),
        ("POST", f"{base}/test", None),
        ("POST", f"{base}/rotate-secret", {"graceSeconds": 0}),
        ("DELETE", base, None),
        ("GET", f"{base}/deliveries", None),
        ("GET", f"{base}/deliveries/{delivery_id}", None),
        ("POST", f"{base}/deliveries/{delivery_id}/retry", None),
        ("POST", f"{base}/recover", {"since": since}),
    ]
    for method, path, body in routes:
        answer = client.request(method, path, json=body, headers=auth("tenant-b"))
        assert answer.status_code == 404, (method, path, answer.text)
        assert answer.json()["error"] == "Not Found"
    assert client.get("/dashboard/webhooks", headers=auth("tenant-b")).json()["data"] == []
    assert client.get("/dashboard/audit-log", headers=auth("tenant-b")).json()["data"] == []
    assert _dump(tmp_path) == before
