"""The delivery log API: pages, filters, detail, resend, recover, and their errors."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Clock, Receiver, auth, create_webhook, publish, wait_until


def _get(client: TestClient, path: str, tenant: str = "tenant-a", **query: Any) -> Any:
    return client.get(path, params=query, headers=auth(tenant))


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ms(moment: str) -> int:
    return round(datetime.fromisoformat(moment).timestamp() * 1000)


def test_log_pages_newest_first_and_filters(app_factory: Any) -> None:
    client = app_factory(run_worker=False)
    hook = create_webhook(client)
    kinds = ["verification.completed", "verification.failed", "record.error"] * 2
    events = [publish(client, "tenant-a", k).json()["data"]["id"] for k in kinds]
    path = f"/dashboard/webhooks/{hook['id']}/deliveries"
    first = _get(client, path, limit=4).json()
    assert first["statusCode"] == 200
    assert len(first["data"]) == 4
    second = _get(client, path, limit=4, cursor=first["nextCursor"]).json()
    assert second["nextCursor"] is None
    listed = first["data"] + second["data"]
    assert [d["eventId"] for d in listed] == events[::-1]
    entry = listed[0]
    assert set(entry) == {
        "id", "eventId", "event", "status", "attempts", "inFlight", "createdAt",
        "lastAttemptAt", "lastHttpStatus", "nextAttemptAt", "blockedBy",
    }  # fmt: skip
    assert (entry["status"], entry["attempts"], entry["lastAttemptAt"]) == ("pending", 0, None)
    only_failed_kind = _get(client, path, event="verification.failed").json()["data"]
    assert [d["event"] for d in only_failed_kind] == ["verification.failed"] * 2
    assert _get(client, path, status="delivered").json()["data"] == []


@pytest.mark.parametrize(
    "query",
    [{"status": "lost"}, {"limit": 0}, {"limit": 101}, {"limit": "x"}, {"event": "no.such"}],
)
def test_bad_log_queries_are_400(client: TestClient, query: dict[str, Any]) -> None:
    hook = create_webhook(client)
    answer = _get(client, f"/dashboard/webhooks/{hook['id']}/deliveries", **query)
    assert answer.status_code == 400
    assert answer.json()["error"] == "Bad Request"


def test_detail_shows_payload_and_attempts_and_test_sends_are_logged(client: TestClient) -> None:
    with Receiver(status=500) as receiver:
        hook = create_webhook(client, url=receiver.url)
        client.post(f"/dashboard/webhooks/{hook['id']}/test", headers=auth())
    [logged] = _get(client, f"/dashboard/webhooks/{hook['id']}/deliveries").json()["data"]
    assert (logged["event"], logged["status"], logged["attempts"]) == ("test", "failed", 1)
    detail = _get(client, f"/dashboard/webhooks/{hook['id']}/deliveries/{logged['id']}").json()
    data = detail["data"]
    assert data["payload"]["data"] == {"message": "This is a test webhook event from PacSpace."}
    [attempt] = data["attemptLog"]
    assert attempt["httpStatus"] == 500
    assert attempt["requestHeaders"]["X-PacSpace-Event"] == "test"
    assert attempt["requestHeaders"]["X-PacSpace-Delivery"] == logged["id"]
    assert hook["secret"] not in str(detail)


def test_other_tenants_and_unknown_ids_are_404(client: TestClient) -> None:
    theirs = create_webhook(client, tenant="tenant-b")
    client.post(f"/dashboard/webhooks/{theirs['id']}/test", headers=auth("tenant-b"))
    [delivery] = _get(client, f"/dashboard/webhooks/{theirs['id']}/deliveries", "tenant-b").json()[
        "data"
    ]
    base = f"/dashboard/webhooks/{theirs['id']}"
    attempts = [
        ("GET", f"{base}/deliveries", None),
        ("GET", f"{base}/deliveries/{delivery['id']}", None),
        ("POST", f"{base}/deliveries/{delivery['id']}/retry", None),
        ("POST", f"{base}/recover", {"since": _iso(datetime.now(UTC) - timedelta(hours=1))}),
    ]
    for method, path, body in attempts:
        answer = client.request(method, path, json=body, headers=auth("tenant-a"))
        assert answer.status_code == 404, (path, answer.text)
    mine = create_webhook(client)
    missing = _get(client, f"/dashboard/webhooks/{mine['id']}/deliveries/{delivery['id']}")
    assert missing.status_code == 404
    assert missing.json()["message"] == f"Delivery {delivery['id']} not found."


def test_resend_sends_again_with_the_same_id_once(app_factory: Any) -> None:
    client = app_factory(retry_schedule="", poll_interval=0.05)
    answers = iter([500])
    with Receiver(lambda _: (next(answers, 200), b"")) as receiver:
        hook = create_webhook(client, url=receiver.url)
        publish(client, "tenant-a", "verification.completed")
        receiver.wait_for(1)
        path = f"/dashboard/webhooks/{hook['id']}/deliveries"
        failed = wait_until(
            lambda: [d for d in _get(client, path).json()["data"] if d["status"] == "failed"]
        )[0]
        answer = client.post(f"{path}/{failed['id']}/retry", headers=auth())
        assert answer.status_code == 202
        assert answer.json()["data"]["id"] == failed["id"]
        assert answer.json()["data"]["status"] == "pending"
        first, second = receiver.wait_for(2)
        delivered = wait_until(
            lambda: _get(client, f"{path}/{failed['id']}").json()["data"]["status"] == "delivered"
        )
    assert delivered
    assert (
        first.headers["x-pacspace-delivery"]
        == second.headers["x-pacspace-delivery"]
        == failed["id"]
    )


def test_resend_of_a_failed_delivery_is_one_attempt(app_factory: Any) -> None:
    client = app_factory(retry_schedule="0.05", poll_interval=0.05)
    with Receiver(status=500) as receiver:
        hook = create_webhook(client, url=receiver.url)
        publish(client, "tenant-a", "verification.completed")
        path = f"/dashboard/webhooks/{hook['id']}/deliveries"
        [failed] = wait_until(lambda: _get(client, path, status="failed").json()["data"])
        client.post(f"{path}/{failed['id']}/retry", headers=auth())
        [again] = wait_until(
            lambda: [
                d for d in _get(client, path, status="failed").json()["data"] if d["attempts"] == 3
            ]
        )
    # Failed again after its one extra attempt, with nothing scheduled: no more come.
    assert again["nextAttemptAt"] is None
    assert len(receiver.requests) == 3


def test_resend_of_a_waiting_delivery_keeps_one_retry_chain(app_factory: Any) -> None:
    clock = Clock()  # stands still until moved: what is scheduled is exact
    client = app_factory(retry_schedule="30,40", retry_jitter=0, poll_interval=0.05, now=clock)
    with Receiver(status=500) as receiver:
        hook = create_webhook(client, url=receiver.url)
        publish(client, "tenant-a", "verification.completed")
        path = f"/dashboard/webhooks/{hook['id']}/deliveries"

        def waiting(attempts: int) -> list[dict[str, Any]]:
            """The log, once its delivery has `attempts` settled attempts."""
            found: list[dict[str, Any]] = _get(client, path).json()["data"]
            settled = [d for d in found if d["attempts"] == attempts and not d["inFlight"]]
            return found if settled else []

        [first] = wait_until(lambda: waiting(1))
        assert _ms(first["nextAttemptAt"]) == clock.ms + 30_000
        clock.advance_to(clock.ms + 5_000)  # resent before its retry is due
        client.post(f"{path}/{first['id']}/retry", headers=auth())
        [after] = wait_until(lambda: waiting(2))
    # One delivery, whose chain went on: its second delay (40 s), from the resent attempt.
    assert after["id"] == first["id"]
    assert after["status"] == "pending"
    assert _ms(after["nextAttemptAt"]) == clock.ms + 40_000
    assert len(receiver.requests) == 2


def test_resend_and_recover_refuse_a_disabled_webhook(client: TestClient) -> None:
    hook = create_webhook(client)
    client.post(f"/dashboard/webhooks/{hook['id']}/test", headers=auth())
    [logged] = _get(client, f"/dashboard/webhooks/{hook['id']}/deliveries").json()["data"]
    client.post(f"/dashboard/webhooks/{hook['id']}/toggle", headers=auth())
    base = f"/dashboard/webhooks/{hook['id']}"
    resend = client.post(f"{base}/deliveries/{logged['id']}/retry", headers=auth())
    since = _iso(datetime.now(UTC) - timedelta(hours=1))
    recover = client.post(f"{base}/recover", json={"since": since}, headers=auth())
    for answer in (resend, recover):
        assert answer.status_code == 409
        assert answer.json()["error"] == "Conflict"
        assert "enable it" in answer.json()["message"]


def test_recover_requeues_failed_deliveries_in_the_window(app_factory: Any) -> None:
    client = app_factory(retry_schedule="", poll_interval=0.05)
    healthy = False
    with Receiver(lambda _: (200 if healthy else 500, b"")) as receiver:
        hook = create_webhook(client, url=receiver.url)
        for _ in range(3):
            publish(client, "tenant-a", "verification.completed")
        path = f"/dashboard/webhooks/{hook['id']}/deliveries"
        wait_until(lambda: len(_get(client, path, status="failed").json()["data"]) == 3)
        healthy = True
        since = _iso(datetime.now(UTC) - timedelta(minutes=5))
        answer = client.post(
            f"/dashboard/webhooks/{hook['id']}/recover", json={"since": since}, headers=auth()
        )
        assert answer.status_code == 202
        assert answer.json() == {"statusCode": 202, "data": {"recovered": 3}}
        again = client.post(
            f"/dashboard/webhooks/{hook['id']}/recover", json={"since": since}, headers=auth()
        )
        assert again.json()["data"]["recovered"] == 0
        wait_until(lambda: len(_get(client, path, status="delivered").json()["data"]) == 3)
    assert len(receiver.requests) == 6


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, "since"),
        ({"since": "yesterday"}, "ISO 8601"),
        ({"since": "2026-01-01T00:00:00"}, "time zone"),
        ({"since": _iso(datetime.now(UTC) - timedelta(days=29))}, "28 days"),
        (
            {
                "since": _iso(datetime.now(UTC)),
                "until": _iso(datetime.now(UTC) - timedelta(hours=1)),
            },
            "later than",
        ),
    ],
)
def test_bad_recover_windows_are_400(
    client: TestClient, body: dict[str, Any], fragment: str
) -> None:
    hook = create_webhook(client)
    answer = client.post(f"/dashboard/webhooks/{hook['id']}/recover", json=body, headers=auth())
    assert answer.status_code == 400, answer.text
    assert fragment in answer.json()["message"]


def test_a_reused_idempotency_key_with_other_data_is_409(app_factory: Any) -> None:
    client = app_factory(run_worker=False)
    first = publish(client, "t", "verification.completed", {"n": 1}, idempotencyKey="job-1")
    assert first.status_code == 202
    same = publish(client, "t", "verification.completed", {"n": 1}, idempotencyKey="job-1")
    assert same.json() == first.json()
    other = publish(client, "t", "verification.completed", {"n": 2}, idempotencyKey="job-1")
    assert other.status_code == 409
    assert "new key" in other.json()["message"]


def test_a_cursor_that_is_not_a_delivery_id_is_400(client: TestClient) -> None:
    hook = create_webhook(client)
    answer = _get(client, f"/dashboard/webhooks/{hook['id']}/deliveries", cursor="garbage")
    assert answer.status_code == 400
    assert "cursor" in answer.json()["message"]


def test_recover_from_the_future_is_400(client: TestClient) -> None:
    hook = create_webhook(client)
    since = _iso(datetime.now(UTC) + timedelta(hours=1))
    answer = client.post(
        f"/dashboard/webhooks/{hook['id']}/recover", json={"since": since}, headers=auth()
    )
    assert answer.status_code == 400
    assert "future" in answer.json()["message"]


def test_a_logged_test_send_has_its_time_and_status(client: TestClient) -> None:
    with Receiver(status=202) as receiver:
        hook = create_webhook(client, url=receiver.url)
        client.post(f"/dashboard/webhooks/{hook['id']}/test", headers=auth())
    [logged] = _get(client, f"/dashboard/webhooks/{hook['id']}/deliveries").json()["data"]
    assert logged["status"] == "delivered"
    assert logged["lastHttpStatus"] == 202
    assert logged["lastAttemptAt"] is not None
