"""Delivery statistics and operator notices, on every engine: a known history gives
known buckets, and notices are written in the settle's own transaction."""

from webhookd.domain import ids, operator, stats
from webhookd.domain.models import (
    Attempt,
    DeliveryStatus,
    Event,
    SendResult,
    Settlement,
    Webhook,
)
from webhookd.store.base import ClaimRequest, DeliveryFilter
from webhookd.store.engine import Store

HOUR = 3_600_000
DAY = 86_400_000
T0 = 1_750_000_000_000 // HOUR * HOUR + 10 * 60_000  # ten minutes into an hour


def webhook(tenant: str = "a", wid: str | None = None) -> Webhook:
    return Webhook(
        id=wid or ids.new_id(ids.WEBHOOK, T0),
        tenant_id=tenant,
        url="https://example.com/hook",
        events=("*",),
        description="",
        secret=ids.new_secret(),
        active=True,
        created_at=T0,
    )


async def deliver(
    store: Store, at: int, outcomes: list[tuple[int, int]], retry: bool = False
) -> None:
    """Publish one event per outcome at `at`, claim them all and settle each with its
    (http status, duration ms), attempted at `at` + 1 s; `retry` leaves failures pending."""
    for _ in outcomes:
        await store.publish(
            Event(ids.new_id(ids.EVENT, at), "a", "record.error", b"{}", at), None, DAY
        )
    request = ClaimRequest(at + 1000, 30_000, 100, 100, 1000, {})
    claimed = (await store.claim(request)).jobs
    jobs = sorted(
        (j for j in claimed if j.webhook_id != operator.WEBHOOK_ID), key=lambda j: j.delivery_id
    )
    assert len(jobs) == len(outcomes)
    done = []
    for job, (status, ms) in zip(jobs, outcomes, strict=True):
        result = SendResult(status, None, ms)
        state = DeliveryStatus.DELIVERED if result.ok else DeliveryStatus.FAILED
        next_at = None
        if retry and not result.ok:
            state, next_at = DeliveryStatus.PENDING, at + DAY * 40
        done.append(Settlement(job, Attempt(job.delivery_id, at + 1000, result), state, next_at))
    assert await store.settle(done, 5 * DAY) == len(done)


async def test_a_known_history_gives_known_buckets(store: Store) -> None:
    hook = webhook()
    await store.create_webhook(hook)
    await deliver(store, T0 - 2 * HOUR, [(200, 10), (200, 20), (500, 30)])
    await deliver(store, T0, [(200, 40), (503, 400)], retry=True)
    await deliver(store, T0 - 3 * DAY, [(200, 5)])  # outside 24h, inside 7d
    await store.publish(Event(ids.new_id(ids.EVENT, T0), "a", "record.error", b"{}", T0), None, DAY)
    found = await store.webhook_stats("a", hook.id, stats.window("24h", T0 + 2000))
    assert found is not None
    last, earlier = found.buckets[-1], found.buckets[-3]
    assert (earlier.delivered, earlier.failed, earlier.attempts) == (2, 1, 3)
    assert (earlier.p50_ms, earlier.p95_ms) == (20, 30)
    assert (last.delivered, last.retrying, last.pending, last.attempts) == (1, 1, 1, 2)
    assert (last.p50_ms, last.p95_ms) == (40, 400)
    assert sum(b.delivered + b.failed + b.retrying + b.pending for b in found.buckets) == 6
    assert (found.delivered, found.failed, found.success_rate) == (3, 1, 0.75)
    assert (found.p50_ms, found.p95_ms) == (30, 400)  # of 10, 20, 30, 40, 400
    assert found.last_success_at == T0 + 1000
    assert found.last_failure_at == T0 + 1000
    week = await store.webhook_stats("a", hook.id, stats.window("7d", T0 + 2000))
    assert week is not None
    assert len(week.buckets) == 7
    assert (week.delivered, week.failed, week.retrying, week.pending) == (4, 1, 1, 1)
    assert week.buckets[-4].delivered == 1
    assert week.buckets[-4].p50_ms == 5
    assert await store.webhook_stats("b", hook.id, stats.window("24h", T0)) is None


async def test_notices_are_written_with_the_settle_only_while_an_operator_is_set(
    store: Store,
) -> None:
    hook = webhook()
    await store.create_webhook(hook)
    await deliver(store, T0, [(500, 1)])  # exhausted: no operator webhook, no notice
    ops = webhook(operator.TENANT, operator.WEBHOOK_ID)
    await store.set_operator(ops)
    assert await store.list_webhooks(operator.TENANT) == [await store.get_webhook("", ops.id)]
    await deliver(store, T0 + 2 * HOUR, [(500, 1), (500, 2)])
    log = await store.list_deliveries(operator.TENANT, ops.id, DeliveryFilter(), T0)
    assert [d.event_type for d in log] == ["message.attempt.exhausted"]
    await store.set_operator(None)
    await deliver(store, T0 + 4 * HOUR, [(500, 1)])
    log = await store.list_deliveries(operator.TENANT, ops.id, DeliveryFilter(), T0)
    assert len(log) == 1
    disabled = await store.get_webhook(operator.TENANT, ops.id)
    assert disabled is not None
    assert not disabled.active
