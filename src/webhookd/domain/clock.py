"""Time as webhookd sees it: integer milliseconds since the Unix epoch, UTC.

Everything that needs "now" takes a `Clock`, so tests can fix or advance time.
"""

import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache

Clock = Callable[[], int]


def system_clock() -> int:
    """Milliseconds since the epoch, from the system's real-time clock."""
    return time.time_ns() // 1_000_000


@lru_cache(maxsize=1024)  # 8 µs a call, and a batch's events all share one millisecond
def iso(ms: int) -> str:
    """`2025-06-01T12:00:00.000Z`: ISO 8601, UTC, milliseconds, `Z`."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
