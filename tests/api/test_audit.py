"""The audit log: every change, who made it, what changed; never a secret."""

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Receiver, auth, create_webhook, make_token, publish, wait_until


def _log(client: TestClient, tenant: str = "tenant-a", **query: Any) -> Any:
    answer = client.get("/dashboard/audit-log", params=query, headers=auth(tenant))
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_every_change_is_logged_with_its_actor(app_factory: Any) -> None:
    client = app_factory(retry_schedule="", poll_interval=0.05)
    with Receiver(status=500) as receiver:
        hook = create_webhook(client, url=receiver.url)
        base = f"/dashboard/webhooks/{hook['id']}"
        client.patch(base, json={"description": "prod", "events": ["record.error"]}, headers=auth())
        rotated = client.post(f"{base}/rotate-secret", json={"graceSeconds": 60}, headers=auth())
        publish(client, "tenant-a", "record.error")
        path = f"{base}/deliveries"
        [failed] = wait_until(
            lambda: client.get(path, params={"status": "failed"}, headers=auth()).json()["data"]
        )
        client.post(f"{path}/{failed['id']}/retry", headers=auth())
        # recover finds the delivery only once the resend has failed again
        wait_until(
            lambda: (
                client.get(f"{path}/{failed['id']}", headers=auth()).json()["data"]["attempts"] == 2
            )
        )
        since = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
        client.post(f"{base}/recover", json={"since": since}, headers=auth())
        client.post(f"{base}/toggle", headers=auth())
        client.delete(base, headers=auth())
    entries = _log(client)["data"]
    actions = [e["action"] for e in entries]
    assert actions == [
        "webhook.deleted", "webhook.toggled", "deliveries.recovered", "delivery.retried",
        "webhook.secret_rotated", "webhook.updated", "webhook.created",
    ]  # fmt: skip
    by_action = {e["action"]: e for e in entries}
    assert by_action["webhook.updated"]["details"] == {
        "events": ["record.error"],
        "description": "prod",
    }
    assert by_action["webhook.toggled"]["details"] == {"active": False}
    assert by_action["delivery.retried"]["details"] == {"deliveryId": failed["id"]}
    assert "recovered" in by_action["deliveries.recovered"]["details"]
    assert all(e["actor"] == "tenant-a" and e["webhookId"] == hook["id"] for e in entries)
    text = str(entries)
    assert hook["secret"] not in text
    assert rotated.json()["data"]["secret"] not in text


def test_the_actor_is_the_tokens_subject(app_factory: Any) -> None:
    client = app_factory(tenant_claim="org")
    headers = {"Authorization": f"Bearer {make_token('alice@acme', org='acme')}"}
    client.post("/dashboard/webhooks", json={"url": "https://e.com"}, headers=headers)
    log = client.get("/dashboard/audit-log", headers=headers).json()["data"]
    assert [(e["action"], e["actor"]) for e in log] == [("webhook.created", "alice@acme")]


def test_the_log_is_per_tenant_and_pages(client: TestClient) -> None:
    for _ in range(3):
        create_webhook(client, "tenant-a")
    create_webhook(client, "tenant-b")
    first = _log(client, limit=2)
    rest = _log(client, limit=2, cursor=first["nextCursor"])
    assert len(first["data"]) == 2
    assert len(rest["data"]) == 1
    assert rest["nextCursor"] is None
    assert len(_log(client, "tenant-b")["data"]) == 1
    assert (
        client.get("/dashboard/audit-log", params={"cursor": "x"}, headers=auth()).status_code
        == 400
    )


def test_a_change_that_found_nothing_is_not_logged(client: TestClient) -> None:
    client.delete("/dashboard/webhooks/wh_00000000000000000000000000", headers=auth())
    assert _log(client)["data"] == []


def test_auto_disable_is_logged_as_webhookd(app_factory: Any) -> None:
    client = app_factory(retry_schedule="", poll_interval=0.05)
    with Receiver(status=410) as receiver:
        hook = create_webhook(client, url=receiver.url)
        publish(client, "tenant-a", "verification.failed")
        entry = wait_until(
            lambda: [e for e in _log(client)["data"] if e["action"] == "webhook.auto_disabled"]
        )[0]
    assert entry["actor"] == "webhookd"
    assert entry["webhookId"] == hook["id"]
    assert "410" in entry["details"]["reason"]


def test_a_recover_that_found_nothing_is_still_logged(client: TestClient) -> None:
    hook = create_webhook(client)
    since = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    answer = client.post(
        f"/dashboard/webhooks/{hook['id']}/recover", json={"since": since}, headers=auth()
    )
    assert answer.status_code == 202, answer.text
    [recovered, _created] = _log(client)["data"]
    assert recovered["action"] == "deliveries.recovered"
    assert recovered["details"]["recovered"] == 0
