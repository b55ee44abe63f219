"""In-memory stand-ins for what the worker talks to: its side of the Store, a Transport
and a clock. No I/O and no wall time: each fake records what it was asked and lets a
test await a condition on that (`Changes.until`), and the test decides when each claim,
send and write ends.
"""

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, NoReturn, TypeVar

from webhookd.domain.circuit import DEFAULT_BREAKER, Breaker
from webhookd.domain.models import Job, SendResult, Settlement
from webhookd.store.base import Claimed, ClaimRequest
from webhookd.store.engine import Store
from webhookd.store.programs import Program

HANG = 5.0  # seconds: only so a test that would hang fails instead; nothing waits this long
OK = SendResult(200, None, 3)
T = TypeVar("T")


async def finished(awaitable: Awaitable[T], what: str) -> T:
    """`await awaitable`, failing (not hanging) if it never ends."""
    try:
        async with asyncio.timeout(HANG):
            return await awaitable
    except TimeoutError:
        raise AssertionError(f"{what} never ended") from None


class Changes:
    """Awaits a condition on a fake's state, re-checked each time the fake changes."""

    def __init__(self) -> None:
        self._changed = asyncio.Event()

    def note(self) -> None:
        self._changed.set()

    async def until(self, condition: Callable[[], bool], what: str) -> None:
        try:
            async with asyncio.timeout(HANG):
                while not condition():
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(f"still waiting for {what}") from None


class Clock:
    """Epoch milliseconds that move only when the test says."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


class FakeStore(Store):
    """What a worker asks of a Store: the real Store (engine.py) with the worker's
    operations in memory; any other operation fails, naming the program it would run.
    Each claim waits until the test answers it (`answer`), so the worker's loop moves in
    step with the test; settles commit at once unless writes are held, and fail with
    what `refuse` returns for their batch. `wait_for_work` returns only when the test
    signals work (no poll backstop)."""

    def __init__(self) -> None:
        self.changes = Changes()
        self.claims: list[ClaimRequest] = []  # every claim request, in order
        self._claims_seen = 0
        self._answers: asyncio.Queue[Claimed] = asyncio.Queue()
        self._answering = True
        self.writes: list[list[Settlement]] = []  # every settle batch, as its write began
        self.committed: list[list[Settlement]] = []
        self.refuse: Callable[[Sequence[Settlement]], Exception | None] = lambda batch: None
        self._writes_open = asyncio.Event()
        self._writes_open.set()
        self._work = asyncio.Event()

    # what the worker calls
    async def claim(self, request: ClaimRequest) -> Claimed:
        self.claims.append(request)
        self.changes.note()
        if not self._answering:
            return Claimed([])
        return await self._answers.get()

    async def settle(
        self,
        settlements: Sequence[Settlement],
        disable_after_ms: int,
        breaker: Breaker = DEFAULT_BREAKER,
    ) -> int:
        batch = list(settlements)
        self.writes.append(batch)
        self.changes.note()
        await self._writes_open.wait()
        error = self.refuse(batch)
        if error is not None:
            raise error
        self.committed.append(batch)
        self.changes.note()
        return len(batch)

    async def wait_for_work(self, timeout: float) -> None:
        await self._work.wait()
        self._work.clear()

    async def purge(self, before_ms: int, batch: int) -> int:
        return 0

    # what the worker never calls: the abstract rest, and every program the real Store runs
    async def open(self) -> None:
        _not_the_workers("open")

    async def close(self) -> None:
        _not_the_workers("close")

    async def ping(self) -> None:
        _not_the_workers("ping")

    async def run(
        self,
        program: Program[T],
        *,
        write: bool,
        announce: bool = False,
        durable: bool = True,
        bounded: bool = True,
    ) -> T:
        raise AssertionError(
            f"FakeStore cannot run the program {_program_name(program)}: the worker reached"
            " a Store operation it never should (only claim, settle, wait_for_work, purge)"
        )

    # what the test does
    async def next_claim(self) -> ClaimRequest:
        """The worker's next claim request (waits for it); answer it with `answer`."""
        n = self._claims_seen
        await self.changes.until(lambda: len(self.claims) > n, f"claim {n + 1}")
        self._claims_seen += 1
        return self.claims[n]

    def answer(self, *jobs: Job, wake_at: int | None = None) -> None:
        """Answer the claim waiting (or the next one) with `jobs`."""
        self._answers.put_nowait(Claimed(list(jobs), wake_at))

    def signal_work(self) -> None:
        self._work.set()

    def hold_writes(self) -> None:
        self._writes_open.clear()

    def release_writes(self) -> None:
        self._writes_open.set()

    def stop_answering(self) -> None:
        """From now on every claim finds nothing; the one waiting too."""
        self._answering = False
        self._answers.put_nowait(Claimed([]))

    def written(self) -> list[list[str]]:
        return [[s.job.delivery_id for s in batch] for batch in self.writes]

    def committed_ids(self) -> list[str]:
        return [s.job.delivery_id for batch in self.committed for s in batch]


def _not_the_workers(operation: str) -> NoReturn:
    raise AssertionError(f"the worker called Store.{operation}, which it never should")


def _program_name(program: Program[Any]) -> str:
    """The program's generator function; through `audited`, with the one it wraps."""
    name = str(getattr(program, "__name__", program))
    frame = getattr(program, "gi_frame", None)
    inner = None if frame is None else frame.f_locals.get("program")
    return name if inner is None else f"{name}({_program_name(inner)})"


class FakeTransport:
    """Holds each post open until the test answers it, by delivery id."""

    def __init__(self) -> None:
        self.changes = Changes()
        self.posted: list[str] = []  # delivery ids, as their posts began
        self.returned: list[str] = []  # as their answers reached the worker
        self._answers: dict[str, asyncio.Future[SendResult]] = {}
        self._answer_everything = False

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult:
        delivery_id = headers["webhook-id"]
        self.posted.append(delivery_id)
        self.changes.note()
        result = OK if self._answer_everything else await self._future(delivery_id)
        self.returned.append(delivery_id)
        self.changes.note()
        return result

    def answer(self, *delivery_ids: str, result: SendResult = OK) -> None:
        for delivery_id in delivery_ids:
            self._future(delivery_id).set_result(result)

    def answer_everything(self) -> None:
        """Answer every post waiting, and every later one at once, with a 200."""
        self._answer_everything = True
        for future in self._answers.values():
            if not future.done():
                future.set_result(OK)

    async def until_returned(self, *delivery_ids: str) -> None:
        await self.changes.until(
            lambda: set(delivery_ids) <= set(self.returned), f"the answers of {delivery_ids}"
        )

    def _future(self, delivery_id: str) -> "asyncio.Future[SendResult]":
        if delivery_id not in self._answers:
            self._answers[delivery_id] = asyncio.get_running_loop().create_future()
        return self._answers[delivery_id]
