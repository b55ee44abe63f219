"""The delivery loop: claim due deliveries, send each, settle the result.

Claims happen in batches: the worker claims again once a sixteenth of its slots are free
(or when it has nothing in flight), so under load one claim transaction serves many
deliveries, and the slots stay nearly full. Retries may use at most `concurrency -
reserved_first` slots, so fresh events always find room. Each endpoint has a window of
deliveries in flight that widens with its successes up to `per_webhook` and drops to 1
on a failure or an attempt in flight longer than `slow_after` (domain/flow.py);
endpoints whose last outcome was not a success share at most `unproven_share` of the
slots, so however many endpoints hang, healthy ones keep their pace. Each claimed
delivery is sent in its own task. Results are settled by group commit (`Settler`): those
that arrive within a few milliseconds of each other, up to `settle_batch`, are written
in one transaction, each still guarded by its lease token; the write is shielded from
cancellation, and a delivery keeps its slot until its result is committed, so a stop
never loses a result already received. With nothing due the worker sleeps until the
store signals new work, a retry it scheduled itself comes due, or the poll interval
passes (the backstop; with `idle_backoff` > 1 the backstop doubles while nothing turns
up, up to that many poll intervals). Old finished events are purged in the background.
"""

import asyncio
import contextlib
import heapq
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from webhookd.delivery.turns import Turns
from webhookd.domain import clock as clock_
from webhookd.domain import flow, operator, retry
from webhookd.domain.circuit import DEFAULT_BREAKER, Breaker
from webhookd.domain.models import Attempt, DeliveryStatus, Job, Settlement
from webhookd.errors import Unavailable
from webhookd.metrics import Metrics
from webhookd.outbound import (
    Target,
    Tokens,
    Transport,
    default_jitter,
    open_secrets,
    send,
    signed_headers,
)
from webhookd.sealing import Sealer
from webhookd.store.base import ClaimRequest
from webhookd.store.engine import Store

log = logging.getLogger("webhookd.delivery")
OUTCOMES = {
    DeliveryStatus.DELIVERED: "delivered",
    DeliveryStatus.PENDING: "retry",
    DeliveryStatus.FAILED: "failed",
}


@dataclass(frozen=True, slots=True)
class Limits:
    attempt_timeout: float = 15.0
    concurrency: int = 512
    per_webhook: int = 64  # the widest an endpoint's window grows
    reserved_first: int = 64  # slots retries may not use
    slow_after: float = 5.0  # an attempt in flight this long cuts its endpoint's window
    unproven_share: float = 0.5  # of the slots, for endpoints not proven healthy
    poll_interval: float = 1.0
    retention_ms: int = 30 * 86_400_000
    purge_every: float = 3600.0
    purge_batch: int = 1000
    settle_batch: int = 100  # results written in one transaction at most
    settle_delay: float = 0.0  # how long a result waits for others to share its commit
    idle_backoff: int = 1  # the idle backstop grows up to this many poll intervals
    burst_per_turn: int = 16  # unproven attempts begun (or failed ones ended) per loop turn
    unproven_per_claim: int = 32  # unproven endpoints' deliveries leased per claim at most
    fifo_max_delay_ms: int = 300_000  # the longest retry delay of an ordered webhook's head

    @property
    def claim_at(self) -> int:
        """Free slots needed before claiming again while deliveries are in flight. A
        sixteenth (32 of 512): against endpoints answering in 100 ms, waiting for a
        quarter kept 331 requests at the endpoints on average, a sixteenth 367
        (docs/performance.md, "Seventh round")."""
        return max(1, self.concurrency // 16)

    @property
    def lease_ms(self) -> int:
        """The lease outlasts the attempt deadline, with room for the settle write."""
        return round((2 * self.attempt_timeout + 5) * 1000)


class Settler:
    """Group commit of settles. While a write is under way, new results gather for the
    next one (up to `batch` per write); with none under way, a result is written after
    `delay` seconds (0: on the next turn of the event loop, with whatever else came in
    that turn). So a lone result is not held back, and under load every transaction
    carries many. `settle` returns once the
    result is committed (or raises what the write raised); cancelling the caller
    does not cancel the write."""

    def __init__(
        self,
        store: Store,
        disable_after_ms: int,
        batch: int,
        delay: float,
        breaker: Breaker = DEFAULT_BREAKER,
    ) -> None:
        self.store = store
        self.disable_after_ms = disable_after_ms
        self.breaker = breaker
        self.batch = batch
        self.delay = delay
        self._waiting: list[tuple[Settlement, asyncio.Future[None]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._writes: set[asyncio.Task[None]] = set()

    async def settle(self, settlement: Settlement) -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._waiting.append((settlement, done))
        if len(self._waiting) >= self.batch:
            self._write()
        elif self._timer is None and not self._writes:
            self._timer = loop.call_later(self.delay, self._write)
        await asyncio.shield(done)

    def _write(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._waiting = self._waiting[: self.batch], self._waiting[self.batch :]
        if not batch:
            return
        task = asyncio.create_task(self._commit(batch))
        self._writes.add(task)
        task.add_done_callback(self._written)

    def _written(self, task: asyncio.Task[None]) -> None:
        self._writes.discard(task)
        if self._waiting and self._timer is None:
            self._write()  # they waited for the write under way: no need to wait more

    async def _commit(self, batch: Sequence[tuple[Settlement, asyncio.Future[None]]]) -> None:
        try:
            await self.store.settle([s for s, _ in batch], self.disable_after_ms, self.breaker)
        except Unavailable as exc:
            self._fail(batch, exc)  # the database is away: every result waits for its lease
        except Exception as exc:
            if len(batch) == 1:
                self._fail(batch, exc)
                return
            # One bad result must not roll back everyone else's: settle them one by one.
            for one in batch:
                await self._commit([one])
        else:
            for _, done in batch:
                if not done.done():
                    done.set_result(None)

    @staticmethod
    def _fail(batch: Sequence[tuple[Settlement, asyncio.Future[None]]], exc: Exception) -> None:
        for _, done in batch:
            if not done.done():
                done.set_exception(exc)
                done.exception()  # read here: a caller that was cancelled never will


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
        breaker: Breaker = DEFAULT_BREAKER,
        tokens: Tokens | None = None,
        operator_transport: Transport | None = None,
    ) -> None:
        self.store = store
        self.transport = transport
        self.tokens = tokens  # OAuth2 tokens of this process (outbound.Tokens)
        # The operator's webhook (domain/operator.py) is sent through this one: its URL
        # is trusted configuration, which may be on a private network.
        self.operator_transport = operator_transport or transport
        self.policy = policy
        self.limits = limits
        self.sealer = sealer
        self.now = now
        self.jitter = jitter
        self.metrics = metrics or Metrics(queue=False)
        self._inflight: dict[asyncio.Task[None], Job] = {}  # until the result is committed
        self._sending: dict[str, Job] = {}  # by delivery id: until the answer is in
        self._started: dict[str, int] = {}  # by delivery id: when its send began
        self.windows = flow.Windows(limits.per_webhook)
        self._freed = asyncio.Event()  # a send ended, or a result was committed
        self._frees = 0  # how many times: a wait compares it with what its claim saw
        self._stopping = asyncio.Event()
        self._settler = Settler(
            store, policy.disable_after_ms, limits.settle_batch, limits.settle_delay, breaker
        )
        self._opened: dict[str, str] = {}  # sealed secret -> plaintext (opening costs ~20 µs)
        self._retries: list[int] = []  # a heap: when the retries this worker scheduled are due
        self._constrained = False  # the last claim left due work behind (full lanes)
        self._empty_polls = 0
        # Unproven endpoints' attempts begin, and failed ones end, a slice per loop turn:
        # one tenant's burst must not hold the loop that serves everyone else.
        self._turns = Turns(limits.burst_per_turn)

    async def run(self) -> None:
        """Deliver until `stop()`; then let in-flight attempts finish (each has a deadline)."""
        purger = asyncio.create_task(self._purge_forever())
        backoff = 0.1
        try:
            while not self._stopping.is_set():
                seen = self._frees
                request = self._claim_request()
                if request.slots < (self.limits.claim_at if self._inflight else 1):
                    await self._wait_for_a_slot(seen)
                    continue
                # Judged on the request as sent: windows read through a live view may
                # widen while the claim awaits, and an empty claim made at full windows
                # must still wait for a freed slot, not for the poll backstop.
                constrained = self._limited(request)
                # The successor of an ordered webhook's head is claimable once the head's
                # result commits, which may happen while this claim runs: if one was in
                # flight as it began, an empty claim waits for a freed slot, not the poll.
                ordered = any(job.fifo for job in self._inflight.values())
                try:
                    claimed = await self.store.claim(request)
                except Exception as exc:  # the loop must outlive any one failure
                    if isinstance(exc, Unavailable):
                        log.warning("claim failed, retrying in %.1f s: %s", backoff, exc.message)
                    else:
                        log.exception("claim failed, retrying in %.1f s", backoff)
                    await self._sleep(backoff)
                    backoff = min(backoff * 2, 10.0)
                    continue
                backoff = 0.1
                jobs = claimed.jobs
                if claimed.wake_at is not None and len(self._retries) < 10_000:
                    heapq.heappush(self._retries, claimed.wake_at)
                self._constrained = constrained or ordered
                if not jobs:
                    await self._idle(seen)
                    continue
                self._empty_polls = 0
                started = self.now()
                for job in jobs:
                    self._sending[job.delivery_id] = job
                    self._started[job.delivery_id] = started
                    task = asyncio.create_task(self._process(job))
                    self._inflight[task] = job
                    task.add_done_callback(self._done)
                # Let them start, and the loop serve everyone else, before the next claim
                # (a claim on SQLite runs on the loop without a pause of its own).
                await asyncio.sleep(0)
        finally:
            purger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await purger
            if self._inflight:
                await asyncio.wait(list(self._inflight))

    def stop(self) -> None:
        self._stopping.set()

    def _done(self, task: "asyncio.Task[None]") -> None:
        self._inflight.pop(task)
        self._free()

    def _free(self) -> None:
        self._frees += 1
        self._freed.set()

    def _claim_request(self) -> ClaimRequest:
        """Slots are counted in requests under way: a delivery whose answer is in and
        whose result waits for its commit no longer takes one (up to as many again). An
        endpoint with an attempt in flight longer than `slow_after` is cut to one at a
        time here, before its attempt ends."""
        now = self.now()
        slow_before = now - round(self.limits.slow_after * 1000)
        jobs = list(self._sending.values())
        for job in jobs:
            if self._started.get(job.delivery_id, now) < slow_before:
                self.windows.failed(job.webhook_id)
        retries = sum(1 for job in jobs if job.attempts > 0)
        free = min(
            self.limits.concurrency - len(jobs), 2 * self.limits.concurrency - len(self._inflight)
        )
        retry_room = self.limits.concurrency - self.limits.reserved_first - retries
        proven = self.windows.proven_endpoints
        unproven = sum(1 for job in jobs if job.webhook_id not in proven)
        return ClaimRequest(
            now_ms=now,
            lease_ms=self.limits.lease_ms,
            slots=free,
            retry_slots=max(0, min(free, retry_room)),
            per_webhook=self.limits.per_webhook,
            # The head of an ordered webhook's queue takes no room in its window: the claim
            # gives no second one anyway, and a resend by hand goes out of order at once.
            busy=Counter(job.webhook_id for job in jobs if not job.fifo or job.manual),
            caps=self.windows.caps,
            default_cap=self.windows.initial,
            # A claim leases at most a slice of unproven endpoints' work: on SQLite it runs
            # on the event loop, and leasing one delivery for each of 200 endpoints whose
            # attempts just timed out held the loop 46 ms (measured); the next claim,
            # a loop turn later, takes the next slice.
            unproven_slots=max(
                0, min(self._unproven_cap - unproven, self.limits.unproven_per_claim)
            ),
            proven=proven,
        )

    @property
    def _unproven_cap(self) -> int:
        return max(1, int(self.limits.concurrency * self.limits.unproven_share))

    def _limited(self, request: ClaimRequest) -> bool:
        """Whether the claim's own limits may have left due work behind: a webhook at its
        cap, the retry lane narrowed by retries in flight, or the lane of unproven
        endpoints full. Only then can a freed slot make something claimable; otherwise
        an empty claim means nothing is due."""
        retry_cap = min(request.slots, self.limits.concurrency - self.limits.reserved_first)
        return (
            request.retry_slots < retry_cap
            or request.unproven_slots == 0
            or any(n >= request.cap(w) for w, n in request.busy.items())
        )

    async def _wait_for_a_slot(self, seen: int) -> None:
        """Until a slot frees (at once if one freed since the request was made: a wait
        that only cleared the event would miss it), or stop."""
        if self._frees != seen:
            return
        self._freed.clear()
        freed = asyncio.create_task(self._freed.wait())
        stopper = asyncio.create_task(self._stopping.wait())
        await asyncio.wait([freed, stopper], return_when=asyncio.FIRST_COMPLETED)
        for task in (freed, stopper):
            task.cancel()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _idle(self, seen: int) -> None:
        """Until new work is signalled, a retry of ours comes due, the backstop passes, or
        stop; also when a slot frees, if the last claim left work behind for lack of one
        (at once if one freed while the claim ran: measured, missing that wake-up left
        a starting drain idle for a whole poll interval, twice)."""
        if self._constrained and self._frees != seen:
            return
        backstop = self.limits.poll_interval * min(
            2**self._empty_polls, max(1, self.limits.idle_backoff)
        )
        self._empty_polls += 1
        now = self.now()
        while self._retries and self._retries[0] <= now:
            heapq.heappop(self._retries)
        if self._retries:
            backstop = min(backstop, (self._retries[0] - now) / 1000)
        self._freed.clear()
        waiters = [
            asyncio.create_task(self.store.wait_for_work(backstop)),
            asyncio.create_task(self._stopping.wait()),
        ]
        if self._constrained:
            waiters.append(asyncio.create_task(self._freed.wait()))
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for task in waiters:
            task.cancel()

    async def _process(self, job: Job) -> None:
        try:
            try:
                settlement = await self._attempt(job)
            finally:
                del self._sending[job.delivery_id]
                self._started.pop(job.delivery_id, None)
                self._free()
            await self._settler.settle(settlement)
            due = settlement.next_attempt_at
            if settlement.status is DeliveryStatus.PENDING and due and len(self._retries) < 10_000:
                heapq.heappush(self._retries, due)
        except Unavailable as exc:
            # The lease expires and the delivery is claimed again: at-least-once.
            log.warning("settle of %s failed: %s", job.delivery_id, exc.message)
        except Exception:
            log.exception(
                "delivery %s failed unexpectedly; it is retried when its lease ends",
                job.delivery_id,
            )

    async def _attempt(self, job: Job) -> Settlement:
        if not job.webhook_active:
            log.info(
                "delivery=%s webhook=%s outcome=failed reason=webhook-disabled",
                job.delivery_id,
                job.webhook_id,
            )
            return Settlement(job, None, DeliveryStatus.FAILED)
        unproven = not self.windows.proven(job.webhook_id)
        if unproven:
            await self._turns.take()  # a burst of first attempts: a slice per loop turn
        started = self.now()
        secrets = [self._open(job.secret)] + [
            self._open(old.sealed) for old in job.old_secrets if old.until > started
        ]
        signed = signed_headers(secrets, job.body, job.delivery_id, job.event_type, started)
        target = Target(job.webhook_id, job.url, job.headers, job.auth)
        transport = (
            self.operator_transport if job.webhook_id == operator.WEBHOOK_ID else self.transport
        )
        result, headers = await send(transport, self.tokens, self._open, target, job.body, signed)
        if unproven and not result.ok:
            await self._turns.take()  # hundreds of timeouts due at once: a slice per turn
        if result.ok:
            self.windows.succeeded(job.webhook_id)
        elif not result.egress_fault:  # the proxy's failure says nothing of the endpoint
            self.windows.failed(job.webhook_id)
        attempt_no = job.attempts + 1
        decision = self.policy.decide(
            result,
            attempt_no,
            self.now(),
            self.jitter,
            job.manual,
            self.limits.fifo_max_delay_ms if job.fifo else None,
        )
        outcome = OUTCOMES[decision.status]
        self.metrics.attempt(outcome, result.duration_ms)
        fields = {
            "delivery_id": job.delivery_id,
            "webhook_id": job.webhook_id,
            "event_type": job.event_type,
            "attempt": attempt_no,
            "http_status": result.http_status,
            "duration_ms": result.duration_ms,
            "outcome": outcome,
            "error": result.error,
        }
        log.info(
            "delivery=%s webhook=%s event=%s attempt=%d http_status=%s duration_ms=%d outcome=%s%s",
            job.delivery_id,
            job.webhook_id,
            job.event_type,
            attempt_no,
            result.http_status,
            result.duration_ms,
            outcome,
            f" error={result.error!r}" if result.error else "",
            extra=fields,
        )
        return Settlement(
            job,
            Attempt(job.delivery_id, started, result, headers),
            decision.status,
            decision.next_attempt_at,
            decision.disable_reason,
        )

    def _open(self, sealed: str) -> str:
        plain = self._opened.get(sealed)
        if plain is None:
            if len(self._opened) >= 4096:
                self._opened.clear()
            plain = self._opened[sealed] = open_secrets(self.sealer, sealed, (), 0)[0]
        return plain

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
            log.info(
                "retention purge removed %d events older than %d days",
                total,
                self.limits.retention_ms // 86_400_000,
            )
        return total
