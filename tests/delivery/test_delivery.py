"""Deliveries and test sends reach a real receiver on 127.0.0.1, signed as the seed says."""

import json
import re
import time
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import auth, create_webhook, publish
from webhookd.domain import signing
from webhookd.testing import Receiver, free_port


def test_published_event_is_delivered_signed_with_every_header(client: TestClient) -> None:
    with Receiver() as receiver:
        hook = create_webhook(client, url=receiver.url, events=["verification.completed"])
        data = {"recordId": "rec_1", "score": 1.0, "tiny": 1e-7, "name": "Zoë", "10": "x", "2": "y"}
        started = time.time()
        assert publish(client, "tenant-a", "verification.completed", data).status_code == 202
        [request] = receiver.wait_for(1)
    headers = request.headers
    assert headers["content-type"] == "application/json"
    assert re.fullmatch(r"webhookd/\S+", headers["user-agent"])
    assert headers["x-pacspace-event"] == "verification.completed"
    assert re.fullmatch(r"dlv_[0-9a-z]{26}", headers["x-pacspace-delivery"])
    assert abs(int(headers["x-pacspace-timestamp"]) - started) < 5
    assert signing.verify(hook["secret"], request.body, headers["x-pacspace-signature"])
    assert headers["x-pacspace-signature"] == signing.sign(hook["secret"], request.body)
    body = json.loads(request.body)
    assert list(body) == ["event", "timestamp", "data"]
    assert body["event"] == "verification.completed"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["timestamp"])
    # JavaScript's formatting: integer-like keys first, 1.0 as 1, non-ASCII raw.
    assert (
        b'"data":{"2":"y","10":"x","recordId":"rec_1","score":1,"tiny":1e-7,"name":"Zo\xc3\xab"}'
        in (request.body)
    )


def test_each_subscribed_webhook_gets_its_own_signature_and_delivery_id(client: TestClient) -> None:
    with Receiver() as first, Receiver() as second:
        a = create_webhook(client, url=first.url)
        b = create_webhook(client, url=second.url)
        publish(client, "tenant-a", "verification.failed", {"reason": "timeout"})
        [ra], [rb] = first.wait_for(1), second.wait_for(1)
    assert ra.body == rb.body
    assert signing.verify(a["secret"], ra.body, ra.headers["x-pacspace-signature"])
    assert signing.verify(b["secret"], rb.body, rb.headers["x-pacspace-signature"])
    assert not signing.verify(a["secret"], rb.body, rb.headers["x-pacspace-signature"])
    assert ra.headers["x-pacspace-delivery"] != rb.headers["x-pacspace-delivery"]


def test_unsubscribed_and_other_tenants_webhooks_receive_nothing(client: TestClient) -> None:
    with Receiver() as wanted, Receiver() as unwanted:
        create_webhook(client, "tenant-a", url=wanted.url, events=["verification.failed"])
        create_webhook(client, "tenant-a", url=unwanted.url, events=["verification.completed"])
        create_webhook(client, "tenant-b", url=unwanted.url)
        publish(client, "tenant-a", "verification.failed")
        wanted.wait_for(1)
        time.sleep(0.5)
    assert unwanted.requests == []


def test_last_triggered_at_follows_the_attempt(client: TestClient) -> None:
    with Receiver(status=500) as receiver:
        hook = create_webhook(client, url=receiver.url)
        publish(client, "tenant-a", "verification.completed")
        receiver.wait_for(1)
        deadline = time.time() + 5
        got: dict[str, Any] = {}
        while time.time() < deadline:
            got = client.get(f"/dashboard/webhooks/{hook['id']}", headers=auth()).json()["data"]
            if got["lastTriggeredAt"]:
                break
            time.sleep(0.05)
    assert got["lastTriggeredAt"] is not None
    assert got["lastTriggeredAt"] >= hook["createdAt"]


def test_test_route_sends_the_seed_payload(client: TestClient) -> None:
    with Receiver() as receiver:
        hook = create_webhook(client, url=receiver.url)
        response = client.post(f"/dashboard/webhooks/{hook['id']}/test", headers=auth())
        [request] = receiver.requests
    assert response.json() == {
        "statusCode": 200,
        "data": {"success": True, "httpStatus": 200, "message": "Test event sent successfully."},
    }
    body = json.loads(request.body)
    assert body["event"] == "test"
    assert body["data"] == {"message": "This is a test webhook event from PacSpace."}
    assert request.headers["x-pacspace-event"] == "test"
    assert signing.verify(hook["secret"], request.body, request.headers["x-pacspace-signature"])
    got = client.get(f"/dashboard/webhooks/{hook['id']}", headers=auth()).json()["data"]
    assert got["lastTriggeredAt"] is not None


def test_test_route_reports_an_error_status(client: TestClient) -> None:
    with Receiver(status=500) as receiver:
        hook = create_webhook(client, url=receiver.url)
        data = client.post(f"/dashboard/webhooks/{hook['id']}/test", headers=auth()).json()["data"]
    assert data["success"] is False
    assert data["httpStatus"] == 500
    assert "500" in data["message"]


def test_test_route_reports_no_answer(client: TestClient) -> None:
    hook = create_webhook(client, url=f"http://127.0.0.1:{free_port()}/hook")
    data = client.post(f"/dashboard/webhooks/{hook['id']}/test", headers=auth()).json()["data"]
    assert data["success"] is False
    assert data["httpStatus"] is None
    assert "could not connect" in data["message"]


def test_test_route_gives_up_at_the_deadline(app_factory: Any) -> None:
    client = app_factory(delivery_timeout=0.5)

    def slow(_: object) -> tuple[int, bytes]:
        time.sleep(2)
        return 200, b"late"

    with Receiver(slow) as receiver:
        hook = create_webhook(client, url=receiver.url)
        started = time.monotonic()
        data = client.post(f"/dashboard/webhooks/{hook['id']}/test", headers=auth()).json()["data"]
        elapsed = time.monotonic() - started
    assert data == {
        "success": False,
        "httpStatus": None,
        "message": "No answer from the endpoint: timed out after 0.5 s.",
    }
    assert elapsed < 1.5


def test_redirects_are_not_followed(client: TestClient) -> None:
    target = Receiver()
    redirecting = Receiver(lambda _: (302, b"", {"Location": target.url}))
    with target, redirecting:
        hook = create_webhook(client, url=redirecting.url)
        data = client.post(f"/dashboard/webhooks/{hook['id']}/test", headers=auth()).json()
        assert len(redirecting.requests) == 1
    assert data["data"]["success"] is False
    assert data["data"]["httpStatus"] == 302
    assert target.requests == []


def test_disabled_webhook_gets_no_delivery(client: TestClient) -> None:
    with Receiver() as receiver:
        hook = create_webhook(client, url=receiver.url)
        client.post(f"/dashboard/webhooks/{hook['id']}/toggle", headers=auth())
        assert publish(client, "tenant-a", "verification.failed").json()["data"]["deliveries"] == 0
        time.sleep(0.5)
    assert receiver.requests == []
