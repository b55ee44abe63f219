"""POST /events/batch: the ingest key, all or nothing, order, per-item idempotency, limits."""

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Start
from tests.conftest import INGEST_KEY, auth, create_webhook, publish

KEY = {"X-Api-Key": INGEST_KEY}
MiB = 1024 * 1024


def item(n: int = 0, tenant: str = "tenant-a", **fields: Any) -> dict[str, Any]:
    return {"tenantId": tenant, "event": "verification.completed", "data": {"n": n}, **fields}


def send(client: TestClient, events: list[Any], **headers: str) -> Any:
    return client.post("/events/batch", json={"events": events}, headers={**KEY, **headers})


def send_text(client: TestClient, text: str | bytes) -> Any:
    headers = {**KEY, "Content-Type": "application/json"}
    return client.post("/events/batch", content=text, headers=headers)


def logged(client: TestClient, hook: dict[str, Any]) -> list[dict[str, Any]]:
    """The webhook's delivery log, oldest first."""
    path = f"/dashboard/webhooks/{hook['id']}/deliveries"
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = client.get(path, params=query, headers=auth()).json()
        found += page["data"]
        cursor = page["nextCursor"]
        if cursor is None:
            return found[::-1]


def test_the_ingest_key_is_required_and_checked_before_the_body(client: TestClient) -> None:
    body = {"events": [item()]}
    for headers in ({}, {"X-Api-Key": "wrong"}, {"X-Api-Key": ""}, auth()):
        answer = client.post("/events/batch", json=body, headers=headers)
        assert answer.status_code == 401, answer.text
        assert answer.json()["message"] == "Missing or wrong X-Api-Key header: send the ingest key."
    for content in (b"{not json", b'{"events": []}', b" " * (5 * MiB + 1)):
        answer = client.post("/events/batch", content=content, headers={"X-Api-Key": "wrong"})
        assert answer.status_code == 401, answer.text


def test_a_batch_is_published_in_the_order_sent(start: Start) -> None:
    client = start(run_worker=False)
    every = create_webhook(client)
    completed = create_webhook(client, events=["verification.completed"])
    kinds = ["verification.completed", "verification.failed", "record.error"] * 10
    answer = send(client, [{**item(n), "event": kind} for n, kind in enumerate(kinds)])
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["statusCode"] == 202
    assert [p["deliveries"] for p in body["data"]] == [2, 1, 1] * 10
    sent = [p["id"] for p in body["data"]]
    assert sorted(sent) == sent  # event ids sort in the order sent, too
    assert [d["eventId"] for d in logged(client, every)] == sent  # created in that order
    assert [d["eventId"] for d in logged(client, completed)] == sent[::3]
    path = f"/dashboard/webhooks/{every['id']}/deliveries"
    for delivery in logged(client, every)[::7]:  # each id answers its own item
        detail = client.get(f"{path}/{delivery['id']}", headers=auth()).json()["data"]
        n = detail["payload"]["data"]["n"]
        assert (sent[n], kinds[n]) == (delivery["eventId"], detail["payload"]["event"])


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"event": "verification.done"}, "events[3].event: Unknown event type"),
        ({"tenantId": ""}, "events[3].tenantId"),
        ({"tenantId": None}, "events[3].tenantId"),
        ({"data": [1]}, "events[3].data"),
        ({"extra": 1}, "Unknown field 'events[3].extra'"),
        ({"idempotencyKey": "k" * 256}, "events[3].idempotencyKey"),
    ],
)
def test_an_invalid_item_is_named_and_nothing_is_stored(
    start: Start, bad: dict[str, Any], message: str
) -> None:
    client = start(run_worker=False)
    hook = create_webhook(client)
    events = [item(n, idempotencyKey=f"k{n}") for n in range(6)]
    events[3] = {**events[3], **bad}
    answer = send(client, events)
    assert answer.status_code == 400, answer.text
    assert answer.json()["message"].startswith(message), answer.json()
    assert logged(client, hook) == []
    events[3] = item(3)  # the same batch, mended: its keys were never taken
    assert [p["deliveries"] for p in send(client, events).json()["data"]] == [1] * 6
    assert len(logged(client, hook)) == 6


@pytest.mark.parametrize(("number", "path"), [("9007199254740993", "data.n"), ("1e-400", "data.n")])
def test_a_number_a_delivery_would_change_is_named_with_its_item(
    app_factory: Any, number: str, path: str
) -> None:
    text = json.dumps({"events": [item(0), item(1), {**item(2), "data": {"n": "X"}}]})
    refused = send_text(app_factory(run_worker=False), text.replace('"X"', number))
    assert refused.status_code == 400
    assert refused.json()["message"].startswith(f"events[2].{path} is {number}")
    rounding = app_factory(run_worker=False, numbers="round")
    assert send_text(rounding, text.replace('"X"', number)).status_code == 202


def test_data_a_delivery_cannot_carry_is_named_with_its_item(client: TestClient) -> None:
    text = json.dumps({"events": [item(0), {**item(1), "data": {"x": "X"}}]})
    answer = send_text(client, text.replace('"X"', "NaN"))
    assert answer.status_code == 400
    assert answer.json()["message"].startswith("events[1].data cannot be delivered as JSON")


def test_keys_work_per_item_and_a_replayed_batch_stores_nothing_new(start: Start) -> None:
    client = start(run_worker=False)
    hook = create_webhook(client)
    single = publish(client, "tenant-a", "verification.completed", {"n": 0}, idempotencyKey="k0")
    events = [
        item(0, idempotencyKey="k0"),
        item(1, idempotencyKey="k1"),
        item(1, idempotencyKey="k1"),
    ]
    events += [item(2, idempotencyKey="k2"), item(3, tenant="tenant-b", idempotencyKey="k1")]
    first = send(client, events).json()["data"]
    assert first[0]["id"] == single.json()["data"]["id"]  # the key of a POST /events
    assert first[2] == first[1]  # the same key earlier in the batch
    assert len({p["id"] for p in first}) == 4  # tenant-b's k1 is its own
    assert len(logged(client, hook)) == 3  # k0, k1 and k2: each once
    again = send(client, events)
    assert again.status_code == 202
    assert again.json()["data"] == first
    assert len(logged(client, hook)) == 3


def test_a_key_reused_for_other_content_is_a_409_naming_the_item(start: Start) -> None:
    client = start(run_worker=False)
    hook = create_webhook(client)
    assert send(client, [item(0, idempotencyKey="k0")]).status_code == 202
    events = [item(1, idempotencyKey="k1"), item(2), item(99, idempotencyKey="k0")]
    answer = send(client, events)
    assert answer.status_code == 409
    assert answer.json()["message"].startswith("events[2].idempotencyKey: This idempotency key")
    assert len(logged(client, hook)) == 1
    inside = send(client, [item(5, idempotencyKey="k5"), item(6, idempotencyKey="k5")])
    assert inside.status_code == 409  # two items of one batch, one key, other data
    assert inside.json()["message"].startswith("events[1].idempotencyKey")
    assert len(logged(client, hook)) == 1
    assert send(client, events[:2]).json()["data"][0]["deliveries"] == 1  # k1 is still free


def test_the_idempotency_key_header_does_not_apply_to_a_batch(client: TestClient) -> None:
    answer = send(client, [item()], **{"Idempotency-Key": "k"})
    assert answer.status_code == 400
    assert "give each event its own idempotencyKey" in answer.json()["message"]


def test_a_batch_holds_1_to_1000_events(client: TestClient) -> None:
    for count in (0, 1001):
        answer = send(client, [item(n) for n in range(count)])
        assert answer.status_code == 400, count
        assert answer.json()["message"].startswith("events: List should have"), answer.json()
    bad: dict[str, Any]
    for bad in ({}, {"events": {}}, {"events": [1]}):
        answer = client.post("/events/batch", json=bad, headers=KEY)
        assert answer.status_code == 400, bad
    full = send(client, [item(n) for n in range(1000)])
    assert full.status_code == 202
    assert len(full.json()["data"]) == 1000


def test_a_batch_body_has_its_own_5_mib_cap(app_factory: Any) -> None:
    client = app_factory(run_worker=False, max_event_bytes=2048)
    big = [item(n) | {"data": {"blob": "x" * 4000}} for n in range(500)]  # 2 MiB: over
    assert send(client, big).status_code == 202  # the events cap, not the batch's
    over = {"events": [item(0) | {"data": {"blob": "x" * (5 * MiB)}}]}
    answer = client.post("/events/batch", json=over, headers=KEY)
    assert answer.status_code == 413
    assert answer.json() == {
        "statusCode": 413,
        "message": "Request body is larger than 5242880 bytes; send fewer events per batch.",
        "error": "Request Entity Too Large",
    }

    def chunks() -> Any:  # no Content-Length: counted as it arrives
        yield b'{"events": [{"tenantId": "t", "event": "verification.completed", "data": "'
        for _ in range(6):
            yield b"x" * MiB
        yield b'"}]}'

    streamed = client.post("/events/batch", content=chunks(), headers=KEY)
    assert streamed.status_code == 413
    assert publish(client, "t", "verification.failed", {"blob": "x" * 4000}).status_code == 400


def test_the_batch_cap_is_configurable(app_factory: Any) -> None:
    client = app_factory(run_worker=False, max_batch_bytes=4096)
    answer = send(client, [item(n) | {"data": {"blob": "x" * 1000}} for n in range(5)])
    assert answer.status_code == 413
    assert "4096 bytes" in answer.json()["message"]
    assert send(client, [item(n) for n in range(5)]).status_code == 202
