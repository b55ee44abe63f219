"""The retry policy decides from the answer, the attempt count, the time and the jitter."""

from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from webhookd.domain import retry
from webhookd.domain.models import DeliveryStatus, SendResult
from webhookd.domain.retry import Decision

OK = SendResult(204, None, 5)
FAIL = SendResult(500, None, 5)
NO_ANSWER = SendResult(None, "timed out", 5)
REDIRECT = SendResult(302, None, 5)
NO_JITTER = retry.Policy((5, 60), 0)


def zero() -> float:
    return 0.0


def test_only_2xx_is_delivered() -> None:
    assert NO_JITTER.decide(OK, 1, 0, zero) == Decision(DeliveryStatus.DELIVERED)
    for result in (FAIL, NO_ANSWER, REDIRECT, SendResult(404, None, 1)):
        assert NO_JITTER.decide(result, 1, 0, zero) == Decision(DeliveryStatus.PENDING, 5000)


def test_gives_up_when_the_schedule_is_spent() -> None:
    assert NO_JITTER.decide(FAIL, 2, 1000, zero) == Decision(DeliveryStatus.PENDING, 61_000)
    assert NO_JITTER.decide(FAIL, 3, 1000, zero) == Decision(DeliveryStatus.FAILED)
    assert retry.Policy((), 0).decide(FAIL, 1, 0, zero) == Decision(DeliveryStatus.FAILED)


def test_410_fails_and_disables() -> None:
    decision = NO_JITTER.decide(SendResult(410, None, 1), 1, 0, zero)
    assert decision.status is DeliveryStatus.FAILED
    assert decision.next_attempt_at is None
    assert decision.disable_reason is not None
    assert "410" in decision.disable_reason


def test_a_manual_resend_is_one_attempt() -> None:
    assert NO_JITTER.decide(FAIL, 1, 0, zero, manual=True) == Decision(DeliveryStatus.FAILED)
    assert NO_JITTER.decide(OK, 7, 0, zero, manual=True) == Decision(DeliveryStatus.DELIVERED)


@pytest.mark.parametrize(
    ("status", "header", "delay_ms"),
    [
        (429, "7", 7000),  # inside [5 s, 10 s]: as asked
        (503, "1", 5000),  # shorter than scheduled: the schedule wins
        (429, "3600", 10_000),  # longer than twice the schedule: clamped
        (429, "soon", 5000),  # unreadable: the schedule
        (500, "7", 5000),  # only 429 and 503 carry it
    ],
)
def test_retry_after_is_honoured_within_bounds(status: int, header: str, delay_ms: int) -> None:
    result = SendResult(status, None, 1, retry_after=header)
    assert NO_JITTER.decide(result, 1, 0, zero).next_attempt_at == delay_ms


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    later = format_datetime(datetime(2026, 1, 1, 12, 0, 8, tzinfo=UTC), usegmt=True)
    now_ms = round(now.timestamp() * 1000)
    assert retry.parse_retry_after(later, now_ms) == 8000
    result = SendResult(503, None, 1, retry_after=later)
    assert NO_JITTER.decide(result, 1, now_ms, zero).next_attempt_at == now_ms + 8000
    assert retry.parse_retry_after("Mon, 32 Foo 2026", now_ms) is None


@pytest.mark.parametrize("draw", [-1.0, 0.0, 1.0])
def test_jitter_moves_the_delay_within_its_band(draw: float) -> None:
    delay = retry.Policy((100,), 0.2).delay_ms(1, lambda: draw)
    assert delay == round(100_000 * (1 + 0.2 * draw))


def test_default_schedule_spans_about_three_days() -> None:
    total = sum(retry.DEFAULT_SCHEDULE)
    assert len(retry.DEFAULT_SCHEDULE) == 9
    assert 3 * 86400 < total < 3.2 * 86400  # 3 days 3.6 hours


def test_parse_schedule() -> None:
    assert retry.parse_schedule("0.05, 0.1,2") == (0.05, 0.1, 2.0)
    assert retry.parse_schedule("") == ()
    with pytest.raises(ValueError, match="comma-separated"):
        retry.parse_schedule("5s,10s")
    with pytest.raises(ValueError, match="between"):
        retry.parse_schedule("-1")


def test_the_failure_clock_over_a_batch_of_outcomes_in_order() -> None:
    from webhookd.domain.retry import GONE_REASON, Outcome, failure_clock

    day = 86_400_000

    def fail(at: int) -> Outcome:
        return Outcome(at, False)

    def ok(at: int) -> Outcome:
        return Outcome(at, True)

    assert failure_clock(None, [fail(5), fail(9)], day) == (5, None)  # starts at the first
    assert failure_clock(3, [fail(5)], day) == (3, None)  # keeps running
    assert failure_clock(3, [fail(5), ok(6)], day) == (None, None)  # a success resets it
    assert failure_clock(3, [ok(4), fail(7)], day) == (7, None)  # and it starts again
    since, reason = failure_clock(0, [fail(day)], day)  # failing for the whole window
    assert since == 0
    assert reason is not None
    assert "1.0 days" in reason
    assert failure_clock(None, [Outcome(5, False, GONE_REASON)], day) == (None, GONE_REASON)


def test_an_ordered_webhooks_retry_waits_at_most_its_cap() -> None:
    slow = retry.Policy((3600, 86400), 0)
    capped = slow.decide(FAIL, 1, 1000, zero, max_delay_ms=300_000)
    assert capped == Decision(DeliveryStatus.PENDING, 301_000)
    assert slow.decide(FAIL, 1, 1000, zero) == Decision(DeliveryStatus.PENDING, 3_601_000)
    # The cap shortens waits, never the schedule: the last attempt is still the last.
    assert slow.decide(FAIL, 3, 1000, zero, max_delay_ms=300_000).status is DeliveryStatus.FAILED
