"""Numbers a delivery could not carry exactly. Pure.

A delivery body is written as JavaScript's `JSON.stringify` writes it, and receivers
(the seed's snippet among them) read numbers as IEEE doubles. So an integer beyond
±(2^53 - 1), or a number whose text names another value than its nearest double
(`1.00000000000000001`, `1e-400`), would reach the receiver changed. webhookd refuses
such an event, naming the number, unless `WEBHOOKD_NUMBERS=round` says to deliver the
nearest double instead.
"""

import json
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_SAFE_INTEGER = 2**53 - 1
# A JSON number without an exponent and under 16 characters of digits and dot has at
# most 15 significant digits: a double holds it exactly (and an integer that short is
# below 2^53). Only a text with a longer run, or an exponent, needs the full check; a
# string that merely looks like one costs that check and nothing else.
_MAYBE_INEXACT = re.compile(rb"\d[\d.]{15}|\d[eE][+\-]?\d")


def inexact(text: str | bytes, root: str = "") -> tuple[str, str] | None:
    """The path and text of the first number in the JSON `text` that a double cannot
    hold exactly, or None. `text` must already be valid JSON."""
    raw = text.encode() if isinstance(text, str) else text
    if _MAYBE_INEXACT.search(raw) is None:
        return None
    tree = json.loads(text, parse_float=_Exact, parse_int=_Exact, parse_constant=_Exact)
    return next(_walk(tree, root), None)


class _Exact(str):
    """A number's text, kept as written."""


def refusal(path: str, number: str) -> str:
    """What to tell the publisher about `number` at `path`."""
    shown = number if len(number) <= 40 else number[:40] + "..."
    return (
        f"{path} is {shown}, which a delivery cannot carry exactly: receivers read JSON "
        "numbers as doubles (integers up to 9007199254740991, about 16 significant "
        "digits). Send it as a string, or set WEBHOOKD_NUMBERS=round to deliver the "
        "nearest double."
    )


def _walk(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, _Exact):
        if _changes(value):
            yield path or "(value)", str(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            step = f".{key}" if key.isidentifier() else f"[{json.dumps(key)}]"
            yield from _walk(item, path + step)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")


def _changes(text: str) -> bool:
    try:
        exact = Decimal(text)
    except InvalidOperation:
        return False
    if not exact.is_finite():
        return False  # NaN and Infinity are refused as not JSON (domain/jsjson.py)
    if "." not in text and "e" not in text.lower():  # written as an integer
        return abs(exact) > MAX_SAFE_INTEGER
    return Decimal(repr(float(text))) != exact  # "inf" for an overflow: changed too
