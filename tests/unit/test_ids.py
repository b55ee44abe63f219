"""Identifiers sort by creation time; secrets decode as Standard Webhooks expects."""

import base64
import re

from hypothesis import given
from hypothesis import strategies as st

from webhookd.domain import ids


def test_id_format() -> None:
    assert re.fullmatch(r"wh_[0-9a-hjkmnp-tv-z]{26}", ids.new_id(ids.WEBHOOK, 1_750_000_000_000))


@given(st.integers(0, 2**48 - 2), st.integers(1, 10**6))
def test_ids_sort_by_time(earlier: int, gap: int) -> None:
    later = min(earlier + gap, 2**48 - 1)
    first = ids.new_id("evt", earlier, lambda n: b"\xff" * n)
    second = ids.new_id("evt", later, lambda n: b"\x00" * n)
    assert first < second


def test_ids_are_random_within_a_millisecond() -> None:
    assert len({ids.new_id("dlv", 1) for _ in range(1000)}) == 1000


def test_secret_is_whsec_plus_base64_of_32_bytes() -> None:
    secret = ids.new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert ids.new_secret() != secret


@given(st.lists(st.integers(0, 5), min_size=2, max_size=300))
def test_ascending_ids_sort_in_the_order_they_are_made(clock_steps: list[int]) -> None:
    """Even within one millisecond (most steps here are 0), and with random bytes that
    would sort them the other way."""
    falling = iter(range(10**6, 0, -1))
    make = ids.ascending("evt", lambda n: next(falling).to_bytes(n, "big"))
    now, made = 1_750_000_000_000, []
    for step in clock_steps:
        now += step
        made.append(make(now))
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    assert all(ids.is_valid(one, "evt") for one in made)
    assert made[-1][4:14] == ids.new_id("evt", now)[4:14]  # the time part is the clock's


def test_ascending_ids_are_random_within_a_millisecond() -> None:
    first, second = ids.ascending("dlv"), ids.ascending("dlv")
    assert [first(1) for _ in range(3)] != [second(1) for _ in range(3)]


@given(st.lists(st.integers(min_value=0, max_value=2**40), min_size=2, max_size=50))
def test_after_keeps_a_sequence_in_order_whatever_the_clock_says(clocks: list[int]) -> None:
    """An ordered webhook's delivery ids (store/programs.py): each sorts after the last,
    even when its own clock reading is earlier (another publisher, a clock stepped back)."""
    last: str | None = None
    made = []
    for now in clocks:
        last = ids.after(last, ids.new_id(ids.DELIVERY, now))
        made.append(last)
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    assert all(ids.is_valid(value, ids.DELIVERY) for value in made)


def test_after_keeps_a_newer_id_as_it_is() -> None:
    old, new = ids.new_id(ids.DELIVERY, 1000), ids.new_id(ids.DELIVERY, 2000)
    assert ids.after(old, new) == new
    assert ids.after(None, old) == old


@given(st.integers(0, 2**47), st.integers(0, 10**9), st.binary(min_size=14, max_size=14))
def test_least_sorts_before_every_id_made_then_or_later(start: int, gap: int, drawn: bytes) -> None:
    """The stats find a window's deliveries by id (store/sql/sqlite: stats_counts)."""
    floor = ids.least(ids.DELIVERY, start)
    assert ids.is_valid(floor, ids.DELIVERY)
    made = ids.new_id(ids.DELIVERY, start + gap, lambda n: drawn[:n])
    assert floor <= made
    assert floor <= ids.ascending(ids.DELIVERY, lambda n: drawn[:n])(start + gap)
    assert ids.least(ids.DELIVERY, start + gap + 1) > made  # and it is the least: no gap
