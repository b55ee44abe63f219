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
