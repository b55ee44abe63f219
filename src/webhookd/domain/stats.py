"""Delivery statistics of one webhook over a window: time buckets of outcomes and attempt
latency. Pure: the store hands in counts, grouped by bucket, and this shapes them.

Windows end with the bucket that holds "now": `24h` is 24 hourly buckets, `7d` and `30d`
are daily buckets (UTC). A delivery falls in the bucket of its creation; its attempts in
the buckets in which they were made. The success rate is delivered / (delivered +
failed): deliveries still retrying have not ended yet.
"""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
WINDOWS: dict[str, tuple[int, int]] = {"24h": (24, HOUR_MS), "7d": (7, DAY_MS), "30d": (30, DAY_MS)}


@dataclass(frozen=True, slots=True)
class Window:
    name: str
    start: int  # epoch ms, the first bucket's start
    size: int  # ms per bucket
    count: int  # buckets

    @property
    def end(self) -> int:
        return self.start + self.size * self.count


def window(name: str, now_ms: int) -> Window:
    """The window called `name` that ends with the bucket holding `now_ms`; ValueError
    for a name not in WINDOWS."""
    if name not in WINDOWS:
        raise ValueError(f"window must be one of {', '.join(WINDOWS)}")
    count, size = WINDOWS[name]
    end = (now_ms // size + 1) * size
    return Window(name, end - count * size, size, count)


@dataclass(slots=True)
class Bucket:
    start: int
    delivered: int = 0
    failed: int = 0
    retrying: int = 0  # pending after at least one failed attempt
    pending: int = 0  # not attempted yet
    attempts: int = 0
    p50_ms: int | None = None
    p95_ms: int | None = None


@dataclass(slots=True)
class Stats:
    window: Window
    buckets: list[Bucket]
    delivered: int = 0
    failed: int = 0
    retrying: int = 0
    pending: int = 0
    attempts: int = 0
    p50_ms: int | None = None
    p95_ms: int | None = None
    last_success_at: int | None = None
    last_failure_at: int | None = None
    latencies: dict[int, int] = field(default_factory=dict)  # ms -> attempts, the window's

    @property
    def success_rate(self) -> float | None:
        ended = self.delivered + self.failed
        return None if ended == 0 else self.delivered / ended


def percentile(histogram: Mapping[int, int], p: float) -> int | None:
    """The nearest-rank `p` percentile (0 < p <= 1) of values counted in `histogram`."""
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(p * total))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return max(histogram)  # not reached


def summarize(
    w: Window,
    counts: Iterable[tuple[int, str, bool, int]],
    latencies: Iterable[tuple[int, int, int]],
) -> Stats:
    """`counts`: (bucket, status, attempted, deliveries); `latencies`: (bucket, ms,
    attempts). Rows outside the window's buckets are ignored."""
    buckets = [Bucket(w.start + i * w.size) for i in range(w.count)]
    stats = Stats(w, buckets)
    for index, status, tried, n in counts:
        if not 0 <= index < w.count:
            continue
        b = buckets[index]
        if status == "delivered":
            b.delivered += n
        elif status == "failed":
            b.failed += n
        elif tried:
            b.retrying += n
        else:
            b.pending += n
    per_bucket: list[dict[int, int]] = [{} for _ in buckets]
    for index, ms, n in latencies:
        if 0 <= index < w.count:
            per_bucket[index][ms] = per_bucket[index].get(ms, 0) + n
            stats.latencies[ms] = stats.latencies.get(ms, 0) + n
    for b, histogram in zip(buckets, per_bucket, strict=True):
        b.attempts = sum(histogram.values())
        b.p50_ms, b.p95_ms = percentile(histogram, 0.5), percentile(histogram, 0.95)
        stats.delivered += b.delivered
        stats.failed += b.failed
        stats.retrying += b.retrying
        stats.pending += b.pending
    stats.attempts = sum(stats.latencies.values())
    stats.p50_ms = percentile(stats.latencies, 0.5)
    stats.p95_ms = percentile(stats.latencies, 0.95)
    return stats
