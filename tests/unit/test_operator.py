"""The rules of operational webhooks (domain/operator.py) and of delivery statistics
(domain/stats.py), without a database."""

import orjson
import pytest

from webhookd.domain import operator, stats
from webhookd.domain.operator import Attempted, Endpoint, after_attempts

T0 = 1_750_000_000_000
WINDOW = 100_000  # the auto-disable window, ms
HOUR = 3_600_000


def kinds(notices: list[operator.Notice]) -> list[str]:
    return [n.type for n in notices]


def failing_at(*offsets: int) -> list[Attempted]:
    return [Attempted(T0 + o, False, http_status=500) for o in offsets]


def test_each_threshold_is_announced_once_as_the_failure_clock_crosses_it() -> None:
    endpoint = Endpoint("t", "wh_1")
    after = after_attempts(endpoint, failing_at(0, 40_000, 49_999), WINDOW)
    assert after.notices == []
    assert after.failing_notified == 0
    state = Endpoint("t", "wh_1", T0, after.failing_notified, after.recovery_owed)
    after = after_attempts(state, failing_at(50_000, 60_000), WINDOW)
    assert [n.data["threshold"] for n in after.notices] == [50]
    data = after.notices[0].data
    assert data["tenantId"] == "t"
    assert data["webhookId"] == "wh_1"
    assert data["failingForSeconds"] == 50
    assert data["disableAfterSeconds"] == 100
    state = Endpoint("t", "wh_1", T0, after.failing_notified, after.recovery_owed)
    after = after_attempts(state, failing_at(95_000), WINDOW)  # two thresholds at once
    assert [n.data["threshold"] for n in after.notices] == [70, 90]
    state = Endpoint("t", "wh_1", T0, after.failing_notified, after.recovery_owed)
    assert after_attempts(state, failing_at(96_000, 99_000), WINDOW).notices == []


def test_a_success_owes_a_recovery_only_after_trouble_and_starts_the_count_again() -> None:
    ok = [Attempted(T0 + 1, True)]
    assert after_attempts(Endpoint("t", "w", T0 - 10), ok, WINDOW).notices == []
    after = after_attempts(Endpoint("t", "w", T0 - 60_000, 1, True), ok, WINDOW)
    assert kinds(after.notices) == ["endpoint.recovered"]
    assert (after.failing_notified, after.recovery_owed) == (0, False)
    # an opened circuit, or a disable, owes one too (kept across an enable)
    opened = after_attempts(Endpoint("t", "w"), failing_at(0), WINDOW, circuit_opened=True)
    assert opened.recovery_owed
    assert opened.notices == []
    enabled = Endpoint("t", "w", None, 0, True)  # enabling reset the failure clock
    assert kinds(after_attempts(enabled, ok, WINDOW).notices) == ["endpoint.recovered"]
    # a failing level left from before the clock was reset counts for nothing
    stale = Endpoint("t", "w", None, 3, False)
    again = after_attempts(stale, failing_at(0, 50_000), WINDOW)
    assert [n.data["threshold"] for n in again.notices] == [50]


def test_a_disable_is_announced_with_its_reason() -> None:
    gone = after_attempts(
        Endpoint("t", "w"),
        [Attempted(T0, False, http_status=410)],
        WINDOW,
        disabled=("gone", T0, "The endpoint answered 410 Gone"),
    )
    assert kinds(gone.notices) == ["endpoint.disabled"]
    assert gone.notices[0].data["reason"] == "gone"
    assert gone.notices[0].data["failingSince"] is None
    failing = after_attempts(
        Endpoint("t", "w", T0, 3, True),
        failing_at(WINDOW),
        WINDOW,
        disabled=("failing", T0 + WINDOW, "Every delivery attempt failed"),
    )
    assert kinds(failing.notices) == ["endpoint.disabled"]
    assert failing.notices[0].data["failingSince"] == "2025-06-15T15:06:40.000Z"


def test_exhaustion_is_announced_at_most_once_an_hour_with_the_count_of_the_others() -> None:
    batch = [
        Attempted(T0 + i, False, f"dlv_{i}", "record.error", 1, 500, exhausted=True)
        for i in range(3)
    ]
    first = after_attempts(Endpoint("t", "w"), batch, WINDOW)
    [notice] = [n for n in first.notices if n.type == "message.attempt.exhausted"]
    assert notice.data["deliveryId"] == "dlv_0"
    assert (notice.data["others"], notice.data["othersSince"]) == (2, None)
    state = Endpoint("t", "w", None, 0, False, first.exhausted_at, first.exhausted_unsent)
    later = after_attempts(
        state, [Attempted(T0 + HOUR - 1, False, "dlv_9", exhausted=True)] * 4, WINDOW
    )
    assert "message.attempt.exhausted" not in kinds(later.notices)
    assert later.exhausted_unsent == 4
    state = Endpoint("t", "w", None, 0, False, later.exhausted_at, later.exhausted_unsent)
    hour_on = after_attempts(state, [Attempted(T0 + HOUR, False, "dlv_x", exhausted=True)], WINDOW)
    [notice] = [n for n in hour_on.notices if n.type == "message.attempt.exhausted"]
    assert notice.data["others"] == 4
    assert notice.data["othersSince"] == "2025-06-15T15:06:40.000Z"
    assert hour_on.exhausted_unsent == 0


def test_changes_a_customer_makes_are_named_as_the_operator_hears_them() -> None:
    made = operator.for_change("webhook.created", "t", "w", T0, {"url": "u"}, "alice")
    assert kinds(made) == ["endpoint.created"]
    assert made[0].data["url"] == "u"
    assert made[0].data["actor"] == "alice"
    off = operator.for_change("webhook.toggled", "t", "w", T0, {}, "alice", active=False)
    assert kinds(off) == ["endpoint.disabled"]
    assert off[0].data["reason"] == "manual"
    on = operator.for_change("webhook.toggled", "t", "w", T0, {}, "alice", active=True)
    assert kinds(on) == ["endpoint.enabled"]
    changed = operator.for_change("webhook.updated", "t", "w", T0, {"url": "v"}, "a")
    assert changed[0].data["changes"] == {"url": "v"}
    assert operator.for_change("delivery.retried", "t", "w", T0, {}, "a") == []
    assert operator.for_change("webhook.created", operator.TENANT, "w", T0, {}, "a") == []
    body = orjson.loads(made[0].body)
    assert body == {
        "event": "endpoint.created",
        "timestamp": "2025-06-15T15:06:40.000Z",
        "data": made[0].data,
    }


def test_the_operator_chooses_its_events() -> None:
    assert operator.parse_events("endpoint.failing, endpoint.disabled") == (
        "endpoint.failing",
        "endpoint.disabled",
    )
    with pytest.raises(ValueError, match=r"unknown: endpoint\.exploded"):
        operator.parse_events("endpoint.exploded")
    notices = operator.for_change("webhook.deleted", "t", "w", T0, {}, "a")
    assert operator.subscribed(notices, ("endpoint.failing",)) == []
    assert operator.subscribed(notices, ("*",)) == notices


def test_stats_windows_end_with_the_bucket_of_now() -> None:
    day = stats.window("24h", T0 + 1)
    assert (day.count, day.size, day.end % 3_600_000) == (24, 3_600_000, 0)
    assert day.start <= T0 < day.end
    assert day.end - T0 <= 3_600_000
    month = stats.window("30d", T0)
    assert (month.count, month.size, month.start % 86_400_000) == (30, 86_400_000, 0)
    with pytest.raises(ValueError, match="window must be one of 24h, 7d, 30d"):
        stats.window("1y", T0)


def test_stats_buckets_and_percentiles_from_counts() -> None:
    w = stats.window("24h", T0)
    found = stats.summarize(
        w,
        [(23, "delivered", True, 3), (23, "failed", True, 1), (22, "pending", True, 2),
         (22, "pending", False, 5), (40, "delivered", True, 9)],
        [(23, 10, 1), (23, 20, 1), (23, 30, 1), (23, 400, 1), (22, 7, 2)],
    )  # fmt: skip
    last = found.buckets[23]
    assert (last.delivered, last.failed, last.attempts, last.p50_ms, last.p95_ms) == (
        3,
        1,
        4,
        20,
        400,
    )
    assert (found.buckets[22].retrying, found.buckets[22].pending) == (2, 5)
    assert (found.delivered, found.failed, found.success_rate) == (3, 1, 0.75)
    assert (found.p50_ms, found.p95_ms) == (10, 400)
    assert stats.summarize(w, [], []).success_rate is None
    assert stats.percentile({}, 0.5) is None
