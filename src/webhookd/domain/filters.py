"""Payload filters: which events a webhook receives, by what their `data` holds.

A filter is a JSON object matched against an event's `data` when it is published (the
fan-out, store/programs.py): an event it does not match creates no delivery for that
webhook. The language is a small subset of MongoDB's query documents:

    {"status": "failed"}                          a plain value means $eq
    {"amount": {"$gte": 100, "$lt": 1000}}        several operators: all must hold
    {"customer.tier": {"$in": ["gold", "vip"]}}   dots reach into nested objects
    {"$or": [{"retryable": true}, {"errors.0.code": {"$exists": true}}]}

- Keys that do not start with `$` are field paths: dot-separated keys of nested
  objects; a segment of digits also indexes an array (`items.0.sku`).
- A field's condition is a plain JSON value (equal to it) or an object of operators:
  `$eq`, `$ne`, `$in`, `$nin` (an array), `$gt`, `$gte`, `$lt`, `$lte` (a number or a
  string: numbers compare with numbers, strings with strings, anything else does not
  match), `$exists` (true or false), `$not` (a condition, negated).
- `$and` and `$or` take a non-empty array of filters, `$not` a filter. The keys of one
  object all hold (an implicit `$and`); `{}` matches every event.
- Equality is JSON's: `1` equals `1.0`, `true` is not `1`, objects and arrays compare
  by content. `$ne` and `$nin` match a missing field (they are `$not` of `$eq`/`$in`).

`check` validates a filter when a webhook is saved (FilterError names the path of what
is wrong) and gives the text that is stored; `matches` evaluates stored text, compiled
once per distinct text (a cache), so the fan-out pays only for the evaluation.
"""

import functools
from collections.abc import Callable, Mapping
from typing import Any

import orjson

MAX_BYTES = 4096  # a filter's JSON text at most
MAX_DEPTH = 8  # nested $and / $or / $not
MAX_PATH = 255  # characters of one field path
CACHE = 4096  # distinct filters kept compiled

Predicate = Callable[[Any], bool]
_MISSING = object()
FIELD_OPERATORS = ("$eq", "$ne", "$in", "$nin", "$gt", "$gte", "$lt", "$lte", "$exists", "$not")
LOGICAL_OPERATORS = ("$and", "$or", "$not")


class FilterError(ValueError):
    """A filter that cannot be used; `path` says where in it (`filter.$or[1].amount.$gt`)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


def check(document: Any, where: str = "filter") -> str | None:
    """The text to store for `document`, None for a filter that matches everything ({}),
    or FilterError naming what is wrong."""
    compile_filter(document, where)
    text = orjson.dumps(document).decode()
    if len(text.encode()) > MAX_BYTES:
        raise FilterError(where, f"must be at most {MAX_BYTES} bytes of JSON")
    return None if document == {} else text


def matches(text: str | None, data: Any) -> bool:
    """Whether stored filter `text` (None: no filter) lets an event with `data` through."""
    return text is None or compiled(text)(data)


@functools.lru_cache(maxsize=CACHE)
def compiled(text: str) -> Predicate:
    """The predicate of stored filter text, compiled once (filters are checked when saved)."""
    return compile_filter(orjson.loads(text))


def compile_filter(document: Any, where: str = "filter", depth: int = 0) -> Predicate:
    """A predicate over an event's data, or FilterError naming what is wrong."""
    if not isinstance(document, Mapping):
        raise FilterError(where, f"must be an object, not {_kind(document)}")
    if depth > MAX_DEPTH:
        raise FilterError(where, f"nests $and, $or and $not more than {MAX_DEPTH} deep")
    parts = [_clause(key, value, where, depth) for key, value in document.items()]
    return _all(parts)


def _clause(key: Any, value: Any, where: str, depth: int) -> Predicate:
    here = f"{where}.{key}"
    if key in ("$and", "$or"):
        if not isinstance(value, list) or not value:
            raise FilterError(here, "must be a non-empty array of filters")
        parts = [compile_filter(v, f"{here}[{i}]", depth + 1) for i, v in enumerate(value)]
        return _all(parts) if key == "$and" else _any(parts)
    if key == "$not":
        inner = compile_filter(value, here, depth + 1)
        return lambda data: not inner(data)
    if key.startswith("$"):
        raise FilterError(here, f"unknown operator; use {', '.join(LOGICAL_OPERATORS)} or a field")
    get = _getter(key, here)
    test = _condition(value, here)
    return lambda data: test(get(data))


def _getter(path: str, where: str) -> Callable[[Any], Any]:
    segments = path.split(".")
    if len(path) > MAX_PATH or not all(segments):
        raise FilterError(where, f"a field path is 1 to {MAX_PATH} characters of keys and dots")
    if len(segments) == 1:
        return lambda data: data.get(path, _MISSING) if isinstance(data, dict) else _MISSING

    def get(data: Any) -> Any:
        for segment in segments:
            if isinstance(data, dict):
                data = data.get(segment, _MISSING)
            elif isinstance(data, list) and segment.isdecimal() and int(segment) < len(data):
                data = data[int(segment)]
            else:
                return _MISSING
        return data

    return get


def _condition(value: Any, where: str) -> Predicate:
    """A test of a field's value (`_MISSING` when it is absent)."""
    if not (isinstance(value, Mapping) and any(str(k).startswith("$") for k in value)):
        return _operator("$eq", value, where)  # a plain value, objects included
    if not all(str(k).startswith("$") for k in value):
        raise FilterError(where, "mixes operators ($…) and fields; nest the fields in $eq")
    return _all([_operator(op, operand, f"{where}.{op}") for op, operand in value.items()])


def _operator(op: str, operand: Any, where: str) -> Predicate:  # noqa: C901 - one per operator
    if op in ("$eq", "$ne"):
        _check_value(operand, where)
        if op == "$eq" and isinstance(operand, str):  # the common case, without equal()
            return lambda value: type(value) is str and value == operand
        if op == "$eq":
            return lambda value: value is not _MISSING and equal(value, operand)
        return lambda value: value is _MISSING or not equal(value, operand)
    if op in ("$in", "$nin"):
        if not isinstance(operand, list):
            raise FilterError(where, f"must be an array, not {_kind(operand)}")
        for i, item in enumerate(operand):
            _check_value(item, f"{where}[{i}]")
        if op == "$in" and operand and all(isinstance(o, str) for o in operand):
            texts = frozenset(operand)  # text only: in a set, True would equal 1
            return lambda value: type(value) is str and value in texts
        if op == "$in":
            return lambda value: value is not _MISSING and any(equal(value, o) for o in operand)
        return lambda value: value is _MISSING or not any(equal(value, o) for o in operand)
    if op in ("$gt", "$gte", "$lt", "$lte"):
        if not (_is_number(operand) or isinstance(operand, str)):
            raise FilterError(where, f"must be a number or a string, not {_kind(operand)}")
        return _ordering(op, operand)
    if op == "$exists":
        if not isinstance(operand, bool):
            raise FilterError(where, f"must be true or false, not {_kind(operand)}")
        return lambda value: (value is not _MISSING) is operand
    if op == "$not":
        inner = _condition(operand, where)
        return lambda value: not inner(value)
    raise FilterError(where, f"unknown operator; use one of {', '.join(FIELD_OPERATORS)}")


def _ordering(op: str, operand: float | str) -> Predicate:
    same: Callable[[Any], bool] = _is_number if _is_number(operand) else _is_str
    if op == "$gt":
        return lambda value: same(value) and value > operand
    if op == "$gte":
        return lambda value: same(value) and value >= operand
    if op == "$lt":
        return lambda value: same(value) and value < operand
    return lambda value: same(value) and value <= operand


def _check_value(value: Any, where: str) -> None:
    """A value to compare with: JSON data, with no operator inside it."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if str(key).startswith("$"):
                raise FilterError(f"{where}.{key}", "an operator cannot appear inside a value")
            _check_value(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_value(item, f"{where}[{i}]")


def equal(a: Any, b: Any) -> bool:
    """JSON equality: numbers by value (1 == 1.0), but true is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and bool(a == b)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


# Plain loops and two-part lambdas rather than all()/any() over a generator: the fan-out
# evaluates these per webhook per event, and a generator costs more than the tests.
def _all(parts: list[Predicate]) -> Predicate:
    if not parts:
        return lambda data: True
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        first, second = parts
        return lambda data: first(data) and second(data)

    def every(data: Any) -> bool:
        for part in parts:  # noqa: SIM110 - no generator per evaluation
            if not part(data):
                return False
        return True

    return every


def _any(parts: list[Predicate]) -> Predicate:
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        first, second = parts
        return lambda data: first(data) or second(data)

    def some(data: Any) -> bool:
        for part in parts:  # noqa: SIM110 - no generator per evaluation
            if part(data):
                return True
        return False

    return some


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if _is_number(value):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
