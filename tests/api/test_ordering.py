"""Ordered delivery (`ordering: "fifo"`), on both engines, with real receivers: one
attempt at a time, in publish order, a failure holding the queue until it is delivered
or fails for good, and the webhook's other deliveries (and webhooks) unaffected."""

import json
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import Start
from tests.conftest import INGEST_KEY, Receiver, auth, create_webhook, wait_until
from webhookd.testing import Received

RETRY_FAST = ",".join(["0.01"] * 12)  # 13 attempts: 0.2^13 of 1,000 never exhaust


class Counting:
    """A responder that counts the requests it is answering at once, and fails those
    `fails` picks."""

    def __init__(self, fails: Callable[[Received], bool]) -> None:
        self.fails = fails
        self.now = 0
        self.most = 0
        self._lock = threading.Lock()

    def __call__(self, request: Received) -> tuple[int, bytes]:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            return (500, b"no") if self.fails(request) else (200, b"OK")
        finally:
            with self._lock:
                self.now -= 1


def slowly(_: Received) -> bool:
    time.sleep(0.02)
    return False


def n_of(request: Received) -> int:
    n: int = json.loads(request.body)["data"]["n"]
    return n


def first_arrivals(requests: list[Received]) -> list[int]:
    """The data's `n` of each delivery the first time it arrived, in arrival order."""
    seen: set[str] = set()
    order = []
    for request in requests:
        delivery = request.headers["x-pacspace-delivery"]
        if delivery not in seen:
            seen.add(delivery)
            order.append(n_of(request))
    return order


def publish_batches(client: TestClient, tenant: str, numbers: range, size: int = 100) -> None:
    for start in range(numbers.start, numbers.stop, size):
        events = [
            {"tenantId": tenant, "event": "record.verified", "data": {"n": n}}
            for n in range(start, min(start + size, numbers.stop))
        ]
        answer = client.post(
            "/events/batch", json={"events": events}, headers={"X-Api-Key": INGEST_KEY}
        )
        assert answer.status_code == 202, answer.text


def delivered_ns(requests: list[Received]) -> set[int]:
    return {n_of(r) for r in requests}


def test_a_fifo_webhook_gets_every_event_in_order_through_failures(start: Start) -> None:
    rng = random.Random(18)
    fifo = Counting(lambda _: rng.random() < 0.2)
    # Each answer of the other webhook takes 20 ms: its deliveries overlap as far as its
    # window lets them (it widens with each success, up to WEBHOOKD_WEBHOOK_CONCURRENCY).
    other = Counting(slowly)

    with Receiver(fifo) as ordered, Receiver(other) as unordered:
        client = start(retry_schedule=RETRY_FAST)
        hook = create_webhook(client, "acme", url=ordered.url, ordering="fifo")
        assert hook["ordering"] == "fifo"
        create_webhook(client, "acme", url=unordered.url)
        publish_batches(client, "acme", range(1000))
        wait_until(lambda: len(delivered_ns(ordered.requests)) == 1000, timeout=120)
        wait_until(lambda: len(delivered_ns(unordered.requests)) == 1000, timeout=60)
    arrivals = first_arrivals(ordered.requests)
    assert arrivals == sorted(arrivals) == list(range(1000))  # strictly in publish order
    assert len(ordered.requests) > 1000  # some failed and were sent again
    assert fifo.most == 1  # one attempt in flight at a time
    assert other.most >= 8  # the tenant's other webhook kept its concurrency


def test_a_delivery_that_exhausts_its_attempts_releases_the_queue(start: Start) -> None:
    with Receiver(lambda r: (500, b"no") if n_of(r) == 0 else (200, b"OK")) as receiver:
        client = start(retry_schedule="0.01,0.01")
        hook = create_webhook(client, "acme", url=receiver.url, ordering="fifo")
        publish_batches(client, "acme", range(3))
        wait_until(lambda: len(receiver.requests) == 5)
        log = client.get(f"/dashboard/webhooks/{hook['id']}/deliveries", headers=auth("acme"))
    assert [n_of(r) for r in receiver.requests] == [0, 0, 0, 1, 2]
    statuses = {d["status"] for d in log.json()["data"]}
    assert statuses == {"failed", "delivered"}


def _deliveries(client: TestClient, hook: dict[str, Any]) -> list[dict[str, Any]]:
    answer = client.get(f"/dashboard/webhooks/{hook['id']}/deliveries", headers=auth("acme"))
    data: list[dict[str, Any]] = answer.json()["data"]
    return data


def test_the_log_shows_what_waits_behind_the_head(start: Start) -> None:
    failing = {0: True}

    def respond(request: Received) -> tuple[int, bytes]:
        return (500, b"no") if failing.get(n_of(request)) else (200, b"OK")

    with Receiver(respond) as receiver:
        client = start(retry_schedule="3600")
        hook = create_webhook(client, "acme", url=receiver.url, ordering="fifo")
        publish_batches(client, "acme", range(1))
        wait_until(lambda: len(receiver.requests) == 1)  # the head failed: next try in 1 h
        publish_batches(client, "acme", range(1, 3))
        log = _deliveries(client, hook)  # newest first
        head = log[-1]
        assert (head["status"], head["attempts"], head["blockedBy"]) == ("pending", 1, None)
        assert [d["blockedBy"] for d in log[:2]] == [head["id"], head["id"]]
        detail = client.get(
            f"/dashboard/webhooks/{hook['id']}/deliveries/{log[0]['id']}", headers=auth("acme")
        )
        assert detail.json()["data"]["blockedBy"] == head["id"]
        # Resent by hand, the pending head goes now and keeps its place: no message.
        failing[0] = False
        resent = client.post(
            f"/dashboard/webhooks/{hook['id']}/deliveries/{head['id']}/retry",
            headers=auth("acme"),
        )
        assert resent.status_code == 202
        assert "message" not in resent.json()
        wait_until(lambda: len(receiver.requests) == 4)
        after = _deliveries(client, hook)
    assert [n_of(r) for r in receiver.requests] == [0, 0, 1, 2]
    assert [d["blockedBy"] for d in after] == [None, None, None]


def test_a_resent_failed_delivery_goes_out_of_order_and_says_so(start: Start) -> None:
    holding = threading.Event()
    tries: dict[int, int] = {}

    def respond(request: Received) -> tuple[int, bytes]:
        n = n_of(request)
        tries[n] = tries.get(n, 0) + 1
        if n == 1:
            holding.wait(30)  # the queue's head stays in flight while the resend goes
        return (500, b"no") if n == 0 and tries[n] == 1 else (200, b"OK")

    with Receiver(respond) as receiver:
        client = start(retry_schedule="")  # one attempt: a failure is final
        hook = create_webhook(client, "acme", url=receiver.url, ordering="fifo")
        publish_batches(client, "acme", range(1))
        failed = wait_until(
            lambda: [d for d in _deliveries(client, hook) if d["status"] == "failed"]
        )
        publish_batches(client, "acme", range(1, 2))  # the new head: held in flight
        wait_until(lambda: any(d["inFlight"] for d in _deliveries(client, hook)))
        resent = client.post(
            f"/dashboard/webhooks/{hook['id']}/deliveries/{failed[0]['id']}/retry",
            headers=auth("acme"),
        )
        assert resent.status_code == 202
        assert "out of order" in resent.json()["message"]
        wait_until(lambda: len(receiver.requests) == 2)  # the resend, past the held head
        holding.set()
        wait_until(lambda: len(receiver.requests) == 3)
    assert [n_of(r) for r in receiver.requests] == [0, 0, 1]


def test_ordering_is_checked_and_can_be_switched(start: Start) -> None:
    client = start()
    hook = create_webhook(client, "acme")
    assert hook["ordering"] == "none"
    url = f"/dashboard/webhooks/{hook['id']}"
    bad = client.patch(url, json={"ordering": "lifo"}, headers=auth("acme"))
    assert bad.status_code == 400
    assert "ordering" in bad.json()["message"]
    null = client.patch(url, json={"ordering": None}, headers=auth("acme"))
    assert null.status_code == 400
    on = client.patch(url, json={"ordering": "fifo"}, headers=auth("acme"))
    assert on.json()["data"]["ordering"] == "fifo"
    assert client.get(url, headers=auth("acme")).json()["data"]["ordering"] == "fifo"
    other = client.patch(url, json={"ordering": "none"}, headers=auth("someone-else"))
    assert other.status_code == 404
    off = client.patch(url, json={"ordering": "none"}, headers=auth("acme"))
    assert off.json()["data"]["ordering"] == "none"


def test_the_next_in_line_goes_when_the_head_settles_not_at_the_next_poll(start: Start) -> None:
    with Receiver() as receiver:
        client = start(poll_interval=60)  # a poll would take longer than the whole wait
        create_webhook(client, "acme", url=receiver.url, ordering="fifo")
        publish_batches(client, "acme", range(50))
        wait_until(lambda: len(receiver.requests) == 50)
    assert [n_of(r) for r in receiver.requests] == list(range(50))
