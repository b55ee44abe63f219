"""service.new_event: an event as it is stored, for every route that publishes."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.test_jsjson import KEYS, VALUES, _distinct_in_js
from webhookd.domain import catalog, ids
from webhookd.service import Unfit, delivery_body, fingerprint, new_event

TYPES = dict(catalog.DEFAULT_TYPES)
T0 = 1_750_000_000_123


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(KEYS, VALUES, max_size=6).filter(_distinct_in_js))
def test_the_fingerprint_is_of_the_type_and_data_as_published(data: dict[str, object]) -> None:
    """It is read from the body rather than encoded again, and must not change: keys
    stored by earlier versions are checked against it."""
    try:
        event = new_event(TYPES, ids.new_id(ids.EVENT, T0), "t", "record.error", data, T0)
    except Unfit:
        return  # data JavaScript cannot carry: refused either way
    assert event.fingerprint == fingerprint("record.error", data)
    assert event.body == delivery_body("record.error", T0, data)


def test_an_unfit_event_names_its_field() -> None:
    cases = [
        (("t", "no.such", {}), "event: Unknown event type 'no.such'"),
        (("", "record.error", {}), "tenantId must be 1 to 255 characters"),
        (("t", "record.error", {"n": float("nan")}), "data cannot be delivered as JSON: data.n"),
    ]
    for (tenant, kind, data), named in cases:
        with pytest.raises(Unfit) as unfit:
            new_event(TYPES, "evt_x", tenant, kind, data, T0)
        assert unfit.value.named.startswith(named)
