"""Numbers a delivery could not carry exactly. Pure.

A delivery body is written as JavaScript's `JSON.stringify` writes it, and receivers
(the seed's snippet among them) read numbers as IEEE doubles. So an integer beyond
±(2^53 - 1), or a number whose text names another value than its nearest double
(`1.00000000000000001`, `1e-400`), would reach the receiver changed. webhookd refuses
such an event, naming the number, unless `WEBHOOKD_NUMBERS=round` says to deliver the
nearest double instead.
"""

import json
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_SAFE_INTEGER = 2**53 - 1
# Only a number written with 16 or more characters of digits and its point, or with an
# exponent of 3 digits, can change: fewer than 16 significant digits and an exponent
# under 100 keep it within the doubles' normal range (about 1e-113 to 1e115), where
# every decimal of at most 15 significant digits comes back from its double unchanged
# (DBL_DIG), and an integer under 10^15 is below 2^53. So text without such a run needs
# no parse (a run inside a string only costs the parse). The runs are found by
# translating each byte to its class (a digit or point, an e, a sign) and looking for
# the sequences of classes, which takes a tenth of the time of a regular expression.
_CLASSES = bytes.maketrans(b"0123456789.eE+-", b"\x01" * 11 + b"\x02\x02\x03\x03")
_SUSPECT = (b"\x01" * 16, b"\x02\x01\x01\x01", b"\x02\x03\x01\x01\x01")


def inexact(text: str | bytes, root: str = "") -> tuple[str, str] | None:
    """The path and text of the first number in the JSON `text` that a double cannot
    hold exactly, or None. `text` must already be valid JSON."""
    classes = (text if isinstance(text, bytes) else text.encode()).translate(_CLASSES)
    if not any(run in classes for run in _SUSPECT):  # raw JSON holds no bytes below 0x20
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
