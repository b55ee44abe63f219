"""A webhook's `rateLimit` and `health` through the API and /metrics, on both engines."""

import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.api.test_metrics import scrape
from tests.conftest import Clock, Receiver, auth, create_webhook, publish, wait_until

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
HEALTHY = {"status": "healthy", "failingSince": None, "consecutiveFailures": 0, "nextProbeAt": None}
Start = Callable[..., TestClient]


def get(client: TestClient, webhook_id: str) -> dict[str, Any]:
    answer = client.get(f"/dashboard/webhooks/{webhook_id}", headers=auth())
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()["data"]
    return data


def health_counts(client: TestClient) -> dict[str, float]:
    metrics = scrape(client)
    return {
        status: metrics[("webhookd_webhooks_health", (("status", status),))]
        for status in ("healthy", "failing", "paused")
    }


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


def test_a_rate_limited_endpoint_never_holds_up_the_others(start: Start) -> None:
    # The app's clock stands still until the test moves it: the limited endpoint's
    # bucket (1 a second, bursts of 1) never refills meanwhile, whatever the speed.
    clock = Clock()
    client = start(poll_interval=0.05, now=clock)
    with Receiver() as limited, Receiver() as free:
        create_webhook(client, url=limited.url, rateLimit=1)
        create_webhook(client, url=free.url)
        for n in range(10):
            publish(client, "tenant-a", "verification.completed", {"n": n})
        free.wait_for(10)  # every one, while the limited endpoint waits for its tokens
        limited.wait_for(1)
        assert len(limited.requests) == 1  # its one token; the clock has not moved
        clock.advance_to(clock.ms + 1000)  # a second later: one more token
        limited.wait_for(2)
        assert len(limited.requests) == 2
    assert len(free.requests) == 10


def test_a_failing_endpoint_shows_failing_then_healthy_after_a_success(start: Start) -> None:
    client = start(retry_schedule="")  # one attempt: the delivery fails at once
    status = [500]
    with Receiver(lambda _: (status[0], b"down")) as receiver:
        hook = create_webhook(client, url=receiver.url)
        assert health_counts(client) == {"healthy": 1, "failing": 0, "paused": 0}
        publish(client, "tenant-a", "verification.completed")
        receiver.wait_for(1)
        failing = wait_until(lambda: (h := get(client, hook["id"])["health"])["failingSince"] and h)
        assert failing["status"] == "failing"
        assert failing["consecutiveFailures"] >= 1
        assert ISO_MS.match(failing["failingSince"])
        assert failing["nextProbeAt"] is None
        assert health_counts(client) == {"healthy": 0, "failing": 1, "paused": 0}

        status[0] = 200  # the endpoint is back; a resend of the failed delivery succeeds
        log = f"/dashboard/webhooks/{hook['id']}/deliveries"
        [failed] = wait_until(
            lambda: client.get(log, params={"status": "failed"}, headers=auth()).json()["data"]
        )
        assert client.post(f"{log}/{failed['id']}/retry", headers=auth()).status_code == 202
        receiver.wait_for(2)
        assert wait_until(lambda: get(client, hook["id"])["health"] == HEALTHY)
        assert health_counts(client) == {"healthy": 1, "failing": 0, "paused": 0}


def test_a_4xx_answer_is_failing_but_no_breaker_failure(start: Start) -> None:
    # The endpoint is reachable and refuses the request: the circuit does not count it.
    client = start(retry_schedule="", circuit_failures=1)
    with Receiver(status=400) as receiver:
        hook = create_webhook(client, url=receiver.url)
        publish(client, "tenant-a", "verification.completed")
        receiver.wait_for(1)
        failing = wait_until(lambda: (h := get(client, hook["id"])["health"])["failingSince"] and h)
    assert failing["status"] == "failing"
    assert failing["consecutiveFailures"] == 0
    assert failing["nextProbeAt"] is None


def test_an_open_circuit_shows_paused_until_the_probe(start: Start) -> None:
    # The circuit opens at the first breaker failure and stays open for an hour.
    client = start(retry_schedule="60", circuit_failures=1, circuit_cooldown=3600)
    with Receiver(status=503) as receiver:
        hook = create_webhook(client, url=receiver.url)
        other = create_webhook(client, url=receiver.url, events=["record.error"])
        publish(client, "tenant-a", "verification.completed")
        receiver.wait_for(1)
        paused = wait_until(lambda: (h := get(client, hook["id"])["health"])["nextProbeAt"] and h)
    assert paused["status"] == "paused"
    assert paused["consecutiveFailures"] == 1
    assert ISO_MS.match(paused["nextProbeAt"])
    assert ISO_MS.match(paused["failingSince"])
    assert paused["nextProbeAt"] > paused["failingSince"]  # ISO in UTC: ordered as text
    assert get(client, other["id"])["health"] == HEALTHY
    assert health_counts(client) == {"healthy": 1, "failing": 0, "paused": 1}

    # The gauges count enabled webhooks only; enabling again closes the circuit.
    client.post(f"/dashboard/webhooks/{hook['id']}/toggle", headers=auth())
    assert health_counts(client) == {"healthy": 1, "failing": 0, "paused": 0}
    client.post(f"/dashboard/webhooks/{hook['id']}/toggle", headers=auth())
    assert get(client, hook["id"])["health"] == HEALTHY
    assert health_counts(client) == {"healthy": 2, "failing": 0, "paused": 0}
