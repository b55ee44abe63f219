"""Event schemas (WEBHOOKD_EVENT_CATALOG) through the API, on both engines: the catalog
is shown, data that breaks its type's schema is a 400 with the JSON Pointer of the first
error and nothing is stored, and valid data is delivered."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from fastapi.testclient import TestClient

from tests.conftest import INGEST_KEY, Receiver, auth, create_webhook, publish

Start = Callable[..., TestClient]
CATALOG = Path(__file__).parents[2] / "examples" / "event-catalog.yaml"
VALID = {"runId": "run_1", "verified": 3, "amount": 10, "currency": "EUR"}


def log_of(client: TestClient, webhook_id: str) -> list[dict[str, Any]]:
    answer = client.get(f"/dashboard/webhooks/{webhook_id}/deliveries", headers=auth())
    assert answer.status_code == 200, answer.text
    data: list[dict[str, Any]] = answer.json()["data"]
    return data


def test_event_types_show_description_schema_and_example(start: Start) -> None:
    client = start(event_catalog=str(CATALOG), run_worker=False)
    answer = client.get("/dashboard/event-types", headers=auth())
    assert answer.status_code == 200
    types = {t["name"]: t for t in answer.json()["data"]}
    completed = types["verification.completed"]
    assert list(completed) == ["name", "description", "schema", "example"]
    assert completed["description"].startswith("A verification run finished")
    assert completed["schema"]["required"] == ["runId", "verified"]
    assert completed["example"]["currency"] == "EUR"
    assert types["record.verified"]["schema"] is None  # a type may have no schema
    default = start(run_worker=False).get("/dashboard/event-types", headers=auth())
    first = default.json()["data"][0]
    assert (first["schema"], first["example"]) == (None, None)


def test_data_that_breaks_the_schema_is_a_400_with_its_pointer(start: Start) -> None:
    client = start(event_catalog=str(CATALOG), run_worker=False)
    hook = create_webhook(client)
    cases = [
        ({"runId": "r"}, 'at /data: "verified" is a required property'),
        ({**VALID, "verified": -1}, "at /data/verified: -1 is less than the minimum of 0"),
        ({**VALID, "currency": "JPY"}, "at /data/currency: "),
    ]
    for data, message in cases:
        refused = publish(client, "tenant-a", "verification.completed", data)
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"] == "Bad Request"
        text = refused.json()["message"]
        assert text.startswith(
            "data does not match the schema of event type 'verification.completed' "
        ), text
        assert message in text
    assert log_of(client, hook["id"]) == []  # nothing stored
    accepted = publish(client, "tenant-a", "verification.completed", VALID)
    assert accepted.status_code == 202, accepted.text
    assert len(log_of(client, hook["id"])) == 1


def test_a_batch_with_one_bad_item_is_refused_whole(start: Start) -> None:
    client = start(event_catalog=str(CATALOG), run_worker=False)
    hook = create_webhook(client)
    good = {"tenantId": "tenant-a", "event": "verification.completed", "data": VALID}
    bad = {**good, "event": "record.error", "data": {"recordId": "r", "code": "lower"}}
    answer = client.post(
        "/events/batch", json={"events": [good, bad, good]}, headers={"X-Api-Key": INGEST_KEY}
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["message"] == (
        "events[1].data does not match the schema of event type 'record.error' at "
        '/events/1/data/code: "lower" does not match "^[A-Z_]+$"'
    )
    assert log_of(client, hook["id"]) == []  # not even the good ones
    fixed = {**bad, "data": {"recordId": "r", "code": "UPPER"}}
    answer = client.post(
        "/events/batch", json={"events": [good, fixed, good]}, headers={"X-Api-Key": INGEST_KEY}
    )
    assert answer.status_code == 202, answer.text
    assert len(log_of(client, hook["id"])) == 3


def test_valid_data_is_delivered(start: Start) -> None:
    client = start(event_catalog=str(CATALOG))
    with Receiver() as receiver:
        create_webhook(client, url=receiver.url, events=["verification.completed"])
        assert (
            publish(client, "tenant-a", "verification.completed", {"runId": "x"}).status_code == 400
        )
        assert publish(client, "tenant-a", "verification.completed", VALID).status_code == 202
        [got] = receiver.wait_for(1)
        assert orjson.loads(got.body)["data"] == VALID
    assert len(receiver.requests) == 1
