"""Flow control: how many deliveries each endpoint may have in flight, and how a
token bucket kept in the database refills. Pure: time is passed in.

Per-endpoint windows follow TCP's congestion control. An endpoint starts with a window
of `initial` in flight; each success widens it by one (so a healthy endpoint's window
doubles every round trip, up to `ceiling`); a failure, a timeout, or an attempt in
flight longer than the slow threshold cuts it to 1 at once. An endpoint that hangs
therefore holds one slot, however many deliveries it has queued.

An endpoint is *proven* while its last outcome was a success. Endpoints that are not
(new, failing, or slow) share at most `unproven_share` of a worker's slots, so however
many of them hang, proven endpoints always find room.
"""

from collections import OrderedDict
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from types import MappingProxyType


class Windows:
    def __init__(self, ceiling: int, initial: int = 1, max_endpoints: int = 100_000) -> None:
        self.ceiling = max(1, ceiling)
        self.initial = max(1, min(initial, self.ceiling))
        self.max_endpoints = max_endpoints
        self._window: OrderedDict[str, int] = OrderedDict()  # least recently used first
        self._proven: set[str] = set()

    def cap(self, endpoint: str) -> int:
        return self._window.get(endpoint, self.initial)

    def proven(self, endpoint: str) -> bool:
        return endpoint in self._proven

    @property
    def caps(self) -> Mapping[str, int]:
        """Every endpoint's window (a live read-only view; others have `initial`)."""
        return MappingProxyType(self._window)

    @property
    def proven_endpoints(self) -> AbstractSet[str]:
        """The proven endpoints (a live view: copy it to keep it)."""
        return self._proven

    def succeeded(self, endpoint: str) -> None:
        self._set(endpoint, min(self.ceiling, self.cap(endpoint) + 1))
        self._proven.add(endpoint)

    def failed(self, endpoint: str) -> None:
        """A failed attempt, a timeout, or one in flight too long: back to one at a time."""
        self._set(endpoint, 1)
        self._proven.discard(endpoint)

    def _set(self, endpoint: str, window: int) -> None:
        self._window.pop(endpoint, None)
        self._window[endpoint] = window
        while len(self._window) > self.max_endpoints:
            forgotten, _ = self._window.popitem(last=False)
            self._proven.discard(forgotten)


@dataclass(frozen=True, slots=True)
class Bucket:
    """A per-endpoint rate limit of `rate` deliveries a second, with bursts of a tenth of
    a second's worth (at least 1), so a limit of 5/s sends one every 0.2 s."""

    rate: int

    @property
    def burst(self) -> float:
        return max(1.0, self.rate / 10)

    def tokens(self, tokens: float | None, at: int | None, now_ms: int) -> float:
        """The tokens at `now_ms`, from what was left at `at` (None: a full bucket)."""
        if tokens is None or at is None:
            return self.burst
        return min(self.burst, tokens + max(0, now_ms - at) * self.rate / 1000)

    def next_token_at(self, tokens: float, now_ms: int) -> int:
        """When the bucket, holding `tokens` now, next holds a whole one."""
        if tokens >= 1:
            return now_ms
        return now_ms + max(1, int((1 - tokens) * 1000 / self.rate) + 1)
