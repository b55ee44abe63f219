"""Endpoint isolation, on every engine: circuits, rate limits, per-endpoint caps and the
lane of unproven endpoints, as the claim and the settle keep them."""

from dataclasses import replace

from tests.store.test_contract import DAY, T0, claim, event, webhook
from webhookd.domain.circuit import Breaker
from webhookd.domain.models import Attempt, Circuit, DeliveryStatus, Job, SendResult, Settlement
from webhookd.store.base import ClaimRequest, DeliveryFilter, WebhookChanges
from webhookd.store.engine import Store

BREAKER = Breaker(failures=2, cooldown_ms=1000, max_cooldown_ms=60_000)


def answered(job: Job, status: int, at: int) -> Settlement:
    result = SendResult(status, None, 5)
    if result.ok:
        return Settlement(job, Attempt(job.delivery_id, at, result), DeliveryStatus.DELIVERED)
    attempt = Attempt(job.delivery_id, at, result)
    return Settlement(job, attempt, DeliveryStatus.PENDING, at + 100_000)


async def attempts_of(store: Store, tenant: str, webhook_id: str) -> list[int]:
    found = await store.list_deliveries(tenant, webhook_id, DeliveryFilter(limit=100), T0)
    return sorted(d.attempts for d in found)


async def test_circuit_opens_holds_probes_reopens_longer_and_closes(store: Store) -> None:
    hook = webhook()
    await store.create_webhook(hook)
    for n in range(6):
        await store.publish(event(at=T0 + n), None, DAY)
    first, second = await claim(store, T0 + 10, 2)
    await store.settle([answered(first, 503, T0 + 20)], DAY, BREAKER)
    closed = await store.get_webhook("a", hook.id)
    assert closed is not None
    assert closed.circuit.failures == 1
    assert closed.circuit.until is None
    await store.settle([answered(second, 503, T0 + 30)], DAY, BREAKER)  # the 2nd in a row
    opened = await store.get_webhook("a", hook.id)
    assert opened is not None
    assert (opened.circuit.failures, opened.circuit.trips, opened.circuit.until) == (
        2,
        1,
        T0 + 1030,
    )
    # Open: the four due deliveries wait, and waiting uses none of their attempts.
    assert await claim(store, T0 + 500, 10) == []
    assert await attempts_of(store, "a", hook.id) == [0, 0, 0, 0, 1, 1]
    # Half-open: one probe, and no second one while it is out.
    [probe] = await claim(store, T0 + 1100, 10)
    assert probe.probe is True
    assert await claim(store, T0 + 1101, 10) == []
    # The probe fails: open again, for twice the cool-down.
    await store.settle([answered(probe, 500, T0 + 1200)], DAY, BREAKER)
    reopened = await store.get_webhook("a", hook.id)
    assert reopened is not None
    assert (reopened.circuit.trips, reopened.circuit.until) == (2, T0 + 3200)
    assert await claim(store, T0 + 3000, 10) == []
    [probe] = await claim(store, T0 + 3300, 10)
    await store.settle([answered(probe, 200, T0 + 3400)], DAY, BREAKER)
    healed = await store.get_webhook("a", hook.id)
    assert healed is not None
    assert healed.circuit == Circuit()
    assert len(await claim(store, T0 + 3500, 10)) == 2  # the backlog drains


async def test_a_4xx_answer_closes_the_circuit_and_enabling_resets_it(store: Store) -> None:
    hook = webhook()
    await store.create_webhook(hook)
    for n in range(3):
        await store.publish(event(at=T0 + n), None, DAY)
    jobs = await claim(store, T0 + 10, 3)
    await store.settle([answered(jobs[0], 500, T0 + 20)], DAY, BREAKER)
    await store.settle([answered(jobs[1], 404, T0 + 21)], DAY, BREAKER)  # reachable
    after = await store.get_webhook("a", hook.id)
    assert after is not None
    assert after.circuit.failures == 0
    await store.settle([answered(jobs[2], 500, T0 + 22)], DAY, BREAKER)
    await store.toggle_webhook("a", hook.id)
    await store.toggle_webhook("a", hook.id)
    enabled = await store.get_webhook("a", hook.id)
    assert enabled is not None
    assert enabled.circuit.failures == 0


async def test_rate_limit_spaces_deliveries_and_others_are_unaffected(store: Store) -> None:
    limited, free = replace(webhook(), rate_limit=5), webhook()
    await store.create_webhook(limited)
    await store.create_webhook(free)
    for n in range(5):
        await store.publish(event(at=T0 + n), None, DAY)
    claimed = await store.claim(ClaimRequest(T0 + 10, 30_000, 100, 100, 1000, {}))
    mine = [job for job in claimed.jobs if job.webhook_id == limited.id]
    assert len(mine) == 1  # a bucket of 1 at 5/s
    assert sum(job.webhook_id == free.id for job in claimed.jobs) == 5
    assert claimed.wake_at is not None
    assert T0 + 10 < claimed.wake_at <= T0 + 211
    assert await claim(store, T0 + 100, 10) == []  # no token yet
    assert len(await claim(store, T0 + 210, 10)) == 1
    # An hour idle still gives one at a time: the bucket never holds more than its burst.
    # (The unlimited webhook's leases have expired by then: its deliveries come again.)
    later = await claim(store, T0 + 3_600_000, 10)
    assert sum(job.webhook_id == limited.id for job in later) == 1
    changed = await store.update_webhook("a", limited.id, WebhookChanges(rate_limit=0))
    assert changed is not None
    assert changed.rate_limit is None
    # Without the limit, all of its others come at once (two never sent, and the two
    # whose leases from the first claims have expired).
    assert len(await claim(store, T0 + 3_600_001, 10)) == 4


async def test_caps_and_the_unproven_lane(store: Store) -> None:
    proven, fresh = webhook(), webhook()
    await store.create_webhook(proven)
    await store.create_webhook(fresh)
    for n in range(4):
        await store.publish(event(at=T0 + n), None, DAY)
    # The lane of unproven endpoints is full: only the proven webhook's deliveries go.
    picked = await claim(store, T0 + 10, 10, unproven_slots=0, proven=frozenset({proven.id}))
    assert {job.webhook_id for job in picked} == {proven.id}
    assert len(picked) == 4
    # One slot left in the lane; `fresh` has a window of 1 (default_cap).
    picked = await claim(store, T0 + 10, 10, unproven_slots=1, default_cap=1)
    assert [job.webhook_id for job in picked] == [fresh.id]
    # A cap of 1 with one in flight: nothing more for that webhook.
    more = await claim(store, T0 + 10, 10, caps={fresh.id: 1}, busy={fresh.id: 1})
    assert more == []


async def test_a_paused_webhooks_deliveries_are_pending_but_not_due(store: Store) -> None:
    paused, other = webhook(), webhook()
    await store.create_webhook(paused)
    for n in range(2):
        await store.publish(event(at=T0 + n), None, DAY)
    jobs = await claim(store, T0 + 10, 2)
    await store.settle([answered(j, 503, T0 + 20) for j in jobs], DAY, BREAKER)  # opens
    await store.create_webhook(other)
    await store.publish(event(at=T0 + 30), None, DAY)
    stats = await store.queue_stats(T0 + 500)
    assert stats.pending == 4  # two retries of `paused` and one new delivery each
    assert stats.due == 1  # only `other`'s: `paused` waits for its probe
    assert stats.health == {"healthy": 1, "failing": 0, "paused": 1}


async def test_a_narrow_window_does_not_fill_the_claims_window(store: Store) -> None:
    narrow, wide = webhook(), webhook()
    await store.create_webhook(narrow)
    for n in range(10):  # the oldest due rows are all the narrow webhook's
        await store.publish(event(at=T0 + n), None, DAY)
    await store.create_webhook(wide)
    for n in range(10, 20):
        await store.publish(event(at=T0 + n), None, DAY)
    # Two slots read a window of 8 rows: the narrow webhook (window 1) may give 1 of
    # them, so the other rows must be the wide webhook's for both slots to be used.
    picked = await claim(store, T0 + 100, 2, caps={narrow.id: 1})
    assert sorted(job.webhook_id == wide.id for job in picked) == [False, True]
