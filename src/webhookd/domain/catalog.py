"""Event types, their schemas, and which webhooks subscribe to them.

A webhook subscribes to a list of catalog types, or to `["*"]` (every type,
including ones added to the catalog later). `test` is reserved for test sends.

The catalog is `WEBHOOKD_EVENT_TYPES` (names) or `WEBHOOKD_EVENT_CATALOG` (a file of
types, each with a description, an optional JSON Schema for its `data` and an
optional example; config.py reads it, `parse_catalog` checks it). A `Catalog` is a
mapping of name -> description, and checks an event's data against its type's schema,
each schema compiled once (jsonschema_rs, never fetching a remote `$ref`).
"""

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jsonschema_rs

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


# the catalog file ---------------------------------------------------------------------
MAX_DESCRIPTION = 500
MAX_REASON = 200  # characters of a validator's message quoted in a refusal
ENTRY_KEYS = ("description", "schema", "example")


@dataclass(frozen=True, slots=True)
class EventType:
    name: str
    description: str = ""
    schema: Any = None  # a JSON Schema (an object or a boolean) for `data`; None: any
    example: Any = None  # an example of `data`; None: none given


@dataclass(frozen=True, slots=True)
class Violation:
    """Where data breaks its type's schema: a JSON Pointer into the data ("" is all of
    it), and the validator's reason."""

    pointer: str
    reason: str


class Catalog(Mapping[str, str]):
    """The event types, as a mapping of name -> description, with their schemas."""

    def __init__(self, types: Iterable[EventType]) -> None:
        self._types = {t.name: t for t in types}
        self._validators = {
            name: _validator(t.schema) for name, t in self._types.items() if t.schema is not None
        }

    @classmethod
    def plain(cls, descriptions: Mapping[str, str]) -> "Catalog":
        """Types without schemas (WEBHOOKD_EVENT_TYPES)."""
        if isinstance(descriptions, Catalog):
            return descriptions
        return cls(EventType(name, text) for name, text in descriptions.items())

    def __getitem__(self, name: str) -> str:
        return self._types[name].description

    def __iter__(self) -> Iterator[str]:
        return iter(self._types)

    def __len__(self) -> int:
        return len(self._types)

    def types(self) -> list[EventType]:
        return list(self._types.values())

    def violation(self, name: str, data: Any) -> Violation | None:
        """The first place `data` breaks type `name`'s schema, or None (no schema: None)."""
        validator = self._validators.get(name)
        if validator is None or validator.is_valid(data):
            return None
        error = next(iter(validator.iter_errors(data)))
        reason = error.message
        if len(reason) > MAX_REASON:
            reason = reason[: MAX_REASON - 1] + "…"
        return Violation(pointer(error.instance_path), reason)


def pointer(path: Iterable[str | int]) -> str:
    """A JSON Pointer (RFC 6901) of the path's keys and indexes."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _validator(schema: Any) -> Any:
    # offline: a `$ref` to a URL is an error, never a request made by webhookd
    return jsonschema_rs.validator_for(schema, offline=True)


def parse_catalog(document: Any) -> Catalog:
    """The catalog of a file's parsed content, or ValueError saying what is wrong where.

    The content is an object of event type name -> `{"description", "schema"?,
    "example"?}`; each schema must be a valid JSON Schema whose `$ref`s stay inside the
    file, and each example must match its schema."""
    if not isinstance(document, dict) or not document:
        raise ValueError("must be an object of event type names to their descriptions")
    types = []
    for name, entry in document.items():
        check_name(str(name))
        types.append(_entry(str(name), entry))
    return Catalog(types)


def _entry(name: str, entry: Any) -> EventType:
    where = f"event type {name!r}"
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: must be an object with a description")
    unknown = sorted(set(entry) - set(ENTRY_KEYS))
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r}; use {', '.join(ENTRY_KEYS)}")
    description = entry.get("description", "")
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        raise ValueError(f"{where}: description must be text of at most {MAX_DESCRIPTION}")
    schema, example = entry.get("schema"), entry.get("example")
    _json_only(schema, f"{where}: schema")
    _json_only(example, f"{where}: example")
    if schema is not None:
        if not isinstance(schema, dict | bool):
            raise ValueError(f"{where}: schema must be a JSON Schema (an object)")
        try:
            jsonschema_rs.meta.validate(schema)
        except jsonschema_rs.ValidationError as exc:
            at = pointer(exc.instance_path) or "/"
            raise ValueError(
                f"{where}: schema is not a valid JSON Schema at {at}: {exc.message}"
            ) from None
        try:
            validator = _validator(schema)
        except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError) as exc:
            reason = getattr(exc, "message", str(exc)).splitlines()[0]
            raise ValueError(
                f"{where}: schema cannot be used: {reason} (a $ref is followed only inside "
                "the schema: webhookd never fetches one)"
            ) from None
        if example is not None and not validator.is_valid(example):
            error = next(iter(validator.iter_errors(example)))
            at = pointer(error.instance_path)
            raise ValueError(
                f"{where}: example does not match its schema at {at or '/'}: {error.message}"
            )
    return EventType(name, description, schema, example)


def _json_only(value: Any, where: str) -> None:
    """Refuse what JSON cannot hold (YAML also has dates, sets, non-text keys)."""
    if value is None or isinstance(value, str | bool | int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{where}: {value} is not a JSON number")
        return
    if isinstance(value, list):
        for item in value:
            _json_only(item, where)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where}: key {key!r} must be text")
            _json_only(item, where)
        return
    raise ValueError(f"{where}: {type(value).__name__} values are not JSON")
