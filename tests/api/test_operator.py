"""Operational webhooks (domain/operator.py) end to end, on both engines: real receivers
for the customer and for the platform's operator, the real worker between them."""

import base64
import threading
from typing import Any

import orjson
import standardwebhooks
from fastapi.testclient import TestClient

import webhookd
from tests.api.conftest import Start
from tests.conftest import (
    INGEST_KEY,
    Clock,
    Receiver,
    auth,
    create_webhook,
    publish,
    wait_until,
)
from webhookd import testing
from webhookd.domain import operator
from webhookd.store.base import DeliveryFilter

OPERATOR_SECRET = "whsec_" + base64.b64encode(b"operator-secret-of-32-bytes-long").decode()


def on(start: Start, receiver: Receiver, **settings: Any) -> TestClient:
    return start(operator_url=receiver.url, operator_secret=OPERATOR_SECRET, **settings)


def notices(receiver: Receiver, kind: str | None = None) -> list[dict[str, Any]]:
    """The bodies the operator received with a 2xx answer, of `kind` if given, in order."""
    found = [orjson.loads(r.body) for r in receiver.requests if r.headers.get("x-ok") != "no"]
    return [n for n in found if kind is None or n["event"] == kind]


class Switch:
    """A receiver's answer that a test changes."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.lock = threading.Lock()

    def __call__(self, request: testing.Received) -> testing.Reply:
        with self.lock:
            if not 200 <= self.status < 300:
                request.headers["x-ok"] = "no"  # answered with a failure: not received
            return self.status, b"ok"


def operator_log(client: TestClient) -> list[Any]:
    """The operator's own deliveries, as the store holds them (no route shows them)."""
    service = client.app.state.service  # type: ignore[attr-defined]
    where = DeliveryFilter(limit=1000)
    return client.portal.call(  # type: ignore[union-attr]
        service.store.list_deliveries, operator.TENANT, operator.WEBHOOK_ID, where, service.now()
    )


def test_a_410_disables_the_endpoint_and_the_operator_hears_it_signed(start: Start) -> None:
    with Receiver(status=410) as gone, Receiver() as ops:
        client = on(start, ops)
        hook = create_webhook(client, url=gone.url)
        assert publish(client, "tenant-a", "record.error").status_code == 202
        wait_until(lambda: notices(ops, "endpoint.disabled"))
        [disabled] = notices(ops, "endpoint.disabled")
        assert disabled["data"]["reason"] == "gone"
        assert disabled["data"]["tenantId"] == "tenant-a"
        assert disabled["data"]["webhookId"] == hook["id"]
        request = next(r for r in ops.requests if b"endpoint.disabled" in r.body)
        assert request.headers["x-pacspace-event"] == "endpoint.disabled"
        assert webhookd.verify(request.body, request.headers, OPERATOR_SECRET) is not None
        standardwebhooks.Webhook(OPERATOR_SECRET).verify(request.body, request.headers)
        assert next(n["event"] for n in notices(ops)) == "endpoint.created"


def test_failing_thresholds_once_each_then_disabled_then_recovered(start: Start) -> None:
    switch = Switch(500)
    with Receiver(switch) as customer, Receiver() as ops:
        client = on(
            start,
            ops,
            retry_schedule=",".join(["0.1"] * 60),
            retry_jitter=0,
            disable_after=2.0,
            circuit_failures=0,
        )
        hook = create_webhook(client, url=customer.url)
        assert publish(client, "tenant-a", "record.error").status_code == 202
        disabled = wait_until(lambda: notices(ops, "endpoint.disabled"))
        assert disabled[0]["data"]["reason"] == "failing"
        assert disabled[0]["data"]["failingSince"] is not None
        failing = notices(ops, "endpoint.failing")
        assert [n["data"]["threshold"] for n in failing] == [50, 70, 90]
        assert {n["data"]["failingSince"] for n in failing} == {disabled[0]["data"]["failingSince"]}
        assert failing[0]["data"]["disableAfterSeconds"] == 2
        # it comes back, is enabled, and its next delivery succeeds
        switch.status = 200
        h = auth()
        assert client.post(f"/dashboard/webhooks/{hook['id']}/toggle", headers=h).json()["data"][
            "active"
        ]
        assert publish(client, "tenant-a", "record.error").status_code == 202
        [recovered] = wait_until(lambda: notices(ops, "endpoint.recovered"))
        assert recovered["data"]["webhookId"] == hook["id"]
        assert len(notices(ops, "endpoint.enabled")) == 1
        # each threshold was announced exactly once, and nothing of it is still queued
        assert [n["data"]["threshold"] for n in notices(ops, "endpoint.failing")] == [50, 70, 90]
        kinds = [d.event_type for d in operator_log(client)]
        assert kinds.count("endpoint.failing") == 3
        assert kinds.count("endpoint.disabled") == 1


def test_many_exhausted_within_an_hour_make_one_notice_carrying_the_count(start: Start) -> None:
    clock = Clock()
    with Receiver(status=500) as customer, Receiver() as ops:
        client = on(start, ops, now=clock, circuit_failures=0)
        hook = create_webhook(client, url=customer.url)
        batch = {"events": [{"tenantId": "tenant-a", "event": "record.error"}] * 20}
        sent = client.post("/events/batch", json=batch, headers={"X-Api-Key": INGEST_KEY})
        assert sent.status_code == 202
        log = f"/dashboard/webhooks/{hook['id']}/deliveries?status=failed&limit=100"
        wait_until(lambda: len(client.get(log, headers=auth()).json()["data"]) == 20)
        # every settle is committed, and with it every notice it made: exactly one
        assert [d.event_type for d in operator_log(client)].count("message.attempt.exhausted") == 1
        [first] = wait_until(lambda: notices(ops, "message.attempt.exhausted"))
        assert first["data"]["webhookId"] == hook["id"]
        assert first["data"]["httpStatus"] == 500
        # an hour on, the next exhaustion is announced with the count of those not announced
        clock.advance_to(clock.ms + 3_600_001)
        assert publish(client, "tenant-a", "record.error").status_code == 202
        second = wait_until(lambda: notices(ops, "message.attempt.exhausted")[1:])[0]
        assert first["data"]["others"] + 1 + second["data"]["others"] + 1 == 21
        assert second["data"]["othersSince"] == first["timestamp"]


def test_a_down_operator_endpoint_gets_its_notices_later_and_customers_never_wait(
    start: Start,
) -> None:
    switch = Switch(503)
    with Receiver(switch) as ops, Receiver() as customer:
        client = on(
            start, ops, retry_schedule=",".join(["0.2"] * 100), retry_jitter=0, circuit_cooldown=0.5
        )
        hook = create_webhook(client, url=customer.url)
        ops.wait_for(1)  # endpoint.created, refused
        for n in range(10):
            assert publish(client, "tenant-a", "record.error", {"n": n}).status_code == 202
        customer.wait_for(10)
        assert switch.status == 503
        assert notices(ops) == []
        failed_tries = len(ops.requests)
        switch.status = 200
        [created] = wait_until(lambda: notices(ops, "endpoint.created"))
        assert created["data"]["webhookId"] == hook["id"]
        tries = [r for r in ops.requests if b"endpoint.created" in r.body]
        assert len({r.headers["x-pacspace-delivery"] for r in tries}) == 1  # one delivery, retried
        assert len(tries) >= 2
        assert failed_tries >= 1


def test_changes_through_the_api_are_announced(start: Start) -> None:
    with Receiver() as ops:
        client = on(start, ops)
        h = auth()
        hook = create_webhook(client, events=["record.error"])
        base = f"/dashboard/webhooks/{hook['id']}"
        assert client.patch(base, json={"description": "x"}, headers=h).status_code == 200
        assert client.post(f"{base}/rotate-secret", json={}, headers=h).status_code == 200
        assert client.post(f"{base}/toggle", headers=h).status_code == 200
        assert client.post(f"{base}/toggle", headers=h).status_code == 200
        assert client.delete(base, headers=h).status_code == 200
        expected = [
            "endpoint.created",
            "endpoint.updated",
            "endpoint.secret_rotated",
            "endpoint.disabled",
            "endpoint.enabled",
            "endpoint.deleted",
        ]
        wait_until(lambda: len(notices(ops)) == len(expected))
        got = sorted(notices(ops), key=lambda n: n["timestamp"])
        assert sorted(n["event"] for n in got) == sorted(expected)
        assert all(n["data"]["webhookId"] == hook["id"] for n in got)
        assert all(n["data"]["tenantId"] == "tenant-a" for n in got)
        by_kind = {n["event"]: n["data"] for n in got}
        assert by_kind["endpoint.updated"]["changes"] == {"description": "x"}
        assert by_kind["endpoint.disabled"]["reason"] == "manual"


def test_operator_events_can_be_chosen(start: Start) -> None:
    with Receiver() as ops:
        client = on(start, ops, operator_events="endpoint.deleted")
        hook = create_webhook(client)
        assert client.delete(f"/dashboard/webhooks/{hook['id']}", headers=auth()).status_code == 200
        [deleted] = wait_until(lambda: notices(ops))
        assert deleted["event"] == "endpoint.deleted"
        assert [d.event_type for d in operator_log(client)] == ["endpoint.deleted"]


def test_customers_see_neither_the_operator_webhook_nor_its_events(start: Start) -> None:
    with Receiver() as ops:
        client = on(start, ops)
        h = auth()
        types = [t["name"] for t in client.get("/dashboard/event-types", headers=h).json()["data"]]
        assert not set(types) & set(operator.EVENTS)
        assert client.get("/dashboard/webhooks", headers=h).json()["data"] == []
        assert (
            client.get(f"/dashboard/webhooks/{operator.WEBHOOK_ID}", headers=h).status_code == 404
        )
        refused = client.post(
            "/dashboard/webhooks",
            json={"url": "https://example.com/h", "events": ["endpoint.failing"]},
            headers=h,
        )
        assert refused.status_code == 400
        sent = publish(client, "tenant-a", "endpoint.failing")
        assert sent.status_code == 400
