"""The worker (delivery/worker.py) on an in-memory Store and Transport, on a fake clock:
how many deliveries and of which kind each claim asks for, when a claim left work
behind, and the group commit of results (Settler)."""

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from tests.fakes import HANG, Clock, FakeStore, FakeTransport, finished
from webhookd.delivery.worker import Limits, Settler, Worker
from webhookd.domain import ids, retry
from webhookd.domain.models import Attempt, DeliveryStatus, Job, SendResult, Settlement
from webhookd.errors import Unavailable
from webhookd.sealing import Sealer, new_key
from webhookd.store.base import ClaimRequest

NOW = 1_750_000_000_000
DAY = 86_400_000
SEALER = Sealer(new_key())
SEALED = SEALER.seal(ids.new_secret())


def job(n: int, webhook: str = "", attempts: int = 0) -> Job:
    """Delivery dlv_<n>, to its own webhook unless one is named."""
    return Job(
        f"dlv_{n}", webhook or f"wh_{n}", "order.paid", "https://example.com/hook", SEALED,
        True, b"{}", attempts, "lease",
    )  # fmt: skip


@dataclass
class Rig:
    worker: Worker
    store: FakeStore
    transport: FakeTransport
    clock: Clock


def make_worker(store: FakeStore, transport: FakeTransport, clock: Clock, **limits: Any) -> Worker:
    return Worker(
        store, transport, retry.Policy(schedule=(5,)), Limits(**limits),
        sealer=SEALER, now=clock, jitter=lambda: 0.0,
    )  # fmt: skip


@asynccontextmanager
async def running(**limits: Any) -> AsyncIterator[Rig]:
    """A worker running on fakes; stopped after, every send and write let finish."""
    store, transport, clock = FakeStore(), FakeTransport(), Clock(NOW)
    worker = make_worker(store, transport, clock, **limits)
    task = asyncio.create_task(worker.run())
    try:
        yield Rig(worker, store, transport, clock)
    finally:
        worker.stop()
        store.stop_answering()
        store.release_writes()
        transport.answer_everything()
        await asyncio.wait_for(task, HANG)


async def loop_turns(n: int) -> None:
    """Let the event loop run `n` times round (no wall time passes)."""
    for _ in range(n):
        await asyncio.sleep(0)


# the claim request ------------------------------------------------------------------
async def test_a_claim_asks_only_for_the_slots_no_send_holds() -> None:
    async with running(concurrency=8) as rig:
        assert (await rig.store.next_claim()).slots == 8
        rig.store.answer(job(1), job(2), job(3))
        second = await rig.store.next_claim()  # at once: five free is at least a sixteenth
        assert second.slots == 5
        assert second.busy == {"wh_1": 1, "wh_2": 1, "wh_3": 1}
        rig.transport.answer("dlv_1")
        await rig.store.changes.until(lambda: "dlv_1" in rig.store.committed_ids(), "dlv_1")
        assert rig.worker._claim_request().slots == 6


async def test_a_busy_worker_claims_again_once_a_sixteenth_of_its_slots_are_free() -> None:
    """Waiting for a quarter left a fifth of the slots idle against endpoints answering
    in 100 ms (docs/performance.md, "Seventh round")."""
    async with running(concurrency=64) as rig:
        await rig.store.next_claim()
        rig.store.answer(*(job(n) for n in range(1, 65)))
        rig.transport.answer("dlv_1", "dlv_2", "dlv_3", "dlv_4")  # 4 of 64 free
        assert (await rig.store.next_claim()).slots == 4


async def test_a_result_waiting_for_its_commit_frees_its_slot_up_to_twice_the_concurrency() -> None:
    async with running(concurrency=4) as rig:
        await rig.store.next_claim()
        rig.store.hold_writes()  # the database is slow to commit
        rig.store.answer(*(job(n) for n in range(1, 5)))
        rig.transport.answer("dlv_1", "dlv_2", "dlv_3", "dlv_4")
        await rig.transport.until_returned("dlv_1", "dlv_2", "dlv_3", "dlv_4")
        # four results wait for their commit: no request is under way
        assert rig.worker._claim_request().slots == 4
        await rig.store.next_claim()
        rig.store.answer(*(job(n) for n in range(5, 9)))
        await rig.transport.changes.until(lambda: len(rig.transport.posted) == 8, "8 sends")
        rig.transport.answer("dlv_5", "dlv_6")
        await rig.transport.until_returned("dlv_5", "dlv_6")
        # two requests under way of four, but eight deliveries wait for their commit
        assert rig.worker._claim_request().slots == 0
        rig.store.release_writes()
        await rig.store.changes.until(lambda: len(rig.store.committed_ids()) == 6, "6 commits")
        assert rig.worker._claim_request().slots == 2


async def test_retries_in_flight_narrow_the_retry_lane_never_the_first_attempts_slots() -> None:
    async with running(concurrency=8, reserved_first=2) as rig:
        first = await rig.store.next_claim()
        assert (first.slots, first.retry_slots) == (8, 6)
        rig.store.answer(job(1, attempts=1), job(2, attempts=3), job(3))
        second = await rig.store.next_claim()
        assert (second.slots, second.retry_slots) == (5, 4)
        rig.store.answer(*(job(n, attempts=1) for n in range(4, 8)))
        await rig.transport.changes.until(lambda: len(rig.transport.posted) == 7, "7 sends")
        request = rig.worker._claim_request()  # six retries in flight: their lane is full
        assert (request.slots, request.retry_slots) == (1, 0)


async def test_unproven_endpoints_share_their_part_of_the_slots() -> None:
    async with running(concurrency=8, unproven_share=0.5) as rig:
        assert (await rig.store.next_claim()).unproven_slots == 4
        rig.store.answer(job(1, "wh_a"))
        assert (await rig.store.next_claim()).unproven_slots == 3
        rig.transport.answer("dlv_1")  # a success: wh_a is proven, its window widens
        await rig.store.changes.until(lambda: rig.store.committed_ids() == ["dlv_1"], "dlv_1")
        rig.store.answer(job(2, "wh_a"), job(3, "wh_b"))
        third = await rig.store.next_claim()
        assert third.unproven_slots == 3  # only wh_b's send counts against the lane
        assert third.proven == {"wh_a"}
        assert (third.cap("wh_a"), third.cap("wh_b")) == (2, 1)


async def test_an_endpoint_in_flight_longer_than_slow_after_is_cut_to_one_at_a_time() -> None:
    async with running(concurrency=8, slow_after=5.0) as rig:
        await rig.store.next_claim()
        rig.store.answer(job(1, "wh_a"))
        await rig.store.next_claim()
        rig.transport.answer("dlv_1")  # wh_a proven, window 2
        await rig.store.changes.until(lambda: rig.store.committed_ids() == ["dlv_1"], "dlv_1")
        rig.store.answer(job(2, "wh_a"))  # sent at NOW
        third = await rig.store.next_claim()
        assert (third.cap("wh_a"), "wh_a" in third.proven) == (2, True)
        rig.clock.advance(5_000)
        assert rig.worker._claim_request().cap("wh_a") == 2  # slow_after, not yet longer
        rig.clock.advance(1)
        request = rig.worker._claim_request()  # before the attempt ends
        assert (request.cap("wh_a"), "wh_a" in request.proven) == (1, False)


# when an empty claim means "nothing to do" ------------------------------------------
def request(**fields: Any) -> ClaimRequest:
    values: dict[str, Any] = {
        "now_ms": NOW, "lease_ms": 35_000, "slots": 8, "retry_slots": 6, "per_webhook": 64,
        "busy": {}, "default_cap": 1, "unproven_slots": 4, **fields,
    }  # fmt: skip
    return ClaimRequest(**values)


def idle_worker(**limits: Any) -> Worker:
    return make_worker(FakeStore(), FakeTransport(), Clock(NOW), **limits)


def test_a_claim_within_every_limit_left_nothing_behind() -> None:
    w = idle_worker(concurrency=8, reserved_first=2)
    assert not w._limited(request())
    assert not w._limited(request(slots=3, retry_slots=3))  # the lane is as wide as the claim
    assert not w._limited(request(busy={"wh_a": 1}, caps={"wh_a": 2}))


def test_a_claim_narrowed_by_a_lane_or_a_window_may_have_left_work_behind() -> None:
    w = idle_worker(concurrency=8, reserved_first=2)
    assert w._limited(request(retry_slots=5))  # retries in flight narrowed the retry lane
    assert w._limited(request(unproven_slots=0))  # unproven endpoints' lane full
    assert w._limited(request(busy={"wh_a": 1}))  # wh_a at its window of one


async def test_an_empty_claim_held_back_by_a_full_window_claims_again_when_a_slot_frees() -> None:
    async with running(concurrency=8) as rig:
        await rig.store.next_claim()
        rig.store.answer(job(1, "wh_a"))
        await rig.store.next_claim()
        rig.store.answer()  # wh_a's next delivery waits for its window
        rig.transport.answer("dlv_1")
        # no new work signalled, and the fake store has no poll backstop
        third = await rig.store.next_claim()
        assert third.busy == {}


async def test_an_empty_claim_within_every_limit_waits_for_new_work() -> None:
    async with running(concurrency=8, reserved_first=2) as rig:
        await rig.store.next_claim()
        rig.store.answer(job(1, "wh_a"))
        await rig.store.next_claim()
        rig.transport.answer("dlv_1")  # a success widens wh_a's window to 2
        await rig.store.changes.until(lambda: rig.store.committed_ids() == ["dlv_1"], "dlv_1")
        rig.store.answer(job(2, "wh_a"))
        await rig.store.next_claim()  # wh_a has one in flight of its window of 2
        rig.store.answer()  # nothing more is due
        rig.transport.answer("dlv_2")
        await rig.store.changes.until(lambda: len(rig.store.committed_ids()) == 2, "dlv_2")
        await loop_turns(50)  # what a freed slot would wake, it would have by now
        assert len(rig.store.claims) == 3  # a freed slot makes nothing claimable
        rig.store.signal_work()
        await rig.store.next_claim()


# the Settler ------------------------------------------------------------------------
def result(n: int) -> Settlement:
    j = job(n)
    return Settlement(
        j, Attempt(j.delivery_id, NOW, SendResult(200, None, 3)), DeliveryStatus.DELIVERED
    )


async def test_results_that_arrive_during_a_write_share_the_next_one_up_to_the_batch() -> None:
    store = FakeStore()
    settler = Settler(store, DAY, batch=3, delay=0)
    store.hold_writes()
    first = asyncio.create_task(settler.settle(result(1)))
    await store.changes.until(lambda: len(store.writes) == 1, "the first write")
    rest = [asyncio.create_task(settler.settle(result(n))) for n in range(2, 7)]
    await store.changes.until(lambda: len(store.writes) == 2, "a full batch written")
    assert store.written() == [["dlv_1"], ["dlv_2", "dlv_3", "dlv_4"]]  # a full batch: at once
    store.release_writes()
    await finished(asyncio.gather(first, *rest), "every settle")
    assert store.written() == [["dlv_1"], ["dlv_2", "dlv_3", "dlv_4"], ["dlv_5", "dlv_6"]]


async def test_one_result_the_database_refuses_fails_alone() -> None:
    store = FakeStore()
    settler = Settler(store, DAY, batch=10, delay=0)

    def refuse(batch: Sequence[Settlement]) -> Exception | None:
        bad = any(s.job.delivery_id == "dlv_2" for s in batch)
        return ValueError("a value the database refuses") if bad else None

    store.refuse = refuse
    settles = (settler.settle(result(n)) for n in (1, 2, 3))
    outcomes = await finished(asyncio.gather(*settles, return_exceptions=True), "the settles")
    assert outcomes[0] is None
    assert outcomes[2] is None
    assert isinstance(outcomes[1], ValueError)
    assert store.written() == [["dlv_1", "dlv_2", "dlv_3"], ["dlv_1"], ["dlv_2"], ["dlv_3"]]
    assert store.committed_ids() == ["dlv_1", "dlv_3"]


async def test_an_unavailable_database_fails_the_whole_batch_at_once() -> None:
    store = FakeStore()
    settler = Settler(store, DAY, batch=10, delay=0)
    store.refuse = lambda batch: Unavailable("the database is away")
    settles = (settler.settle(result(n)) for n in (1, 2, 3))
    outcomes = await finished(asyncio.gather(*settles, return_exceptions=True), "the settles")
    assert all(isinstance(o, Unavailable) for o in outcomes)
    assert store.written() == [["dlv_1", "dlv_2", "dlv_3"]]  # not tried again one by one


async def test_a_cancelled_caller_does_not_cancel_the_write_of_its_result() -> None:
    store = FakeStore()
    settler = Settler(store, DAY, batch=10, delay=0)
    store.hold_writes()
    caller = asyncio.create_task(settler.settle(result(1)))
    await store.changes.until(lambda: len(store.writes) == 1, "the write")
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await finished(caller, "the cancelled caller")
    store.release_writes()
    await store.changes.until(lambda: store.committed_ids() == ["dlv_1"], "the commit")


async def test_a_result_handed_over_before_its_caller_was_cancelled_is_still_written() -> None:
    store = FakeStore()
    settler = Settler(store, DAY, batch=10, delay=0)
    caller = asyncio.create_task(settler.settle(result(1)))
    await asyncio.sleep(0)  # one turn of the loop: the result is handed over, not written
    assert store.writes == []
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await finished(caller, "the cancelled caller")
    await store.changes.until(lambda: store.committed_ids() == ["dlv_1"], "the commit")


async def test_the_fake_store_fails_loudly_on_an_operation_the_worker_never_uses() -> None:
    store = FakeStore()
    with pytest.raises(AssertionError, match="get_webhook"):
        await store.get_webhook("t_1", "wh_1")
    with pytest.raises(AssertionError, match=r"audited\(delete_webhook\)"):
        await store.delete_webhook("t_1", "wh_1")
