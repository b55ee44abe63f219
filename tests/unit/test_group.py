"""Group commit (store/group.py) with a stand-in engine: what shares a transaction, and
that no submitted work is ever left waiting."""

import asyncio
from collections.abc import Callable, Sequence

from webhookd.store.group import GroupCommit
from webhookd.store.programs import Program


def echo(works: Sequence[int]) -> Program[list[int]]:
    """A program that runs no statement and answers each submission with itself."""
    return list(works)
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
                if -1 in results and len(results) > 1:
                    raise ValueError("a bad submission fails its whole transaction") from None
                if results == [-1]:
                    raise ValueError("the bad submission, alone") from None
                self.transactions.append(len(results))
                return results
            raise AssertionError("these programs run no statement")
        finally:
            self.in_flight -= 1


async def test_work_submitted_as_the_writer_finishes_is_committed() -> None:
    engine = Engine()
    group = GroupCommit(engine.run, echo)

    async def one_after_another() -> None:
        for n in range(50):  # each submit lands in the step after the last batch's commit
            assert await group.submit(n) == n

    await asyncio.wait_for(one_after_another(), 30)  # lost work would wait forever
    assert engine.transactions == [1] * 50


async def test_work_queued_behind_a_transaction_shares_the_next_one() -> None:
    engine = Engine()
    group = GroupCommit(engine.run, echo)
    assert await asyncio.gather(*(group.submit(n) for n in range(10))) == list(range(10))
    assert sum(engine.transactions) == 10
    assert len(engine.transactions) < 10


async def test_one_bad_submission_fails_alone() -> None:
    engine = Engine()
    group = GroupCommit(engine.run, echo)
    results = await asyncio.gather(
        *(group.submit(n) for n in (1, 2, -1, 3)), return_exceptions=True
    )
    assert [results[0], results[1], results[3]] == [1, 2, 3]
    assert isinstance(results[2], ValueError)


async def test_several_writers_run_side_by_side_and_no_more() -> None:
    engine = Engine()
    group = GroupCommit(engine.run, echo, batch=1, writers=3)
    assert await asyncio.gather(*(group.submit(n) for n in range(40))) == list(range(40))
    assert engine.most_in_flight == 3
    assert engine.transactions == [1] * 40


def recording() -> tuple[list[list[int]], Callable[[Sequence[int]], Program[list[int]]]]:
    """A combine that echoes its works and records each batch it was given."""
    batches: list[list[int]] = []

    def recorded(works: Sequence[int]) -> Program[list[int]]:
        batches.append(list(works))
        return (yield from echo(works))

    return batches, recorded


async def test_a_transaction_carries_one_key_and_keys_take_turns() -> None:
    # Keyed by tens (a tenant, for publishes): 10 goes alone; behind it 20, 11, 21, 12
    # wait; the next transaction is another key's turn (20 and 21), then 11 and 12.
    engine = Engine()
    batches, recorded = recording()
    group = GroupCommit(engine.run, recorded, key=lambda n: n // 10)
    first = asyncio.create_task(group.submit(10))
    while not batches:  # 10's transaction is under way
        await asyncio.sleep(0)
    answers = await asyncio.gather(*(group.submit(n) for n in (20, 11, 21, 12)), first)
    assert answers == [20, 11, 21, 12, 10]  # each caller still gets its own answer
    assert batches == [[10], [20, 21], [11, 12]]


async def test_a_key_with_a_backlog_lets_another_in_after_each_fair_batch() -> None:
    # Tenant 2's publish is under way; tenant 1 queues 20, then tenant 2 one more. Tenant
    # 2's waits for one turn of at most fair_batch (4) of tenant 1's, not for all 20.
    engine = Engine()
    batches, recorded = recording()
    group = GroupCommit(engine.run, recorded, key=lambda n: n // 100, fair_batch=4)
    first = asyncio.create_task(group.submit(200))
    while not batches:
        await asyncio.sleep(0)
    backlog = [group.submit(n) for n in range(101, 121)]
    answers = await asyncio.gather(*backlog, group.submit(201), first)
    assert answers == [*range(101, 121), 201, 200]
    assert batches == [[200], [101, 102, 103, 104], [201], list(range(105, 121))]
