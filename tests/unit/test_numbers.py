"""domain/numbers.py: which numbers a delivery could not carry exactly."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from webhookd.domain import numbers

NUMBER = st.from_regex(r"\A-?(0|[1-9][0-9]{0,24})(\.[0-9]{1,24})?([eE][+-]?[0-9]{1,3})?\Z")


def changed_by_a_double(text: str) -> bool:
    """The reference: the rule spelled out, with no shortcut."""
    exact = Decimal(text)
    if "." not in text and "e" not in text.lower():
        return abs(exact) > numbers.MAX_SAFE_INTEGER
    return Decimal(repr(float(text))) != exact


@given(NUMBER)
def test_every_number_is_judged_as_the_rule_says(text: str) -> None:
    found = numbers.inexact(f'{{"data": {{"n": [1, {text}]}}}}')
    assert (found is not None) == changed_by_a_double(text)
    if found is not None:
        assert found == (".data.n[1]", text)


def test_short_numbers_and_number_like_strings_pass() -> None:
    assert numbers.inexact(b'{"a": 123456789012345, "b": 0.1, "c": -2.5, "d": "1e-400"}') is None
    assert numbers.inexact(b'{"a": 9007199254740993}') == (".a", "9007199254740993")
    assert numbers.inexact(b'{"a": 1e-400}') == (".a", "1e-400")
