"""Subscriptions: catalog types or "*", and who receives what."""

import pytest

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
