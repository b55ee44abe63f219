"""The delivery loop: claim due deliveries, send each, settle the result.

Claims happen in batches up to the free concurrency. Retries may use at most
`concurrency - reserved_first` slots, so fresh events always find room; no webhook
gets more than `per_webhook` deliveries in flight, so one slow endpoint cannot take
every slot. Each claimed delivery is sent in its own task; the settle write is
shielded from cancellation so a stop never loses a result already received. With
nothing due the worker sleeps until the store signals new work or the poll interval
passes (the backstop). Old finished events are purged in the background.
"""

import asyncio
import contextlib
import logging
from collections import Counter
from dataclasses import dataclass

from webhookd.domain import clock as clock_
from webhookd.domain import retry
from webhookd.domain.models import Attempt, DeliveryStatus, Job, Settlement
from webhookd.errors import Unavailable
from webhookd.metrics import Metrics
from webhookd.sealing import Sealer
from webhookd.service import Transport, default_jitter, open_secrets, signed_headers
from webhookd.store.base import ClaimRequest, Store

log = logging.getLogger("webhookd.delivery")
OUTCOMES = {
    DeliveryStatus.DELIVERED: "delivered",
    DeliveryStatus.PENDING: "retry",
    DeliveryStatus.FAILED: "failed",
}


@dataclass(frozen=True, slots=True)
class Limits:
    attempt_timeout: float = 15.0
    concurrency: int = 32
    per_webhook: int = 8
    reserved_first: int = 8  # slots retries may not use
    poll_interval: float = 1.0
    retention_ms: int = 30 * 86_400_000
    purge_every: float = 3600.0
    purge_batch: int = 1000

    @property
    def lease_ms(self) -> int:
        """The lease outlasts the attempt deadline, with room for the settle write."""
        return round((2 * self.attempt_timeout + 5) * 1000)


class Worker:
    def __init__(
        self,
        store: Store,
        transport: Transport,
        policy: retry.Policy,
        limits: Limits,
        *,
        sealer: Sealer,
        now: clock_.Clock = clock_.system_clock,
        jitter: retry.Jitter = default_jitter,
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.transport = transport
        self.policy = policy
        self.limits = limits
        self.sealer = sealer
        self.now = now
        self.jitter = jitter
        self.metrics = metrics or Metrics(queue=False)
        self._inflight: dict[asyncio.Task[None], Job] = {}
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        """Deliver until `stop()`; then let in-flight attempts finish (each has a deadline)."""
        purger = asyncio.create_task(self._purge_forever())
        backoff = 0.1
        try:
            while not self._stopping.is_set():
                request = self._claim_request()
                if request.slots <= 0:
                    await self._wait_for_a_slot()
                    continue
                try:
                    jobs = await self.store.claim(request)
                except Exception as exc:  # the loop must outlive any one failure
                    if isinstance(exc, Unavailable):
                        log.warning("claim failed, retrying in %.1f s: %s", backoff, exc.message)
                    else:
                        log.exception("claim failed, retrying in %.1f s", backoff)
                    await self._sleep(backoff)
                    backoff = min(backoff * 2, 10.0)
                    continue
                backoff = 0.1
                if not jobs:
                    await self._idle()
                for job in jobs:
                    task = asyncio.create_task(self._process(job))
                    self._inflight[task] = job
                    task.add_done_callback(self._inflight.pop)
        finally:
            purger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await purger
            if self._inflight:
                await asyncio.wait(list(self._inflight))

    def stop(self) -> None:
        self._stopping.set()

    def _claim_request(self) -> ClaimRequest:
        jobs = list(self._inflight.values())
        retries = sum(1 for job in jobs if job.attempts > 0)
        free = self.limits.concurrency - len(jobs)
        retry_room = self.limits.concurrency - self.limits.reserved_first - retries
        return ClaimRequest(
            now_ms=self.now(),
            lease_ms=self.limits.lease_ms,
            slots=free,
            retry_slots=max(0, min(free, retry_room)),
            per_webhook=self.limits.per_webhook,
            busy=Counter(job.webhook_id for job in jobs),
        )

    async def _wait_for_a_slot(self) -> None:
        stopper = asyncio.create_task(self._stopping.wait())
        await asyncio.wait([*self._inflight, stopper], return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _idle(self) -> None:
        """Until new work is signalled, a slot frees, the poll interval passes, or stop."""
        waiter = asyncio.create_task(self.store.wait_for_work(self.limits.poll_interval))
        stopper = asyncio.create_task(self._stopping.wait())
        await asyncio.wait({waiter, stopper, *self._inflight}, return_when=asyncio.FIRST_COMPLETED)
        for task in (waiter, stopper):
            task.cancel()

    async def _process(self, job: Job) -> None:
        try:
            settlement = await self._attempt(job)
            await asyncio.shield(self.store.settle([settlement], self.policy.disable_after_ms))
        except Unavailable as exc:
            # The lease expires and the delivery is claimed again: at-least-once.
            log.warning("settle of %s failed: %s", job.delivery_id, exc.message)
        except Exception:
            log.exception("delivery %s failed unexpectedly; it is retried when its lease ends",
                          job.delivery_id)  # fmt: skip

    async def _attempt(self, job: Job) -> Settlement:
        if not job.webhook_active:
            log.info("delivery=%s webhook=%s outcome=failed reason=webhook-disabled",
                     job.delivery_id, job.webhook_id)  # fmt: skip
            return Settlement(job, None, DeliveryStatus.FAILED)
        started = self.now()
        secrets = open_secrets(self.sealer, job.secret, job.old_secrets, started)
        headers = signed_headers(secrets, job.body, job.delivery_id, job.event_type, started)
        result = await self.transport.post(job.url, job.body, headers)
        attempt_no = job.attempts + 1
        decision = self.policy.decide(result, attempt_no, self.now(), self.jitter, job.manual)
        outcome = OUTCOMES[decision.status]
        self.metrics.attempt(outcome, result.duration_ms)
        fields = {
            "delivery_id": job.delivery_id, "webhook_id": job.webhook_id,
            "event_type": job.event_type, "attempt": attempt_no, "http_status": result.http_status,
            "duration_ms": result.duration_ms, "outcome": outcome, "error": result.error,
        }  # fmt: skip
        log.info(
            "delivery=%s webhook=%s event=%s attempt=%d http_status=%s duration_ms=%d outcome=%s%s",
            job.delivery_id, job.webhook_id, job.event_type, attempt_no, result.http_status,
            result.duration_ms, outcome, f" error={result.error!r}" if result.error else "",
            extra=fields,
        )  # fmt: skip
        return Settlement(
            job,
            Attempt(job.delivery_id, started, result, headers),
            decision.status,
            decision.next_attempt_at,
            decision.disable_reason,
        )

    async def _purge_forever(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.purge_once()
            except Unavailable as exc:
                log.warning("retention purge failed: %s", exc.message)
            await self._sleep(self.limits.purge_every)

    async def purge_once(self) -> int:
        """Purge finished events older than the retention, batch by batch; how many."""
        before = self.now() - self.limits.retention_ms
        total = 0
        while not self._stopping.is_set():
            removed = await self.store.purge(before, self.limits.purge_batch)
            total += removed
            if removed < self.limits.purge_batch:
                break
            await asyncio.sleep(0.05)  # let claims and API writes in between batches
        if total:
            log.info("retention purge removed %d events older than %d days",
                     total, self.limits.retention_ms // 86_400_000)  # fmt: skip
        return total
