"""service.published_body: the body written once, byte for byte what the whole would be."""

import hashlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from webhookd import service
from webhookd.domain import jsjson
from webhookd.errors import Invalid

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)  # fmt: skip


@given(st.sampled_from(["verification.completed", 'a\u00e9"b']), st.integers(0, 2**45), JSON)
def test_the_body_is_the_whole_written_at_once(event_type: str, at: int, data: Any) -> None:
    body, fingerprint = service.published_body(event_type, at, data)
    assert body == service.delivery_body(event_type, at, data)
    digest = hashlib.sha256(event_type.encode() + b"\n" + jsjson.dumps(data)).hexdigest()
    assert fingerprint == digest


def test_data_a_delivery_cannot_carry_is_named_as_before() -> None:
    with pytest.raises(Invalid, match=r"data cannot be delivered as JSON: data\.x"):
        service.published_body("x", 0, {"x": float("nan")})
