"""The worker's side of endpoint isolation, without I/O: what it asks a claim for.

An endpoint whose attempt has been in flight longer than `slow_after` is cut to one at a
time before that attempt ends; endpoints not proven healthy share at most
`unproven_share` of the slots."""

import asyncio
from typing import Any, cast

from tests.conftest import SECRET_KEY, NoTransport
from webhookd.delivery.worker import Limits, Worker
from webhookd.domain import retry
from webhookd.domain.models import Job
from webhookd.sealing import Sealer
from webhookd.store.engine import Store

NOW = 1_750_000_000_000


class Clocked(Worker):
    """A worker whose clock the test sets (`clock["now"]`, ms)."""

    clock: dict[str, int]


def worker(**limits: Any) -> Clocked:
    clock = {"now": NOW}
    made = Clocked(
        cast(Store, object()),  # never called: only the claim request is looked at
        NoTransport(),
        retry.Policy(),
        Limits(**limits),
        sealer=Sealer(SECRET_KEY),
        now=lambda: clock["now"],
    )
    made.clock = clock
    return made


def job(n: int, webhook_id: str) -> Job:
    return Job(f"dlv_{n}", webhook_id, "x", "https://example.com", "s", True, b"{}", 0, "t")


def in_flight(w: Worker, *jobs: Job, started: int) -> None:
    for j in jobs:
        w._sending[j.delivery_id] = j
        w._started[j.delivery_id] = started


def test_an_attempt_in_flight_too_long_cuts_its_endpoints_window_at_once() -> None:
    w = worker(slow_after=5.0, per_webhook=32)
    for _ in range(7):
        w.windows.succeeded("wh_fast")
        w.windows.succeeded("wh_slow")
    in_flight(w, job(1, "wh_slow"), job(2, "wh_fast"), started=NOW - 4_000)
    request = w._claim_request()
    assert (request.cap("wh_slow"), request.cap("wh_fast")) == (8, 8)  # 4 s: not yet
    w.clock["now"] = NOW + 1_001
    in_flight(w, job(3, "wh_fast"), started=NOW + 1_000)  # wh_fast's newer send is quick
    w._sending.pop("dlv_2")
    request = w._claim_request()
    assert request.cap("wh_slow") == 1
    assert request.cap("wh_fast") == 8
    assert "wh_slow" not in request.proven
    assert request.cap("wh_new") == 1  # an endpoint never seen starts at one


def test_unproven_endpoints_share_at_most_their_part_of_the_slots() -> None:
    w = worker(concurrency=8, unproven_share=0.5, reserved_first=0)
    w.windows.succeeded("wh_good")
    hanging = [job(n, f"wh_hang{n}") for n in range(4)]
    in_flight(w, *hanging, started=NOW)
    request = w._claim_request()
    assert request.slots == 4
    assert request.unproven_slots == 0  # four unproven in flight: their half is used
    assert request.proven == {"wh_good"}
    assert w._limited(request)  # a freed slot may make work claimable: wait for one


async def test_a_slot_freed_while_the_claim_ran_is_not_missed() -> None:
    """An empty claim held back by full windows waits for a freed slot; one freed while
    the claim was running must count, or the worker sleeps until the poll backstop."""

    class NeverSignalled:
        async def wait_for_work(self, timeout: float) -> None:
            await asyncio.Event().wait()

    w = Worker(
        cast(Store, NeverSignalled()), NoTransport(), retry.Policy(),
        Limits(poll_interval=60.0), sealer=Sealer(SECRET_KEY), now=lambda: NOW,
    )  # fmt: skip
    seen = w._frees  # the claim request is made
    w._free()  # a send ends while the claim runs
    w._constrained = True  # the claim came back empty: every window was full
    await asyncio.wait_for(w._idle(seen), timeout=30)  # returns at once, not after 60 s
    await asyncio.wait_for(w._wait_for_a_slot(seen), timeout=30)
