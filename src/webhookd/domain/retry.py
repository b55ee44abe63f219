"""When to try a delivery again, when to give up, when to stop sending to a webhook.

Pure: the time, the jitter and the answer are passed in.

- The first attempt is immediate; after failed attempt k the next waits `schedule[k-1]`
  seconds, moved by up to ±jitter of itself so a burst of failures is spread out.
- Only a 2xx answer is a success. 3xx is a failure (redirects are never followed);
  connection and DNS errors and timeouts are failures that are retried.
- 429 and 503 may carry `Retry-After` (seconds or an HTTP date): it is honoured,
  clamped to [scheduled delay, 2 x scheduled delay] so a receiver can slow us down
  but not stall a delivery for days or make us hammer it.
- 410 Gone means the endpoint is gone for good: the delivery fails and the webhook
  is disabled.
- A manual resend is a single attempt; it never starts a second retry chain.
- When every attempt to a webhook has failed for `disable_after`, the webhook is
  disabled (the store keeps "failing since", reset by any success).
- An attempt that failed in webhookd's own egress (the proxy was down or refused it,
  `SendResult.egress_fault`) never reached the endpoint: the delivery waits
  `EGRESS_RETRY_S` (with jitter) and keeps its attempt count, so its retry schedule
  is untouched, as when a circuit is open; it never fails for it, and the failure
  clock ignores it.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from webhookd.domain.models import DeliveryStatus, SendResult

# 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h: about three days in all.
DEFAULT_SCHEDULE: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
DEFAULT_DISABLE_AFTER_S = 5 * 86400
EGRESS_RETRY_S = 30.0  # after the egress proxy failed: it is the operator's to fix
GONE_REASON = "The endpoint answered 410 Gone; fix the URL, then enable the webhook again."

Jitter = Callable[[], float]
"""Returns a number in [-1, 1]; `random.uniform(-1, 1)` in production."""


@dataclass(frozen=True, slots=True)
class Decision:
    status: DeliveryStatus
    next_attempt_at: int | None = None
    disable_reason: str | None = None


def parse_retry_after(value: str | None, now_ms: int) -> int | None:
    """Milliseconds from now that `Retry-After` asks for; None if absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return int(text) * 1000
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0, round(moment.timestamp() * 1000) - now_ms)


@dataclass(frozen=True, slots=True)
class Policy:
    schedule: Sequence[float] = DEFAULT_SCHEDULE
    jitter: float = 0.2
    disable_after_s: float = DEFAULT_DISABLE_AFTER_S

    def delay_ms(self, attempts_made: int, jitter: Jitter) -> int | None:
        """Milliseconds to wait after `attempts_made` failed attempts; None = give up."""
        if attempts_made < 1 or attempts_made > len(self.schedule):
            return None
        base = self.schedule[attempts_made - 1]
        return max(0, round(base * 1000 * (1 + self.jitter * jitter())))

    def decide(
        self,
        result: SendResult,
        attempts_made: int,
        now_ms: int,
        jitter: Jitter,
        manual: bool = False,
        max_delay_ms: int | None = None,
    ) -> Decision:
        """The delivery's new status and, when it stays pending, its next attempt time:
        at most `max_delay_ms` away when given (an ordered webhook's queue waits for it)."""
        if result.ok:
            return Decision(DeliveryStatus.DELIVERED)
        if result.egress_fault:
            wait = EGRESS_RETRY_S * 1000 * (1 + self.jitter * jitter())
            return Decision(DeliveryStatus.PENDING, now_ms + max(0, round(wait)))
        if result.http_status == 410:
            return Decision(DeliveryStatus.FAILED, disable_reason=GONE_REASON)
        delay = None if manual else self.delay_ms(attempts_made, jitter)
        if delay is None:
            return Decision(DeliveryStatus.FAILED)
        if result.http_status in (429, 503):
            asked = parse_retry_after(result.retry_after, now_ms)
            if asked is not None:
                delay = min(max(asked, delay), 2 * delay)
        if max_delay_ms is not None:
            delay = min(delay, max_delay_ms)
        return Decision(DeliveryStatus.PENDING, now_ms + delay)

    @property
    def disable_after_ms(self) -> int:
        return round(self.disable_after_s * 1000)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One attempt, as the failure clock sees it."""

    at: int
    ok: bool
    disable_reason: str | None = None  # the answer itself disables (410 Gone)
    counts: bool = True  # False: it never reached the endpoint (the proxy failed)


def failure_clock(
    since: int | None, outcomes: Sequence[Outcome], disable_after_ms: int
) -> tuple[int | None, str | None]:
    """A webhook's "failing since" after `outcomes` (in order), and why to disable it, if
    it should be: a success resets the clock, a failure starts it, and failing for
    `disable_after_ms` (or an answer that says so) disables the webhook."""
    reason = None
    for outcome in outcomes:
        if not outcome.counts:
            continue
        if outcome.ok:
            since = None
        elif outcome.disable_reason is not None:
            reason = reason or outcome.disable_reason
        else:
            since = outcome.at if since is None else since
            if reason is None and outcome.at - since >= disable_after_ms:
                reason = disabled_for_failing(since, outcome.at)
    return since, reason


def disabled_for_failing(since_ms: int, now_ms: int) -> str:
    """The reason shown on a webhook disabled after failing for too long."""
    return (
        f"Every delivery attempt failed for {_duration(now_ms - since_ms)}, so webhookd "
        "disabled the webhook. Fix the endpoint, enable the webhook, then recover the failed "
        "deliveries."
    )


def _duration(ms: int) -> str:
    seconds = ms / 1000
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.1f} seconds"


def parse_schedule(spec: str) -> tuple[float, ...]:
    """`WEBHOOKD_RETRY_SCHEDULE`: comma-separated seconds (fractions allowed; empty = no retry)."""
    parts = [part.strip() for part in spec.split(",") if part.strip()]
    try:
        delays = tuple(float(part) for part in parts)
    except ValueError:
        raise ValueError(
            "retry schedule must be comma-separated seconds, such as 5,300,1800"
        ) from None
    if any(not 0 <= delay <= 30 * 86400 for delay in delays):
        raise ValueError("each retry delay must be between 0 and 2592000 seconds (30 days)")
    return delays
