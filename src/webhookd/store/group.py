"""Group commit of programs: those submitted while a transaction is under way share the
next one, so a train of publishes costs one commit (one fsync on SQLite) per batch
instead of one each, and the worker's bookkeeping waits behind one write, not many.

What is submitted is work for one program (for publishes, a list of events); the
queued work of a batch is `combine`d into one program, so the batch costs one statement
per kind of row, not one per publish (PostgreSQL's round trips). Each submission keeps
its own all-or-nothing: a batch that fails is run again one submission per transaction,
so one bad submission (an idempotency conflict, a row the database refuses) fails only
its own caller. A lone program is never held back: with fewer than
`writers` transactions under way it runs at once. SQLite has one writer; PostgreSQL
runs several transactions side by side, so programs wait to share one only when that
many are already in flight.

With a `key` (for publishes: the tenant), a transaction carries only submissions of
one key, and keys take turns: the next transaction is for the oldest waiting
submission whose key differs from the last one served (the same key again only when no
other waits), and while another key waits it carries at most `fair_batch` of them. One
tenant's publish to 240 endpoints (15-20 ms on SQLite) then never rides in the same
commit as another tenant's publish to five, and a tenant with a backlog of such
publishes cannot make the small one wait for all of it: at most for the write under way
and one turn of `fair_batch`.
"""

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

from webhookd.errors import Unavailable
from webhookd.store.programs import Program

P = TypeVar("P")  # the work a caller submits
T = TypeVar("T")  # what it gets back
# One program for the work of several submissions, with each one's result in order
# (built afresh for every transaction: a rerun needs a new program).
Combine = Callable[[Sequence[P]], Program[list[T]]]


class GroupCommit(Generic[P, T]):
    def __init__(
        self,
        run: Callable[[Program[list[T]]], Awaitable[list[T]]],
        combine: Combine[P, T],
        batch: int = 100,
        writers: int = 1,
        key: Callable[[P], Hashable] | None = None,
        fair_batch: int = 8,
    ):
        self._run = run
        self._combine = combine
        self._key = key
        self._last_key: Hashable | None = None  # the key of the last batch taken
        self.batch = batch
        self.fair_batch = fair_batch
        self.writers = writers
        self._waiting: list[tuple[P, asyncio.Future[T]]] = []
        self._writers = 0  # running _write loops
        self._tasks: set[asyncio.Task[None]] = set()  # their tasks, kept from the collector

    async def submit(self, work: P) -> T:
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiting.append((work, done))
        if self._writers < self.writers:
            self._writers += 1  # counted now: the next submit must see it
            self._tasks.add(task := asyncio.create_task(self._write()))
            task.add_done_callback(self._tasks.discard)
        return await done

    async def _write(self) -> None:
        try:
            while self._waiting:
                await self._commit(self._next_batch())
        finally:
            # In the same step as the last look at _waiting: work submitted after it
            # finds this writer gone and starts another (a done callback would run later).
            self._writers -= 1

    def _next_batch(self) -> list[tuple[P, asyncio.Future[T]]]:
        """The oldest waiting submissions, up to `batch`: with a key, only those of the
        key whose turn it is (module docstring), in order; the rest stay queued in order."""
        if self._key is None:
            oldest, self._waiting = self._waiting[: self.batch], self._waiting[self.batch :]
            return oldest
        key = self._key
        keys = [key(work) for work, _ in self._waiting]
        turn = next((k for k in keys if k != self._last_key), keys[0])  # the next key's turn
        limit = self.fair_batch if any(k != turn for k in keys) else self.batch
        batch: list[tuple[P, asyncio.Future[T]]] = []
        rest: list[tuple[P, asyncio.Future[T]]] = []
        for item, k in zip(self._waiting, keys, strict=True):
            (batch if len(batch) < limit and k == turn else rest).append(item)
        self._waiting = rest
        self._last_key = turn
        return batch

    async def _commit(self, batch: Sequence[tuple[P, asyncio.Future[T]]]) -> None:
        try:
            results = await self._run(self._combine([work for work, _ in batch]))
        except Exception as exc:
            if len(batch) == 1 or isinstance(exc, Unavailable):
                for _, done in batch:
                    if not done.done():  # a caller that went away needs no answer
                        done.set_exception(exc)
                return
            for one in batch:  # one bad submission must not fail the others
                await self._commit([one])
            return
        for (_, done), result in zip(batch, results, strict=True):
            if not done.done():
                done.set_result(result)
