"""POST /events: the ingest key, validation, fan-out, idempotency."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import INGEST_KEY, auth, create_webhook, publish


def test_ingest_key_is_required(client: TestClient) -> None:
    body = {"tenantId": "t", "event": "verification.completed", "data": {}}
    for headers in ({}, {"X-Api-Key": "wrong"}, {"X-Api-Key": ""}):
        response = client.post("/events", json=body, headers=headers)
        assert response.status_code == 401
        assert response.json()["error"] == "Unauthorized"
    assert client.post("/events", json=body, headers=auth()).status_code == 401


def test_ingest_key_is_checked_before_the_body_is_read(app_factory: Any) -> None:
    """Without the key, nothing about the body is looked at: no size or parse errors leak."""
    client = app_factory(max_event_bytes=1024)
    oversize = b'{"data": "' + b"x" * 4096 + b'"}'
    for body in (oversize, b"{not json"):
        response = client.post(
            "/events",
            content=body,
            headers={"X-Api-Key": "wrong", "Content-Type": "application/json"},
        )
        assert response.status_code == 401, response.text
        assert "X-Api-Key" in response.json()["message"]
    shown = client.post("/events", content=oversize, headers={"X-Api-Key": INGEST_KEY})
    assert shown.status_code == 400  # with the key, the size limit speaks


def test_publish_fans_out_to_active_subscribed_webhooks_of_the_tenant(
    app_factory: Any,
) -> None:
    client = app_factory(run_worker=False)
    create_webhook(client, "tenant-a", events=["verification.completed"])
    create_webhook(client, "tenant-a")  # all events
    create_webhook(client, "tenant-a", events=["verification.failed"])
    off = create_webhook(client, "tenant-a")
    client.post(f"/dashboard/webhooks/{off['id']}/toggle", headers=auth("tenant-a"))
    create_webhook(client, "tenant-b")
    response = publish(client, "tenant-a", "verification.completed", {"recordId": 1})
    assert response.status_code == 202
    body = response.json()
    assert body["statusCode"] == 202
    assert body["data"]["id"].startswith("evt_")
    assert body["data"]["deliveries"] == 2


def test_publish_to_a_tenant_without_webhooks_is_accepted(client: TestClient) -> None:
    response = publish(client, "nobody", "verification.failed")
    assert response.status_code == 202
    assert response.json()["data"]["deliveries"] == 0


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"tenantId": "t", "event": "no.such"}, "Unknown event type"),
        ({"tenantId": "t", "event": "test"}, "Unknown event type"),
        ({"tenantId": "", "event": "verification.failed"}, "tenantId"),
        ({"event": "verification.failed"}, "tenantId"),
        ({"tenantId": "t", "event": "verification.failed", "data": [1]}, "data"),
        ({"tenantId": "t", "event": "verification.failed", "data": {"n": 1e400}}, "data"),
        ({"tenantId": "t", "event": "verification.failed", "data": {"n": 10**400}}, "data"),
    ],
)
def test_bad_events_are_400(client: TestClient, body: dict[str, Any], fragment: str) -> None:
    import json

    raw = json.dumps(body).encode()  # stdlib writes Infinity for 1e400: the parser sees it
    response = client.post(
        "/events",
        content=raw,
        headers={"X-Api-Key": INGEST_KEY, "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert fragment in response.json()["message"]


def test_nan_literal_is_400(client: TestClient) -> None:
    raw = b'{"tenantId": "t", "event": "verification.failed", "data": {"x": NaN}}'
    headers = {"X-Api-Key": INGEST_KEY, "Content-Type": "application/json"}
    assert client.post("/events", content=raw, headers=headers).status_code == 400


def test_event_body_limit_is_configurable(app_factory: Any) -> None:
    client = app_factory(max_event_bytes=2048)
    response = publish(client, "t", "verification.failed", {"blob": "x" * 4000})
    assert response.status_code == 400
    assert "2048" in response.json()["message"]
    assert publish(client, "t", "verification.failed", {"blob": "x" * 1000}).status_code == 202


def test_same_idempotency_key_returns_the_first_answer(app_factory: Any) -> None:
    client = app_factory(run_worker=False)
    create_webhook(client, "t")
    first = publish(client, "t", "verification.completed", idempotencyKey="k-1").json()
    create_webhook(client, "t")  # a second webhook must not change the replayed answer
    again = publish(client, "t", "verification.completed", idempotencyKey="k-1").json()
    header = client.post(
        "/events",
        json={"tenantId": "t", "event": "verification.completed"},
        headers={"X-Api-Key": INGEST_KEY, "Idempotency-Key": "k-1"},
    ).json()
    assert first == again == header
    other_tenant = publish(client, "u", "verification.completed", idempotencyKey="k-1").json()
    assert other_tenant["data"]["id"] != first["data"]["id"]
    fresh = publish(client, "t", "verification.completed", idempotencyKey="k-2").json()
    assert fresh["data"]["deliveries"] == 2


@pytest.mark.parametrize(
    ("number", "path"),
    [
        ("18446744073709551616", "data.n"),
        ("9007199254740993", "data.n"),
        ("-9007199254740992", "data.n"),
        ("1e-400", "data.n"),
        ("1.00000000000000001", "data.n"),
        ("1e400", "data.n"),
    ],
)
def test_a_number_a_delivery_would_change_is_refused_by_name(
    client: TestClient, number: str, path: str
) -> None:
    text = f'{{"tenantId":"tenant-a","event":"verification.completed","data":{{"n":{number}}}}}'
    answer = client.post(
        "/events",
        content=text,
        headers={"X-Api-Key": INGEST_KEY, "Content-Type": "application/json"},
    )
    assert answer.status_code == 400, answer.text
    message = answer.json()["message"]
    assert message.startswith(f"{path} is {number}")
    assert "Send it as a string" in message


def test_exact_numbers_pass_and_round_mode_delivers_the_nearest_double(app_factory: Any) -> None:
    exact = app_factory(run_worker=False)
    for number in ("9007199254740991", "0.1", "1.5e300", "-0", "3.141592653589793"):
        text = f'{{"tenantId":"t","event":"verification.completed","data":{{"n":{number}}}}}'
        headers = {"X-Api-Key": INGEST_KEY, "Content-Type": "application/json"}
        assert exact.post("/events", content=text, headers=headers).status_code == 202, number
    rounding = app_factory(run_worker=False, numbers="round")
    text = '{"tenantId":"t","event":"verification.completed","data":{"n":18446744073709551616}}'
    headers = {"X-Api-Key": INGEST_KEY, "Content-Type": "application/json"}
    assert rounding.post("/events", content=text, headers=headers).status_code == 202
