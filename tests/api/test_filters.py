"""A webhook's payload `filter` through the API, on both engines: saved, checked, shown,
and applied at publish time (a non-matching event creates no delivery)."""

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from tests.conftest import INGEST_KEY, Receiver, auth, create_webhook, publish, wait_until

Start = Callable[..., TestClient]
BIG_EUR = {"amount": {"$gte": 100}, "currency": "EUR"}


def hook_of(client: TestClient, webhook_id: str, tenant: str = "tenant-a") -> dict[str, Any]:
    answer = client.get(f"/dashboard/webhooks/{webhook_id}", headers=auth(tenant))
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()["data"]
    return data


def test_a_filter_is_set_shown_kept_changed_and_removed(start: Start) -> None:
    client = start(run_worker=False)
    hook = create_webhook(client, filter=BIG_EUR)
    assert hook["filter"] == BIG_EUR
    assert hook_of(client, hook["id"])["filter"] == BIG_EUR
    [listed] = client.get("/dashboard/webhooks", headers=auth()).json()["data"]
    assert listed["filter"] == BIG_EUR
    base = f"/dashboard/webhooks/{hook['id']}"

    def patch(body: dict[str, Any]) -> Any:
        answer = client.patch(base, json=body, headers=auth())
        assert answer.status_code == 200, answer.text
        return answer.json()["data"]["filter"]

    assert patch({"description": "left out: kept"}) == BIG_EUR
    assert patch({"filter": {"status": {"$ne": "ok"}}}) == {"status": {"$ne": "ok"}}
    assert patch({"filter": None}) is None  # null removes it
    assert hook_of(client, hook["id"])["filter"] is None
    assert patch({"filter": {"a": 1}}) == {"a": 1}
    assert patch({"filter": {}}) is None  # {} is no filter too
    assert create_webhook(client)["filter"] is None
    log = client.get("/dashboard/audit-log", headers=auth()).json()["data"]
    details = [e["details"] for e in reversed(log)]
    assert details[0] == {"url": "https://example.com/hook", "events": ["*"], "filter": BIG_EUR}
    assert {"filter": None} in details  # the removal, in the API's terms
    assert {"filter": {"status": {"$ne": "ok"}}} in details


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"amount": {"$gt": True}}, "filter.amount.$gt: must be a number or a string, not true"),
        ({"$or": [{"a": 1}, []]}, "filter.$or[1]: must be an object, not an array"),
        ({"a": {"$regex": "x"}}, "filter.a.$regex: unknown operator"),
        ({"a..b": 1}, "filter.a..b: a field path"),
        ([1], "filter: Input should be a valid dictionary"),
        ("status", "filter: Input should be a valid dictionary"),
    ],
)
def test_an_invalid_filter_is_a_400_naming_its_path(start: Start, bad: Any, message: str) -> None:
    client = start(run_worker=False)
    body = {"url": "https://example.com/hook", "filter": bad}
    refused = client.post("/dashboard/webhooks", json=body, headers=auth())
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == "Bad Request"
    assert refused.json()["message"].startswith(message)
    assert client.get("/dashboard/webhooks", headers=auth()).json()["data"] == []
    hook = create_webhook(client, filter={"a": 1})
    patched = client.patch(f"/dashboard/webhooks/{hook['id']}", json=body, headers=auth())
    assert patched.status_code == 400, patched.text
    assert patched.json()["message"].startswith(message)
    assert hook_of(client, hook["id"])["filter"] == {"a": 1}  # unchanged


def test_only_matching_events_are_delivered(start: Start) -> None:
    client = start()
    with Receiver() as filtered, Receiver() as everything:
        hook = create_webhook(client, url=filtered.url, filter=BIG_EUR)
        create_webhook(client, url=everything.url)
        cases = [
            ({"amount": 250, "currency": "EUR", "n": 0}, 2),
            ({"amount": 50, "currency": "EUR", "n": 1}, 1),  # too small
            ({"amount": 250, "currency": "USD", "n": 2}, 1),  # wrong currency
            ({"currency": "EUR", "n": 3}, 1),  # no amount
            ({"amount": 100, "currency": "EUR", "n": 4}, 2),
        ]
        for data, deliveries in cases:
            answer = publish(client, "tenant-a", "verification.completed", data)
            assert answer.status_code == 202, answer.text
            assert answer.json()["data"]["deliveries"] == deliveries
        everything.wait_for(5)
        got = filtered.wait_for(2)
        assert sorted(orjson.loads(r.body)["data"]["n"] for r in got) == [0, 4]
        # The delivery log holds exactly the matching ones: the others were never created.
        log = f"/dashboard/webhooks/{hook['id']}/deliveries"
        delivered = wait_until(
            lambda: (
                len(
                    rows := client.get(log, params={"status": "delivered"}, headers=auth()).json()[
                        "data"
                    ]
                )
                == 2
                and rows
            )
        )
        assert len(client.get(log, headers=auth()).json()["data"]) == len(delivered) == 2
    assert len(filtered.requests) == 2


def test_a_batch_is_filtered_event_by_event(start: Start) -> None:
    client = start(run_worker=False)
    create_webhook(client, filter={"$or": [{"level": "error"}, {"tags": {"$in": ["page"]}}]})
    events = [
        {"tenantId": "tenant-a", "event": "record.error", "data": data}
        for data in ({"level": "error"}, {"level": "info"}, {"tags": "page"}, {})
    ]
    answer = client.post(
        "/events/batch", json={"events": events}, headers={"X-Api-Key": INGEST_KEY}
    )
    assert answer.status_code == 202, answer.text
    assert [e["deliveries"] for e in answer.json()["data"]] == [1, 0, 1, 0]
