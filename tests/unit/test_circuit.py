"""The circuit breaker's transitions and the health a webhook shows, on a compressed clock."""

from webhookd.domain.circuit import CLOSED, Breaker, health, is_breaker_failure
from webhookd.domain.models import Circuit, SendResult

BREAKER = Breaker(failures=3, cooldown_ms=1_000, max_cooldown_ms=5_000)
TIMEOUT = SendResult(None, "timed out after 15 s", 15_000)
REFUSED = SendResult(None, "connection refused", 1)
ERROR = SendResult(500, None, 3)
OK = SendResult(204, None, 3)


def test_what_counts_against_the_breaker() -> None:
    assert all(is_breaker_failure(r) for r in (TIMEOUT, REFUSED, ERROR, SendResult(429, None, 1)))
    assert not any(is_breaker_failure(SendResult(s, None, 1)) for s in (200, 301, 400, 404, 410))


def test_opens_after_failures_in_a_row_and_a_success_between_resets() -> None:
    c = BREAKER.after(CLOSED, TIMEOUT, 0, probe=False)
    c = BREAKER.after(c, REFUSED, 10, probe=False)
    assert c == Circuit(2, 0, None)
    assert BREAKER.after(c, OK, 20, probe=False) == CLOSED
    c = BREAKER.after(c, ERROR, 30, probe=False)
    assert c == Circuit(3, 1, 1_030)  # open for the cool-down
    assert c.is_open(1_029)
    assert not c.is_open(1_030)  # half-open from then


def test_a_failed_probe_reopens_for_longer_up_to_the_ceiling_and_a_good_one_closes() -> None:
    c = Circuit(3, 1, 1_000)
    at = 1_000
    cooldowns = []
    for _ in range(5):
        c = BREAKER.after(c, TIMEOUT, at, probe=True)
        assert c.until is not None
        cooldowns.append(c.until - at)
        at = c.until
    assert cooldowns == [2_000, 4_000, 5_000, 5_000, 5_000]
    assert BREAKER.after(c, OK, at, probe=True) == CLOSED


def test_late_results_of_attempts_sent_before_it_opened_do_not_reopen_it() -> None:
    opened = Circuit(3, 1, 1_030)
    late = BREAKER.after(opened, TIMEOUT, 500, probe=False)
    assert (late.trips, late.until) == (1, 1_030)  # counted, but the cool-down stands
    assert BREAKER.after(opened, OK, 600, probe=False) == CLOSED  # it answers after all


def test_a_breaker_set_to_zero_never_opens() -> None:
    off = Breaker(failures=0)
    c = CLOSED
    for at in range(100):
        c = off.after(c, TIMEOUT, at, probe=False)
    assert c.until is None
    assert c.failures == 100


def test_health_as_a_webhook_shows_it() -> None:
    assert health(CLOSED, None).status == "healthy"
    assert health(Circuit(1, 0, None), None).status == "failing"
    assert health(CLOSED, 123).status == "failing"  # a 4xx keeps the failure clock going
    paused = health(Circuit(5, 2, 9_000), 100)
    assert (paused.status, paused.next_probe_at, paused.failing_since) == ("paused", 9_000, 100)
    assert paused.consecutive_failures == 5
