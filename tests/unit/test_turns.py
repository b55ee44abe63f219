"""Turns: a burst of work is spread over loop turns, a slice per turn, in order."""

import asyncio

from webhookd.delivery.turns import Turns


async def _turn_of_each(turns: Turns, takers: int) -> list[int]:
    """Which loop turn each taker got through in (counted by a callback that
    re-schedules itself once per turn)."""
    turn = 0
    running = True

    def tick() -> None:
        nonlocal turn
        turn += 1
        if running:
            asyncio.get_running_loop().call_soon(tick)

    asyncio.get_running_loop().call_soon(tick)
    seen: list[int] = []

    async def taker() -> None:
        await turns.take()
        seen.append(turn)

    await asyncio.gather(*(taker() for _ in range(takers)))
    running = False
    return seen


def test_a_burst_goes_a_slice_per_turn() -> None:
    seen = asyncio.run(_turn_of_each(Turns(per_turn=2), takers=7))
    assert len(seen) == 7
    firsts = [t - seen[0] for t in seen]
    # Two per turn, in the order they asked, each turn after the one before.
    assert firsts == sorted(firsts)
    counts = [firsts.count(t) for t in sorted(set(firsts))]
    assert counts == [2, 2, 2, 1]
    assert len(set(firsts)) == 4


def test_work_under_the_slice_is_not_delayed() -> None:
    seen = asyncio.run(_turn_of_each(Turns(per_turn=16), takers=16))
    assert len(set(seen)) == 1  # all in the same turn
