"""Time as webhookd sees it: integer milliseconds since the Unix epoch, UTC.

Everything that needs "now" takes a `Clock`, so tests can fix or advance time.
"""

import functools
import time
from collections.abc import Callable

Clock = Callable[[], int]


def system_clock() -> int:
    """Milliseconds since the epoch, from the system's real-time clock."""
    return time.time_ns() // 1_000_000


def iso(ms: int) -> str:
    """`2025-06-01T12:00:00.000Z`: ISO 8601, UTC, milliseconds, `Z`."""
    return f"{_second(ms // 1000)}{ms % 1000:03d}Z"


@functools.lru_cache(maxsize=1024)
def _second(seconds: int) -> str:
    """The date and time up to the seconds' dot: every body and response written in
    the same second shares it."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(seconds))
