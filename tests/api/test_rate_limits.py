"""Rate limits: per tenant on the Dashboard API, per ingest key on /events; 429 + Retry-After."""

from typing import Any

from tests.conftest import auth, publish


def test_dashboard_limit_is_per_tenant(app_factory: Any) -> None:
    client = app_factory(dashboard_rate_limit="0.5/3")
    answers = [client.get("/dashboard/webhooks", headers=auth("tenant-a")) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    limited = answers[-1]
    assert limited.json()["error"] == "Too Many Requests"
    assert limited.json()["statusCode"] == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 2
    assert client.get("/dashboard/webhooks", headers=auth("tenant-b")).status_code == 200


def test_events_limit_per_ingest_key(app_factory: Any) -> None:
    client = app_factory(events_rate_limit="0.1/2")
    codes = [publish(client, "t", "verification.failed").status_code for _ in range(3)]
    assert codes == [202, 202, 429]
    limited = publish(client, "t", "verification.failed")
    assert limited.json()["error"] == "Too Many Requests"
    seconds = int(limited.headers["retry-after"])
    assert seconds >= 5
    assert limited.json()["message"] == (
        f"Too many events for this ingest key; retry in {seconds} s."
    )
