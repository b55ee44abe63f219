"""JSON bytes that JavaScript's `JSON.stringify` would write back unchanged.

Why this exists: the seed receiver does not HMAC the raw request body. It runs
`JSON.stringify(JSON.parse(body))` and checks the signature over *that*. So the
bytes we sign and send must be a fixed point of parse + stringify in JavaScript,
or every delivery of an "unusual" payload fails verification. Python's `json`
(and orjson) differ from `JSON.stringify` in several ways that matter:

* Object keys: JavaScript objects list canonical array-index keys ("0", "7",
  "4294967294"; not "01", "-1" or "4294967295") first, in ascending numeric
  order, and only then the other keys in insertion order.
* Numbers: every number is an IEEE double printed with ECMAScript
  Number::toString (shortest round-trip digits, exponent form below 1e-6 and
  from 1e21, `1e+21` / `1.5e-7` spelling, `-0` as `0`). Integers beyond 2**53
  lose precision exactly as `JSON.parse` rounds them. NaN, the infinities and
  anything that overflows a double cannot survive and are refused.
* Strings: the ES2019 well-formed escapes (short escapes, lowercase `\\u00xx`
  for other controls, lowercase `\\udxxx` for lone surrogates), everything
  else raw UTF-8. A Python str holding a high surrogate followed by a low one
  is a single astral character to JavaScript, so it is written as that.

Public API: `dumps(value) -> bytes` and `NotRepresentable` (a ValueError whose
message names the problem and its location, e.g. `data.items[3]: NaN ...`).
Stdlib only; no imports from the rest of the project.
"""

import json
import math
import re
from collections.abc import Callable
from json.encoder import encode_basestring as _quote_raw
from typing import Any

__all__ = ["MAX_DEPTH", "NotRepresentable", "dumps"]

#: Deepest array/object nesting accepted. Node's JSON.stringify overflows its
#: stack at roughly 4 000 levels and Python's json.loads at roughly 1 000.
MAX_DEPTH = 512

_PATH_SHOWN = 16
_EXACT_INT = 2**53
_MAX_INDEX = 2**32 - 2
_INDEX_RE = re.compile(r"0|[1-9][0-9]{0,9}")
_DIGIT_KEY_RE = re.compile(r"(?:\A|\x00)[0-9]")
_IDENT_RE = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_PAIR_OR_LONE_RE = re.compile("([\ud800-\udbff][\udc00-\udfff])|[\ud800-\udfff]")
_PAIR_RE = re.compile("[\ud800-\udbff][\udc00-\udfff]")

Path = list[str | int]


class NotRepresentable(ValueError):
    """A value JavaScript cannot carry through JSON.parse/JSON.stringify as-is."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class _Fail(Exception):
    """Internal: carries the reason out while each level adds its path segment."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.segments: Path = []  # innermost first


def dumps(value: object) -> bytes:
    """`value` as UTF-8 JSON, byte-for-byte what JSON.stringify(JSON.parse(it)) gives."""
    out: list[str] = []
    try:
        _encode(value, out, 0)
    except _Fail as fail:
        raise NotRepresentable(_render_path(fail.segments), fail.reason) from None
    except RecursionError:
        raise NotRepresentable("(value)", "nested too deeply") from None
    return "".join(out).encode("utf-8")


def _encode(value: object, out: list[str], depth: int) -> None:
    """Any value; the hot loops below only come here for subclasses."""
    scalar = _SCALARS.get(type(value))
    if scalar is not None:
        out.append(scalar(value))
    elif isinstance(value, dict):
        _object(value, out, depth)
    elif isinstance(value, list | tuple):
        _array(value, out, depth)
    else:
        out.append(_subclass_scalar(value))


def _array(array: list[object] | tuple[object, ...], out: list[str], depth: int) -> None:
    if depth >= MAX_DEPTH:
        raise _Fail(f"nested deeper than {MAX_DEPTH} levels")
    append = out.append
    append("[")
    for index, item in enumerate(array):
        if index:
            append(",")
        try:  # one Python frame per nesting level for plain dicts and lists
            scalar = _SCALARS.get(type(item))
            if scalar is not None:
                append(scalar(item))
            else:
                _CONTAINERS.get(type(item), _encode)(item, out, depth + 1)
        except _Fail as fail:
            fail.segments.append(index)
            raise
    append("]")


def _object(obj: dict[Any, object], out: list[str], depth: int) -> None:
    if depth >= MAX_DEPTH:
        raise _Fail(f"nested deeper than {MAX_DEPTH} levels")
    append = out.append
    separator = "{"
    for key in _js_key_order(obj):
        append(separator)
        separator = ","
        append(_string(key))
        append(":")
        item = obj[key]
        try:
            scalar = _SCALARS.get(type(item))
            if scalar is not None:
                append(scalar(item))
            else:
                _CONTAINERS.get(type(item), _encode)(item, out, depth + 1)
        except _Fail as fail:
            fail.segments.append(key)
            raise
    append("}" if separator == "," else "{}")


def _js_key_order(obj: dict[Any, object]) -> list[str]:
    """Keys in JavaScript property order: array indices first, ascending, then the rest."""
    keys: list[str] = list(obj)
    try:
        joined = "\x00".join(keys)  # one C pass: all str? any surrogates or leading digits?
    except TypeError:
        bad = next(key for key in keys if not isinstance(key, str))
        shown = repr(bad)[:64]
        raise _Fail(f"object key {shown} ({type(bad).__name__}) is not a string") from None
    if not joined.isascii() and _SURROGATE_RE.search(joined):
        _check_distinct_in_js(keys)
    if _DIGIT_KEY_RE.search(joined) is None:
        return keys
    indices = sorted(
        (int(key), key) for key in keys if _INDEX_RE.fullmatch(key) and int(key) <= _MAX_INDEX
    )
    if not indices:
        return keys
    index_keys = {key for _, key in indices}
    return [key for _, key in indices] + [key for key in keys if key not in index_keys]


def _check_distinct_in_js(keys: list[str]) -> None:
    """'\\ud83d\\ude00' and '😀' are different Python keys but one JavaScript key."""
    seen: set[str] = set()
    for key in keys:
        js_key = _PAIR_RE.sub(_join_pair, key)
        if js_key in seen:
            shown = json.dumps(js_key[:64])
            raise _Fail(f"duplicate key {shown} once surrogate pairs are joined, as in JavaScript")
        seen.add(js_key)


def _join_pair(match: re.Match[str]) -> str:
    pair = match.group(0)
    return chr(0x10000 + ((ord(pair[0]) - 0xD800) << 10) + (ord(pair[1]) - 0xDC00))


def _fix_surrogate(match: re.Match[str]) -> str:
    if match.group(1):
        return _join_pair(match)
    return f"\\u{ord(match.group(0)):04x}"


def _string(text: str) -> str:
    quoted: str = _quote_raw(text)  # C: escapes ", \\, controls with lowercase hex
    if text.isascii():
        return quoted
    if _SURROGATE_RE.search(quoted):
        quoted = _PAIR_OR_LONE_RE.sub(_fix_surrogate, quoted)
    return quoted


def _int(number: int) -> str:
    if -_EXACT_INT <= number <= _EXACT_INT:
        return str(number)
    try:
        as_double = float(number)  # correctly rounded, like JS's JSON.parse
    except OverflowError:
        bits = number.bit_length()
        raise _Fail(f"integer of {bits} bits overflows a double (max about 1.8e308)") from None
    return _float(as_double)


def _float(number: float) -> str:
    if not math.isfinite(number):
        name = "NaN" if math.isnan(number) else "Infinity" if number > 0 else "-Infinity"
        raise _Fail(f"{name} is not representable in JSON")
    if number == 0:
        return "0"
    if number.is_integer() and -_EXACT_INT <= number <= _EXACT_INT:
        return str(int(number))
    sign = "-" if number < 0 else ""
    digits, n = _shortest_digits(-number if sign else number)
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return f"{sign}{digits[:n]}.{digits[n:]}"
    if -6 < n <= 0:
        return f"{sign}0.{'0' * -n}{digits}"
    mantissa = digits if k == 1 else f"{digits[0]}.{digits[1:]}"
    exponent = n - 1
    return f"{sign}{mantissa}e{'+' if exponent >= 0 else '-'}{abs(exponent)}"


def _shortest_digits(number: float) -> tuple[str, int]:
    """(s, n) of ECMAScript Number::toString: value = 0.s * 10**n, s minimal."""
    mantissa, _, exponent = repr(number).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    n = len(whole) + (int(exponent) if exponent else 0)
    significant = digits.lstrip("0")
    n -= len(digits) - len(significant)
    return significant.rstrip("0"), n


def _subclass_scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return _int(int(value))
    if isinstance(value, float):
        return _float(float(value))
    if isinstance(value, str):
        return _string(str.__str__(value))
    raise _Fail(f"{type(value).__name__} is not a JSON type")


def _render_path(segments: Path) -> str:
    parts: list[str] = []
    outermost_first = segments[::-1]
    for segment in outermost_first[:_PATH_SHOWN]:
        if isinstance(segment, int):
            parts.append(f"[{segment}]")
        elif _IDENT_RE.fullmatch(segment):
            parts.append(f".{segment}" if parts else segment)
        else:
            shown = segment if len(segment) <= 64 else segment[:64] + "..."
            parts.append(f"[{json.dumps(shown)}]")
    if len(outermost_first) > _PATH_SHOWN:
        parts.append("...")
    return "".join(parts) or "(value)"


_SCALARS: dict[type, Callable[[Any], str]] = {
    str: _string,
    int: _int,
    float: _float,
    bool: lambda value: "true" if value else "false",
    type(None): lambda _: "null",
}
_CONTAINERS: dict[type, Callable[[Any, list[str], int], None]] = {
    dict: _object,
    list: _array,
    tuple: _array,
}
