"""Token buckets, one per key (a tenant, an ingest key). Pure: time is passed in.

A bucket holds up to `burst` tokens and refills at `rate` per second; each request
takes one. When it is empty the answer is how long until a token is back, for the
`Retry-After` header. Idle buckets are forgotten (least recently used first) so the
table stays small whatever the number of keys.
"""

import math
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limit:
    rate: float  # tokens per second; 0 = unlimited
    burst: int

    @classmethod
    def parse(cls, spec: str) -> "Limit":
        """`20/100` = 20 per second with bursts of 100; `20` = bursts of 20; `0` = off."""
        rate_text, _, burst_text = spec.partition("/")
        try:
            rate = float(rate_text)
            burst = int(burst_text) if burst_text else max(1, math.ceil(rate))
        except ValueError:
            raise ValueError("must be RATE or RATE/BURST, such as 20/100 (0 = no limit)") from None
        if rate < 0 or burst < 1:
            raise ValueError("rate must be >= 0 and burst >= 1")
        return cls(rate, burst)


class Buckets:
    def __init__(self, limit: Limit, max_keys: int = 10_000) -> None:
        self.limit = limit
        self.max_keys = max_keys
        self._state: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key: (tokens, at)

    def take(self, key: str, now: float) -> float:
        """0 when allowed; otherwise the seconds until a token is back."""
        if self.limit.rate <= 0:
            return 0.0
        tokens, at = self._state.pop(key, (float(self.limit.burst), now))
        tokens = min(float(self.limit.burst), tokens + (now - at) * self.limit.rate)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.limit.rate
        self._state[key] = (tokens, now)
        while len(self._state) > self.max_keys:
            self._state.popitem(last=False)
        return wait
