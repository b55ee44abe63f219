"""When to try a delivery again, and when to give up. Pure: time and jitter are passed in.

The first attempt is immediate; attempt k+1 waits `schedule[k-1]` seconds, moved by
up to ±jitter of itself so that a burst of failures does not come back as a burst.
Only a 2xx answer is a success. When the schedule is spent the delivery fails.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from webhookd.domain.models import DeliveryStatus, SendResult

# 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h: about three days in all.
DEFAULT_SCHEDULE: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)

Jitter = Callable[[], float]
"""Returns a number in [-1, 1]; `random.uniform(-1, 1)` in production."""


@dataclass(frozen=True, slots=True)
class Policy:
    schedule: Sequence[float] = DEFAULT_SCHEDULE
    jitter: float = 0.2

    def delay_ms(self, attempts_made: int, jitter: Jitter) -> int | None:
        """Milliseconds to wait after `attempts_made` failed attempts; None = give up."""
        if attempts_made < 1 or attempts_made > len(self.schedule):
            return None
        base = self.schedule[attempts_made - 1]
        return max(0, round(base * 1000 * (1 + self.jitter * jitter())))

    def decide(
        self, result: SendResult, attempts_made: int, now_ms: int, jitter: Jitter
    ) -> tuple[DeliveryStatus, int | None]:
        """The delivery's new status and, when it stays pending, its next attempt time."""
        if result.ok:
            return DeliveryStatus.DELIVERED, None
        delay = self.delay_ms(attempts_made, jitter)
        if delay is None:
            return DeliveryStatus.FAILED, None
        return DeliveryStatus.PENDING, now_ms + delay


def parse_schedule(spec: str) -> tuple[float, ...]:
    """`WEBHOOKD_RETRY_SCHEDULE`: comma-separated seconds (fractions allowed; empty = no retry)."""
    parts = [part.strip() for part in spec.split(",") if part.strip()]
    try:
        delays = tuple(float(part) for part in parts)
    except ValueError:
        raise ValueError(f"retry schedule must be comma-separated seconds, got {spec!r}") from None
    if any(not 0 <= delay <= 30 * 86400 for delay in delays):
        raise ValueError("each retry delay must be between 0 and 2592000 seconds (30 days)")
    return delays
