"""GET /dashboard/webhooks/{id}/stats through the API, on both engines."""

from tests.api.conftest import Start
from tests.conftest import Clock, Receiver, auth, create_webhook, publish, wait_until

HOUR = 3_600_000


def test_a_known_history_gives_known_buckets_and_rates(start: Start) -> None:
    clock = Clock()
    status = {"code": 200}
    with Receiver(lambda _: (status["code"], b"ok")) as receiver:
        client = start(now=clock, circuit_failures=0)
        hook = create_webhook(client, url=receiver.url)
        base = f"/dashboard/webhooks/{hook['id']}"
        for _ in range(3):
            publish(client, "tenant-a", "record.error")
        receiver.wait_for(3)
        status["code"] = 500
        for _ in range(2):
            publish(client, "tenant-a", "record.error")
        receiver.wait_for(5)
        log = f"{base}/deliveries?status=pending"
        wait_until(lambda: client.get(log, headers=auth()).json()["data"] == [])  # all settled
        clock.advance_to(clock.ms + 2 * HOUR)
        status["code"] = 200
        publish(client, "tenant-a", "record.error")
        receiver.wait_for(6)
        url = f"{base}/stats?window=24h"
        data = wait_until(
            lambda: (d := client.get(url, headers=auth()).json()["data"])["delivered"] == 4 and d
        )
        assert (data["window"], data["bucketSeconds"], len(data["buckets"])) == ("24h", 3600, 24)
        assert (data["delivered"], data["failed"], data["retrying"]) == (4, 2, 0)
        assert data["successRate"] == round(4 / 6, 4)
        assert data["attempts"] == 6
        assert data["p50Ms"] is not None
        assert data["lastSuccessAt"] is not None
        assert data["lastFailureAt"] is not None
        filled = [(b["delivered"], b["failed"]) for b in data["buckets"] if b["attempts"]]
        assert filled in ([(3, 2), (1, 0)], [(3, 0), (0, 2), (1, 0)])  # an hour may turn between
        week = client.get(f"{base}/stats?window=7d", headers=auth()).json()["data"]
        assert (len(week["buckets"]), week["bucketSeconds"], week["delivered"]) == (7, 86400, 4)
        month = client.get(f"{base}/stats?window=30d", headers=auth()).json()["data"]
        assert len(month["buckets"]) == 30


def test_another_tenants_webhook_is_not_found_and_a_bad_window_is_refused(start: Start) -> None:
    client = start()
    hook = create_webhook(client)
    other = client.get(f"/dashboard/webhooks/{hook['id']}/stats", headers=auth("tenant-b"))
    assert other.status_code == 404
    assert other.json() == {
        "statusCode": 404,
        "message": f"Webhook {hook['id']} not found.",
        "error": "Not Found",
    }
    bad = client.get(f"/dashboard/webhooks/{hook['id']}/stats?window=1y", headers=auth())
    assert bad.status_code == 400
    assert bad.json()["message"] == "window must be one of 24h, 7d, 30d"
    unknown = client.get(f"/dashboard/webhooks/{hook['id']}/stats?windw=7d", headers=auth())
    assert unknown.status_code == 400
    empty = client.get(f"/dashboard/webhooks/{hook['id']}/stats", headers=auth()).json()["data"]
    assert (empty["window"], empty["successRate"], empty["p50Ms"]) == ("24h", None, None)
