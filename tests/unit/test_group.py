"""Group commit (store/group.py) with a stand-in engine: what shares a transaction, and
that no submitted program is ever left waiting."""

import asyncio

from webhookd.store.group import GroupCommit
from webhookd.store.programs import Program


def answer(value: int) -> Program[int]:
    """A program that runs no statement and returns `value`."""
    return value
    yield  # a generator, like every program


class Engine:
    """Runs each transaction after one turn of the loop, recording its size."""

    def __init__(self) -> None:
        self.transactions: list[int] = []
        self.in_flight = 0
        self.most_in_flight = 0

    async def run(self, program: Program[list[int]]) -> list[int]:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0)
            try:
                next(program)
            except StopIteration as done:
                results: list[int] = done.value
                self.transactions.append(len(results))
                return results
            raise AssertionError("these programs run no statement")
        finally:
            self.in_flight -= 1


async def test_a_program_submitted_as_the_writer_finishes_is_committed() -> None:
    engine = Engine()
    group = GroupCommit(engine.run)

    async def one_after_another() -> None:
        for n in range(50):  # each submit lands in the step after the last batch's commit
            assert await group.submit(lambda n=n: answer(n)) == n

    await asyncio.wait_for(one_after_another(), 30)  # a lost program would wait forever
    assert engine.transactions == [1] * 50


async def test_programs_queued_behind_a_transaction_share_the_next_one() -> None:
    engine = Engine()
    group = GroupCommit(engine.run)
    results = await asyncio.gather(*(group.submit(lambda n=n: answer(n)) for n in range(10)))
    assert results == list(range(10))
    assert sum(engine.transactions) == 10
    assert len(engine.transactions) < 10


async def test_several_writers_run_side_by_side_and_no_more() -> None:
    engine = Engine()
    group = GroupCommit(engine.run, writers=3)
    first = [group.submit(lambda n=n: answer(n)) for n in range(3)]
    await asyncio.gather(*first, *(group.submit(lambda n=n: answer(n)) for n in range(3, 40)))
    assert engine.most_in_flight <= 3
    assert sum(engine.transactions) == 40
