"""The retry policy's arithmetic, and the pieces of a call the client builds, without a
server (the behaviour against one is in test_retries.py)."""

from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from webhookd.client import NewEvent, RetryPolicy
from webhookd.client._core import batch_call, iso, publish_call, retry_after


def test_backoff_doubles_up_to_its_cap_with_jitter_of_half_to_all() -> None:
    least = RetryPolicy(backoff=0.5, max_backoff=3.0, max_retries=5, jitter=lambda: 0.0)
    most = RetryPolicy(backoff=0.5, max_backoff=3.0, max_retries=5, jitter=lambda: 1.0)
    assert [least.delay(n, None) for n in range(1, 6)] == [0.25, 0.5, 1.0, 1.5, 1.5]
    assert [most.delay(n, None) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert most.delay(6, None) is None  # retries spent


def test_retry_after_replaces_the_backoff_up_to_its_limit() -> None:
    policy = RetryPolicy(max_retry_after=60.0)
    assert policy.delay(1, 0.0) == 0.0
    assert policy.delay(2, 12.5) == 12.5
    assert policy.delay(1, 60.5) is None
    assert RetryPolicy(max_retries=0).delay(1, 0.0) is None


def test_retry_after_is_seconds_or_an_http_date() -> None:
    assert retry_after("5") == 5.0
    assert retry_after(" 0 ") == 0.0
    assert retry_after("-3") == 0.0
    later = datetime.now(UTC) + timedelta(seconds=120)
    assert 100 < (retry_after(format_datetime(later, usegmt=True)) or 0) <= 120
    assert retry_after(format_datetime(datetime(2000, 1, 1, tzinfo=UTC), usegmt=True)) == 0.0
    for bad in (None, "", "soon", "nan", "inf"):
        assert retry_after(bad) is None


def test_times_are_sent_in_utc_with_milliseconds() -> None:
    paris = timezone(timedelta(hours=2))
    assert iso(datetime(2025, 6, 1, 14, 0, 0, 123999, tzinfo=paris)) == "2025-06-01T12:00:00.123Z"
    assert iso("2025-06-01T00:00:00Z") == "2025-06-01T00:00:00Z"
    with pytest.raises(ValueError, match="timezone-aware"):
        iso(datetime(2025, 6, 1))


def test_a_publish_is_idempotent_only_with_a_key() -> None:
    bare: NewEvent = {"tenantId": "t", "event": "e"}
    keyed: NewEvent = {"tenantId": "t", "event": "e", "idempotencyKey": "k"}
    assert publish_call(bare, auto_key=True).idempotent
    assert not publish_call(bare, auto_key=False).idempotent
    assert "idempotencyKey" not in bare  # the caller's event is left as it was
    assert publish_call(keyed, auto_key=False).idempotent
    assert publish_call(keyed, auto_key=True).json["idempotencyKey"] == "k"
    assert not batch_call([keyed, bare], auto_key=False).idempotent
    assert batch_call([keyed, bare], auto_key=True).idempotent
    assert not batch_call([], auto_key=True).idempotent
