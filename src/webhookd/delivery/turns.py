"""`Turns`: spread a burst of work over turns of the event loop.

A tenant whose 240 new endpoints all get their first event starts 240 attempts in one
turn of the loop; 200 of them hang and hit their deadline in one turn 15 s later. Each
start or end is a few hundred microseconds of Python (signing, connecting, logging,
deciding), so such a turn holds the loop for tens of milliseconds, and every other
request in the process (another tenant's `POST /events`, its healthy deliveries'
answers) waits behind it. Work that takes a turn here goes at most `per_turn` at a
time; the rest waits for the next turns, with the loop's I/O polled in between.
"""

import asyncio


class Turns:
    def __init__(self, per_turn: int) -> None:
        self.per_turn = max(1, per_turn)
        self._used = 0
        self._armed = False

    async def take(self) -> None:
        """Return at once while this turn has room, else in the first turn that has."""
        while True:
            if not self._armed:
                asyncio.get_running_loop().call_soon(self._reset)
                self._armed = True
            if self._used < self.per_turn:
                self._used += 1
                return
            await asyncio.sleep(0)

    def _reset(self) -> None:
        self._used = 0
        self._armed = False
