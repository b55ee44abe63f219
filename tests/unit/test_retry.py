"""The retry policy decides from the answer, the attempt count, the time and the jitter."""

import pytest

from webhookd.domain import retry
from webhookd.domain.models import DeliveryStatus, SendResult

OK = SendResult(204, None, 5)
FAIL = SendResult(500, None, 5)
NO_ANSWER = SendResult(None, "timed out", 5)
REDIRECT = SendResult(302, None, 5)


def test_only_2xx_is_delivered() -> None:
    policy = retry.Policy((5,), 0)
    assert policy.decide(OK, 1, 0, lambda: 0)[0] is DeliveryStatus.DELIVERED
    for result in (FAIL, NO_ANSWER, REDIRECT):
        assert policy.decide(result, 1, 0, lambda: 0) == (DeliveryStatus.PENDING, 5000)


def test_gives_up_when_the_schedule_is_spent() -> None:
    policy = retry.Policy((1, 2), 0)
    assert policy.decide(FAIL, 2, 1000, lambda: 0) == (DeliveryStatus.PENDING, 3000)
    assert policy.decide(FAIL, 3, 1000, lambda: 0) == (DeliveryStatus.FAILED, None)
    assert retry.Policy((), 0).decide(FAIL, 1, 0, lambda: 0) == (DeliveryStatus.FAILED, None)


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
