"""Retries the way receivers need them, against real receivers on 127.0.0.1."""

import itertools
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Clock, Receiver, auth, create_webhook, publish, wait_until


def _log(client: TestClient, hook_id: str, **query: Any) -> list[dict[str, Any]]:
    answer = client.get(f"/dashboard/webhooks/{hook_id}/deliveries", params=query, headers=auth())
    assert answer.status_code == 200, answer.text
    data: list[dict[str, Any]] = answer.json()["data"]
    return data


def _detail(client: TestClient, hook_id: str, delivery_id: str) -> dict[str, Any]:
    url = f"/dashboard/webhooks/{hook_id}/deliveries/{delivery_id}"
    data: dict[str, Any] = client.get(url, headers=auth()).json()["data"]
    return data


def _settled(client: TestClient, hook_id: str, status: str) -> dict[str, Any] | None:
    return next((d for d in _log(client, hook_id) if d["status"] == status), None)


def _waiting(client: TestClient, hook_id: str, attempts: int) -> dict[str, Any] | None:
    """The delivery once `attempts` attempts are settled and the next one is scheduled."""
    return next(
        (
            d
            for d in _log(client, hook_id)
            if d["status"] == "pending" and d["attempts"] == attempts and not d["inFlight"]
        ),
        None,
    )


def _ms(moment: str) -> int:
    return round(datetime.fromisoformat(moment).timestamp() * 1000)


def test_fails_k_times_then_delivered_with_delays_in_the_jitter_band(app_factory: Any) -> None:
    # The app's clock stands still until the test moves it, so what the worker
    # schedules is exact: the delay it chose, whatever the machine's speed.
    clock = Clock()
    client = app_factory(retry_schedule="0.4,0.8", retry_jitter=0.2, poll_interval=0.05, now=clock)
    answers = itertools.chain([500, 503], itertools.repeat(200))
    with Receiver(lambda _: (next(answers), b"nope")) as receiver:
        hook = create_webhook(client, url=receiver.url)
        publish(client, "tenant-a", "verification.completed", {"n": 1})
        scheduled = []
        for attempts, base_ms in enumerate((400, 800), start=1):
            waiting = wait_until(lambda: _waiting(client, hook["id"], attempts))  # noqa: B023
            due = _ms(waiting["nextAttemptAt"])
            assert base_ms * 0.8 <= due - clock.ms <= base_ms * 1.2, (due - clock.ms, base_ms)
            assert len(receiver.requests) == attempts  # not sent again before it is due
            scheduled.append(due)
            clock.advance_to(due)
        delivered = wait_until(lambda: _settled(client, hook["id"], "delivered"))
    ids = {r.headers["x-pacspace-delivery"] for r in receiver.requests}
    assert ids == {delivered["id"]}  # the same delivery id on every try
    assert delivered["attempts"] == 3
    log = _detail(client, hook["id"], delivered["id"])["attemptLog"]
    assert [a["httpStatus"] for a in log] == [500, 503, 200]
    assert [_ms(a["attemptedAt"]) for a in log[1:]] == scheduled  # each retry when due
    assert log[0]["responseExcerpt"] == "nope"
    assert log[0]["requestHeaders"]["X-PacSpace-Delivery"] == delivered["id"]
    assert all(a["durationMs"] >= 0 for a in log)


def test_gives_up_when_the_schedule_is_spent(app_factory: Any) -> None:
    client = app_factory(retry_schedule="0.05", poll_interval=0.05)
    with Receiver(status=500) as receiver:
        hook = create_webhook(client, url=receiver.url)
        publish(client, "tenant-a", "verification.failed")
        failed = wait_until(lambda: _settled(client, hook["id"], "failed"))
    # Failed with nothing scheduled: the database holds no further attempt, and both
    # that were made arrived before their results were settled.
    assert failed["attempts"] == 2
    assert failed["nextAttemptAt"] is None
    assert len(receiver.requests) == 2


def test_410_disables_the_webhook_with_a_reason(app_factory: Any) -> None:
    client = app_factory(retry_schedule="0.05,0.05", poll_interval=0.05)
    with Receiver(status=410) as receiver:
        hook = create_webhook(client, url=receiver.url)
        publish(client, "tenant-a", "verification.failed")
        failed = wait_until(lambda: _settled(client, hook["id"], "failed"))
        got = client.get(f"/dashboard/webhooks/{hook['id']}", headers=auth()).json()["data"]
        assert publish(client, "tenant-a", "verification.failed").json()["data"]["deliveries"] == 0
    assert failed["attempts"] == 1
    assert len(receiver.requests) == 1
    assert got["active"] is False
    assert "410" in got["disabledReason"]
    enabled = client.post(f"/dashboard/webhooks/{hook['id']}/toggle", headers=auth())
    assert enabled.json()["data"]["active"] is True
    got = client.get(f"/dashboard/webhooks/{hook['id']}", headers=auth()).json()["data"]
    assert got["disabledReason"] is None


def test_a_redirect_is_a_failure_and_is_not_followed(app_factory: Any) -> None:
    client = app_factory(retry_schedule="0.05", poll_interval=0.05)
    target = Receiver()
    redirecting = Receiver(lambda _: (307, b"", {"Location": target.url}))
    with target, redirecting:
        hook = create_webhook(client, url=redirecting.url)
        publish(client, "tenant-a", "verification.failed")
        failed = wait_until(lambda: _settled(client, hook["id"], "failed"))
    assert failed["lastHttpStatus"] == 307
    assert len(redirecting.requests) == 2
    assert target.requests == []


def test_429_retry_after_is_respected(app_factory: Any) -> None:
    clock = Clock()  # stands still until moved: the scheduled retry is exact
    client = app_factory(retry_schedule="1", retry_jitter=0, poll_interval=0.05, now=clock)
    answers = iter([(429, b"slow down", {"Retry-After": "2"})])
    with Receiver(lambda _: next(answers, (200, b"OK"))) as receiver:
        hook = create_webhook(client, url=receiver.url)
        publish(client, "tenant-a", "verification.completed")
        waiting = wait_until(lambda: _waiting(client, hook["id"], 1))
        # Retry-After: 2 outweighs the schedule's 1 s (and is within twice it).
        assert _ms(waiting["nextAttemptAt"]) == clock.ms + 2000
        assert len(receiver.requests) == 1
        clock.advance_to(clock.ms + 2000)
        delivered = wait_until(lambda: _settled(client, hook["id"], "delivered"))
    assert delivered["attempts"] == 2
    assert len(receiver.requests) == 2


def test_failing_for_longer_than_disable_after_disables(app_factory: Any) -> None:
    client = app_factory(retry_schedule="0.2,0.2,0.2,0.2", disable_after=0.3, poll_interval=0.05)
    with Receiver(status=500) as receiver:
        hook = create_webhook(client, url=receiver.url)
        publish(client, "tenant-a", "verification.completed")

        def disabled() -> dict[str, Any] | None:
            got = client.get(f"/dashboard/webhooks/{hook['id']}", headers=auth()).json()["data"]
            return got if not got["active"] else None

        got = wait_until(disabled)
    assert "failed for" in got["disabledReason"]
    assert len(receiver.requests) >= 2


def test_delivery_of_a_webhook_disabled_after_publish_stops(app_factory: Any) -> None:
    client = app_factory(run_worker=False)
    with Receiver() as receiver:
        hook = create_webhook(client, url=receiver.url)
        publish(client, "tenant-a", "verification.completed")
        client.post(f"/dashboard/webhooks/{hook['id']}/toggle", headers=auth())
    worker_client = app_factory(poll_interval=0.05)  # same database, now with a worker
    failed = wait_until(lambda: _settled(worker_client, hook["id"], "failed"))
    assert failed["attempts"] == 0
    assert receiver.requests == []


def test_retries_run_with_a_single_slot(app_factory: Any) -> None:
    client = app_factory(worker_concurrency=1, retry_schedule="0.1", poll_interval=0.05)
    answers = iter([500])
    with Receiver(lambda _: (next(answers, 200), b"")) as receiver:
        hook = create_webhook(client, url=receiver.url)
        publish(client, "tenant-a", "verification.completed")
        receiver.wait_for(2)
        delivered = wait_until(lambda: _settled(client, hook["id"], "delivered"))
    assert delivered["attempts"] == 2
