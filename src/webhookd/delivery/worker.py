"""The delivery loop: claim due deliveries, send each, settle the result.

Claims happen in batches up to the free concurrency; each claimed delivery is sent
in its own task; the settle write is shielded from cancellation so a stop never
loses a result that was already received. With nothing due the worker sleeps until
the store signals new work or the poll interval passes (the backstop).
"""

import asyncio
import contextlib
import logging

from webhookd.domain import clock as clock_
from webhookd.domain import retry, signing
from webhookd.domain.models import Attempt, DeliveryStatus, Job, Settlement
from webhookd.errors import Unavailable
from webhookd.service import USER_AGENT, Transport, default_jitter
from webhookd.store.base import Store

log = logging.getLogger("webhookd.delivery")


class Worker:
    def __init__(
        self,
        store: Store,
        transport: Transport,
        policy: retry.Policy,
        *,
        attempt_timeout: float,
        concurrency: int = 32,
        poll_interval: float = 1.0,
        now: clock_.Clock = clock_.system_clock,
        jitter: retry.Jitter = default_jitter,
    ) -> None:
        self.store = store
        self.transport = transport
        self.policy = policy
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        # The lease outlasts the attempt deadline with room for the settle write.
        self.lease_ms = round((2 * attempt_timeout + 5) * 1000)
        self.now = now
        self.jitter = jitter
        self._inflight: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        """Deliver until `stop()`; then wait for in-flight attempts."""
        backoff = 0.1
        while not self._stopping.is_set():
            free = self.concurrency - len(self._inflight)
            if free <= 0:
                await asyncio.wait(self._inflight, return_when=asyncio.FIRST_COMPLETED)
                continue
            try:
                jobs = await self.store.claim(self.now(), free, self.lease_ms)
            except Unavailable as exc:
                log.warning("claim failed, retrying in %.1f s: %s", backoff, exc.message)
                await self._sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            backoff = 0.1
            if not jobs:
                await self._idle()
                continue
            for job in jobs:
                task = asyncio.create_task(self._process(job))
                self._inflight.add(task)
                task.add_done_callback(self._inflight.discard)
        if self._inflight:
            await asyncio.wait(self._inflight)

    def stop(self) -> None:
        self._stopping.set()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _idle(self) -> None:
        waiter = asyncio.create_task(self.store.wait_for_work(self.poll_interval))
        stopper = asyncio.create_task(self._stopping.wait())
        await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        for task in (waiter, stopper):
            task.cancel()

    async def _process(self, job: Job) -> None:
        settlement = await self._attempt(job)
        try:
            await asyncio.shield(self.store.settle([settlement], self.now()))
        except Unavailable as exc:
            # The lease expires and the delivery is claimed again: at-least-once.
            log.warning("settle of %s failed: %s", job.delivery_id, exc.message)

    async def _attempt(self, job: Job) -> Settlement:
        if not job.webhook_active:
            return Settlement(job, None, DeliveryStatus.FAILED)
        started = self.now()
        headers = signing.delivery_headers(
            secret=job.secret,
            body=job.body,
            delivery_id=job.delivery_id,
            event_type=job.event_type,
            timestamp_s=started // 1000,
            user_agent=USER_AGENT,
        )
        result = await self.transport.post(job.url, job.body, headers)
        attempt_no = job.attempts + 1
        status, next_at = self.policy.decide(result, attempt_no, self.now(), self.jitter)
        log.info(
            "delivery=%s webhook=%s event=%s attempt=%d http_status=%s duration_ms=%d outcome=%s%s",
            job.delivery_id,
            job.webhook_id,
            job.event_type,
            attempt_no,
            result.http_status,
            result.duration_ms,
            status.value,
            f" error={result.error!r}" if result.error else "",
        )
        return Settlement(job, Attempt(job.delivery_id, started, result), status, next_at)
