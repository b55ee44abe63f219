"""Deliveries and test sends reach a real receiver on 127.0.0.1, signed as the seed says."""

import json
import re
import threading
import time
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Receiver, auth, create_webhook, publish, wait_until
from webhookd.domain import signing
from webhookd.testing import Received, free_port


def test_published_event_is_delivered_signed_with_every_header(client: TestClient) -> None:
    with Receiver() as receiver:
        hook = create_webhook(client, url=receiver.url, events=["verification.completed"])
        data = {"recordId": "rec_1", "score": 1.0, "tiny": 1e-7, "name": "Zoë", "10": "x", "2": "y"}
        published_at = int(time.time())
        assert publish(client, "tenant-a", "verification.completed", data).status_code == 202
        [request] = receiver.wait_for(1)
    headers = request.headers
    assert headers["content-type"] == "application/json"
    assert re.fullmatch(r"webhookd/\S+", headers["user-agent"])
    assert headers["x-pacspace-event"] == "verification.completed"
    assert re.fullmatch(r"dlv_[0-9a-z]{26}", headers["x-pacspace-delivery"])
    # The time of signing, in whole seconds: after the publish, before the arrival.
    assert published_at <= int(headers["x-pacspace-timestamp"]) <= request.at
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
        other_event = create_webhook(
            client, "tenant-a", url=unwanted.url, events=["verification.completed"]
        )
        other_tenant = create_webhook(client, "tenant-b", url=unwanted.url)
        published = publish(client, "tenant-a", "verification.failed").json()["data"]
        wanted.wait_for(1)
        # The fan-out decided at the publish: one delivery, and none queued for the others
        # (a delivery is only ever sent from its row).
        assert published["deliveries"] == 1
        for hook, tenant in ((other_event, "tenant-a"), (other_tenant, "tenant-b")):
            path = f"/dashboard/webhooks/{hook['id']}/deliveries"
            assert client.get(path, headers=auth(tenant)).json()["data"] == []
    assert unwanted.requests == []


def test_last_triggered_at_follows_the_attempt(client: TestClient) -> None:
    with Receiver(status=500) as receiver:
        hook = create_webhook(client, url=receiver.url)
        publish(client, "tenant-a", "verification.completed")
        receiver.wait_for(1)

        def triggered() -> dict[str, Any] | None:
            path = f"/dashboard/webhooks/{hook['id']}"
            got: dict[str, Any] = client.get(path, headers=auth()).json()["data"]
            return got if got["lastTriggeredAt"] else None

        got = wait_until(triggered)
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
    answered = threading.Event()

    def late(_: Received) -> tuple[int, bytes]:
        answered.wait(60)  # answers only once the test's call has returned
        return 200, b"late"

    with Receiver(late) as receiver:
        hook = create_webhook(client, url=receiver.url)
        try:
            answer = client.post(f"/dashboard/webhooks/{hook['id']}/test", headers=auth())
        finally:
            answered.set()
    # The call came back while the endpoint still held the request: the deadline ended
    # it, not the endpoint (whose answer would have been a 200).
    assert answer.json()["data"] == {
        "success": False,
        "httpStatus": None,
        "message": "No answer from the endpoint: timed out after 0.5 s.",
    }


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
        # Enabled again, it gets the next event, and only that one: nothing was queued
        # for it while it was disabled.
        client.post(f"/dashboard/webhooks/{hook['id']}/toggle", headers=auth())
        publish(client, "tenant-a", "verification.completed")
        [request] = receiver.wait_for(1)
        log = client.get(f"/dashboard/webhooks/{hook['id']}/deliveries", headers=auth())
    assert json.loads(request.body)["event"] == "verification.completed"
    assert [d["event"] for d in log.json()["data"]] == ["verification.completed"]
