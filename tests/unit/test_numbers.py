"""domain/numbers: which numbers a delivery cannot carry exactly, and its fast path."""

import json

from hypothesis import example, given
from hypothesis import strategies as st

from webhookd.domain import numbers


@st.composite
def number_texts(draw: st.DrawFn) -> str:
    """JSON number texts of every shape: integers, fractions, exponents near the edges."""
    digits = draw(st.text("0123456789", min_size=1, max_size=22))
    digits = digits.lstrip("0") or "0"  # JSON writes no leading zeros
    point = draw(st.integers(0, len(digits)))
    text = digits
    if point and draw(st.booleans()):
        fraction = draw(st.text("0123456789", min_size=1, max_size=20))
        text = f"{digits}.{fraction}"
    if draw(st.booleans()):
        exponent = draw(st.integers(-420, 420))
        zeros = "0" * draw(st.integers(0, 2))
        sign = "-" if exponent < 0 else draw(st.sampled_from(["", "+"]))
        text += f"{draw(st.sampled_from('eE'))}{sign}{zeros}{abs(exponent)}"
    return ("-" if draw(st.booleans()) else "") + text


@given(number_texts())
@example("9007199254740993")
@example("1.00000000000000001")
@example("1e-400")
@example("123456789.12345678")
def test_the_fast_path_passes_only_numbers_that_are_exact(text: str) -> None:
    document = json.dumps({"data": {"n": "X"}}).replace('"X"', text)
    slow = json.dumps({"data": {"n": "X", "0" * 40: 1}}).replace('"X"', text)
    changed = numbers.inexact(slow)  # a key of 40 digits: parsed whatever the number
    assert numbers.inexact(document) == changed
    assert numbers.inexact(document.encode()) == changed


def test_numbers_a_double_cannot_hold_are_named() -> None:
    for text in ("9007199254740993", "1e-400", "1.00000000000000001", "1e400"):
        assert numbers.inexact(f'{{"n": {text}}}', "data") == ("data.n", text)
    for text in ("9007199254740991", "0.1", "1.5e300", "-0", "123456789012345"):
        assert numbers.inexact(f'{{"n": {text}}}') is None
