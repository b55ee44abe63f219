"""The circuit breaker of one endpoint, and the health a webhook shows. Pure: time is
passed in.

- An attempt that got no answer (timeout, refused connection, DNS or TLS error) or an
  answer of 5xx or 429 is a *breaker failure*. Any other answer (2xx, and 4xx: the
  endpoint is reachable, the request is the problem) closes the circuit.
- After `failures` breaker failures in a row the circuit opens: the endpoint's due
  deliveries are not attempted and keep their place and their attempt count, so
  waiting costs them nothing of their retry schedule.
- When the cool-down has passed the circuit is half-open: one delivery is sent as a
  probe. A probe that succeeds closes the circuit; one that fails opens it again with
  twice the cool-down (up to `max_cooldown_ms`).
- Results of attempts already in flight when the circuit opened count as failures but
  do not reopen it; a success among them closes it.
- An attempt that failed in webhookd's own egress (`SendResult.egress_fault`: the proxy)
  never reached the endpoint, and leaves its circuit as it was.
"""

from dataclasses import dataclass

from webhookd.domain.models import Circuit, SendResult

CLOSED = Circuit()


@dataclass(frozen=True, slots=True)
class Breaker:
    failures: int = 5  # 0: the breaker is off
    cooldown_ms: int = 30_000
    max_cooldown_ms: int = 600_000

    def cooldown(self, trips: int) -> int:
        """The cool-down after the `trips`-th opening in a row: doubled each time."""
        return min(self.max_cooldown_ms, self.cooldown_ms << min(max(trips - 1, 0), 30))

    def after(self, circuit: Circuit, result: SendResult, now_ms: int, probe: bool) -> Circuit:
        """The circuit once `result` is in; `probe` says the attempt was the half-open one."""
        if result.egress_fault:
            return circuit
        if not is_breaker_failure(result):
            return CLOSED
        failures = circuit.failures + 1
        if self.failures <= 0:
            return Circuit(failures, 0, None)
        if probe or (circuit.until is None and failures >= self.failures):
            trips = circuit.trips + 1
            return Circuit(failures, trips, now_ms + self.cooldown(trips))
        return Circuit(failures, circuit.trips, circuit.until)


DEFAULT_BREAKER = Breaker()


def is_breaker_failure(result: SendResult) -> bool:
    status = result.http_status
    return status is None or status >= 500 or status == 429


@dataclass(frozen=True, slots=True)
class Health:
    """What a webhook response shows under `health`."""

    status: str  # "healthy", "failing" or "paused" (its circuit is open)
    failing_since: int | None
    consecutive_failures: int
    next_probe_at: int | None


def health(circuit: Circuit, failing_since: int | None) -> Health:
    if circuit.until is not None:
        return Health("paused", failing_since, circuit.failures, circuit.until)
    status = "failing" if failing_since is not None or circuit.failures else "healthy"
    return Health(status, failing_since, circuit.failures, None)
