"""`webhookd emit --file`'s batching and its answers to the server, without a server."""

import json
from typing import Any

import pytest

from webhookd import emitting
from webhookd.domain import catalog
from webhookd.domain.catalog import DEFAULT_TYPES

LINE = b'{"tenantId": "t", "event": "verification.completed", "data": {"n": 1}}'


def lines(count: int, text: bytes = LINE) -> list[emitting.Line]:
    return emitting.read([text] * count, dict(DEFAULT_TYPES), True, 5 * 1024 * 1024)


def test_batches_hold_at_most_1000_events_and_the_byte_cap() -> None:
    assert [len(b) for b in emitting.batches(lines(2500), 10**9)] == [1000, 1000, 500]
    cap = len(emitting.body(lines(3)))  # exactly three lines' body
    cut = emitting.batches(lines(10), cap)
    assert [len(b) for b in cut] == [3, 3, 3, 1]
    assert all(len(emitting.body(b)) <= cap for b in cut)
    assert json.loads(emitting.body(cut[0]))["events"][0]["data"] == {"n": 1}


def test_a_line_larger_than_a_batch_may_be_is_refused_before_sending() -> None:
    longer = LINE.replace(b"1", b'"' + b"x" * 100 + b'"')
    with pytest.raises(emitting.Refused, match=r"line 2: .* more than a batch may hold"):
        emitting.read([LINE, longer], dict(DEFAULT_TYPES), True, len(LINE) + 20)


class Server:
    """Answers each POST with the next of `answers` (status, envelope), and records it."""

    def __init__(self, *answers: tuple[int, Any]) -> None:
        self.answers = list(answers)
        self.bodies: list[Any] = []

    def __call__(self, url: str, data: bytes, headers: dict[str, str]) -> Any:
        self.bodies.append(json.loads(data))
        status, envelope = self.answers.pop(0)
        return status, {"Retry-After": "2"}, json.dumps(envelope).encode()


def accepted(count: int) -> tuple[int, Any]:
    return 202, {"statusCode": 202, "data": [{"id": "evt_x", "deliveries": 2}] * count}


def test_a_throttled_batch_waits_and_is_sent_again() -> None:
    waits: list[float] = []
    server = Server((429, {"statusCode": 429, "message": "slow down"}), accepted(5))
    sent = emitting.send(lines(5), "http://h", "k", 10**6, print, server, waits.append)
    assert (sent.events, sent.deliveries, waits) == (5, 10, [2.0])
    assert server.bodies[0] == server.bodies[1]


def test_a_refused_item_is_named_by_its_line() -> None:
    events = emitting.read([LINE, b"", LINE, LINE], dict(DEFAULT_TYPES), True, 10**6)
    server = Server((409, {"statusCode": 409, "message": "events[2].idempotencyKey: reused."}))
    with pytest.raises(emitting.Refused) as refused:
        emitting.send(events, "http://h", "k", 10**6, print, server)
    assert str(refused.value) == "HTTP 409: line 4: idempotencyKey: reused. Nothing was sent."


def test_a_line_whose_data_breaks_its_schema_is_refused_before_sending() -> None:
    schemas = catalog.parse_catalog(
        {"verification.completed": {"schema": {"properties": {"n": {"type": "string"}}}}}
    )
    with pytest.raises(emitting.Refused) as refused:
        emitting.read([b"", LINE], schemas, True, 10**6)
    assert str(refused.value) == (
        "line 2: data does not match the schema of event type 'verification.completed' "
        'at /data/n: 1 is not of type "string"'
    )
