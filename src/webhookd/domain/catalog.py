"""Event types and which webhooks subscribe to them.

A webhook subscribes to a list of catalog types, or to `["*"]` (every type,
including ones added to the catalog later). `test` is reserved for test sends.
"""

from collections.abc import Iterable, Mapping, Sequence

ALL = "*"
TEST_EVENT = "test"

DEFAULT_TYPES: Mapping[str, str] = {
    "verification.started": "A verification run has started.",
    "verification.completed": "A verification run finished and its records were verified.",
    "verification.failed": "A verification run could not be completed.",
    "record.verified": "A single record was verified.",
    "record.error": "A single record could not be verified; the data says why.",
}


def parse_types(spec: str) -> dict[str, str]:
    """The catalog from `WEBHOOKD_EVENT_TYPES`: comma-separated names."""
    names = [name.strip() for name in spec.split(",") if name.strip()]
    for name in names:
        check_name(name)
    return {name: DEFAULT_TYPES.get(name, "") for name in names}


def check_name(name: str) -> None:
    """Raise ValueError unless `name` can be an event type."""
    if name in (ALL, TEST_EVENT) or not 1 <= len(name) <= 100 or not name.isprintable():
        raise ValueError(f"{name!r} cannot be an event type name")
    if any(ch.isspace() or ch == "," for ch in name):
        raise ValueError(f"{name!r} cannot be an event type name (no spaces or commas)")


def normalize_subscription(events: Sequence[str] | None, catalog: Iterable[str]) -> tuple[str, ...]:
    """The stored subscription list, or ValueError saying what is wrong with it.

    None (omitted) means every type, stored as `("*",)`; duplicates are dropped.
    """
    if events is None:
        return (ALL,)
    if not events:
        raise ValueError('events must not be empty: list event types, or use ["*"] for all')
    known = set(catalog)
    unique = tuple(dict.fromkeys(events))
    if ALL in unique:
        if len(unique) > 1:
            raise ValueError('"*" already means every event type; send it alone')
        return unique
    unknown = [name for name in unique if name not in known]
    if unknown:
        raise ValueError(unknown_types_message(unknown))
    return unique


def unknown_types_message(names: Sequence[str]) -> str:
    shown = ", ".join(repr(name[:100]) for name in names[:5])
    return f"Unknown event type {shown}. GET /dashboard/event-types lists the valid ones."


def subscribes(subscription: Sequence[str], event_type: str) -> bool:
    """Whether a webhook with this subscription receives `event_type`."""
    return ALL in subscription or event_type in subscription
