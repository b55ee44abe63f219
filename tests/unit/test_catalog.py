"""Subscriptions: catalog types or "*", and who receives what."""

import re

import pytest

from tests.conftest import Receiver
from webhookd.domain import catalog

TYPES = ["verification.completed", "verification.failed"]


def test_omitted_means_every_type() -> None:
    assert catalog.normalize_subscription(None, TYPES) == ("*",)


def test_duplicates_collapse_in_order() -> None:
    got = catalog.normalize_subscription(TYPES[::-1] + TYPES, TYPES)
    assert got == tuple(TYPES[::-1])


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ([], "empty"),
        (["x.y"], "Unknown event type"),
        (["*", TYPES[0]], "alone"),
        (["test"], "test"),
    ],
)
def test_bad_subscriptions_say_why(events: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        catalog.normalize_subscription(events, TYPES)


def test_subscribes() -> None:
    assert catalog.subscribes(("*",), "anything")
    assert catalog.subscribes(tuple(TYPES), TYPES[1])
    assert not catalog.subscribes((TYPES[0],), TYPES[1])


def test_parse_types_rejects_reserved_and_odd_names() -> None:
    assert list(catalog.parse_types(" a.b , c.d ,")) == ["a.b", "c.d"]
    for spec in ("*", "test", "a b", "x\x00"):
        with pytest.raises(ValueError, match="cannot be an event type"):
            catalog.parse_types(spec)


# -- the catalog file (WEBHOOKD_EVENT_CATALOG) -------------------------------------------

PAID = {
    "description": "An order was paid.",
    "schema": {
        "type": "object",
        "required": ["amount"],
        "properties": {
            "amount": {"type": "number", "minimum": 0},
            "lines": {"type": "array", "items": {"type": "object", "required": ["sku"]}},
            "a/b~c": {"type": "string"},
        },
    },
    "example": {"amount": 12.5},
}


def test_a_catalog_keeps_descriptions_schemas_and_examples() -> None:
    found = catalog.parse_catalog({"order.paid": PAID, "order.note": {"description": "Noted."}})
    assert dict(found) == {"order.paid": "An order was paid.", "order.note": "Noted."}
    [paid, note] = found.types()
    assert (paid.schema, paid.example) == (PAID["schema"], PAID["example"])
    assert (note.schema, note.example) == (None, None)
    assert found.violation("order.note", {"anything": [1]}) is None
    assert found.violation("order.paid", {"amount": 0}) is None


@pytest.mark.parametrize(
    ("data", "pointer", "reason"),
    [
        ({}, "", '"amount" is a required property'),
        ({"amount": -1}, "/amount", "-1 is less than the minimum of 0"),
        ({"amount": 1, "lines": [{"sku": "a"}, {}]}, "/lines/1", '"sku" is a required property'),
        ({"amount": 1, "a/b~c": 5}, "/a~1b~0c", '5 is not of type "string"'),
    ],
)
def test_a_violation_is_the_json_pointer_of_the_first_error(
    data: dict[str, object], pointer: str, reason: str
) -> None:
    found = catalog.parse_catalog({"order.paid": PAID})
    assert found.violation("order.paid", data) == catalog.Violation(pointer, reason)


def test_a_long_reason_is_cut() -> None:
    found = catalog.parse_catalog({"t.x": {"schema": {"type": "array"}}})
    violation = found.violation("t.x", {"k": "v" * 1000})
    assert violation is not None
    assert len(violation.reason) == catalog.MAX_REASON


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "must be an object"),
        ({}, "must be an object"),
        ({"bad name": {}}, "cannot be an event type name"),
        ({"test": {}}, "cannot be an event type name"),
        ({"t.x": "text"}, "'t.x': must be an object"),
        ({"t.x": {"descripton": "typo"}}, "unknown key 'descripton'"),
        ({"t.x": {"description": 5}}, "description must be text"),
        ({"t.x": {"schema": "object"}}, "schema must be a JSON Schema"),
        ({"t.x": {"schema": {"type": "objekt"}}}, "schema is not a valid JSON Schema at /type"),
        ({"t.x": {"schema": {"minimum": "0"}}}, "not a valid JSON Schema at /minimum"),
        ({"t.x": {"schema": {"$ref": "#/$defs/none"}}}, "schema cannot be used: Pointer"),
        ({"t.x": {"schema": {"pattern": "("}}}, 'schema cannot be used: "(" is not a "regex"'),
        (
            {"t.x": {"schema": {"required": ["a"]}, "example": {"b": 1}}},
            "example does not match its schema at /",
        ),
        ({"t.x": {"example": {"when": __import__("datetime").date(2025, 1, 1)}}}, "not JSON"),
        ({"t.x": {"example": {1: "a"}}}, "must be text"),
        ({"t.x": {"example": float("nan")}}, "not a JSON number"),
    ],
)
def test_a_bad_catalog_says_what_is_wrong_where(document: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        catalog.parse_catalog(document)


def test_a_remote_ref_is_refused_without_a_request() -> None:
    """webhookd never fetches a schema: a $ref to a URL (here a live receiver) is an error
    at start, and the receiver sees nothing."""
    with Receiver() as receiver:
        schema = {"$ref": f"{receiver.url}/schema.json"}
        with pytest.raises(ValueError, match="webhookd never fetches one"):
            catalog.parse_catalog({"t.x": {"schema": schema}})
        assert receiver.requests == []


def test_a_plain_catalog_has_no_schemas() -> None:
    plain = catalog.Catalog.plain({"a.b": "A"})
    assert plain.types() == [catalog.EventType("a.b", "A")]
    assert catalog.Catalog.plain(plain) is plain
