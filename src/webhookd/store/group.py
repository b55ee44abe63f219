"""Group commit of programs: those submitted while a transaction is under way share the
next one, so a train of publishes costs one commit (one fsync on SQLite) per batch
instead of one each, and the worker's bookkeeping waits behind one write, not many.

Each program keeps its own all-or-nothing: a batch that fails is run again one program
per transaction, so one bad program (an idempotency conflict, a row the database
refuses) fails only its own caller. A lone program is never held back: with fewer than
`writers` transactions under way it runs at once. SQLite has one writer; PostgreSQL
runs several transactions side by side, so programs wait to share one only when that
many are already in flight.
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from webhookd.errors import Unavailable
from webhookd.store.programs import Program

T = TypeVar("T")
Make = Callable[[], Program[T]]  # builds the program afresh: a rerun needs a new one


def together(programs: Sequence[Program[T]]) -> Program[list[T]]:
    """One program that runs `programs` in turn, in one transaction."""
    results = []
    for program in programs:
        results.append((yield from program))
    return results


class GroupCommit(Generic[T]):
    def __init__(
        self,
        run: Callable[[Program[list[T]]], Awaitable[list[T]]],
        batch: int = 100,
        writers: int = 1,
    ):
        self._run = run
        self.batch = batch
        self.writers = writers
        self._waiting: list[tuple[Make[T], asyncio.Future[T]]] = []
        self._writers = 0  # running _write loops
        self._tasks: set[asyncio.Task[None]] = set()  # their tasks, kept from the collector

    async def submit(self, make: Make[T]) -> T:
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiting.append((make, done))
        if self._writers < self.writers:
            self._writers += 1  # counted now: the next submit must see it
            self._tasks.add(task := asyncio.create_task(self._write()))
            task.add_done_callback(self._tasks.discard)
        return await done

    async def _write(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[: self.batch], self._waiting[self.batch :]
                await self._commit(batch)
        finally:
            # In the same step as the last look at _waiting: a program submitted after it
            # finds this writer gone and starts another (a done callback would run later).
            self._writers -= 1

    async def _commit(self, batch: Sequence[tuple[Make[T], asyncio.Future[T]]]) -> None:
        try:
            results = await self._run(together([make() for make, _ in batch]))
        except Exception as exc:
            if len(batch) == 1 or isinstance(exc, Unavailable):
                for _, done in batch:
                    if not done.done():  # a caller that went away needs no answer
                        done.set_exception(exc)
                return
            for one in batch:  # one bad program must not fail the others
                await self._commit([one])
            return
        for (_, done), result in zip(batch, results, strict=True):
            if not done.done():
                done.set_result(result)
