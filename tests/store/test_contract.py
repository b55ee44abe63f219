"""What every Store engine must do: tenancy, the one-transaction outbox, leases, settles."""

import asyncio
from dataclasses import replace
from typing import Any

import orjson

from tests.conftest import WAIT
from webhookd.domain import filters, ids
from webhookd.domain.circuit import Breaker
from webhookd.domain.models import (
    Attempt,
    DeliveryStatus,
    Event,
    Job,
    SendResult,
    Settlement,
    Webhook,
)
from webhookd.errors import Conflict, KeyReused
from webhookd.store.base import ClaimRequest, DeliveryFilter, WebhookChanges
from webhookd.store.engine import Store

T0 = 1_750_000_000_000
DAY = 86_400_000


def webhook(tenant: str = "a", events: tuple[str, ...] = ("*",), active: bool = True) -> Webhook:
    return Webhook(
        id=ids.new_id(ids.WEBHOOK, T0),
        tenant_id=tenant,
        url="https://example.com/hook",
        events=events,
        description="",
        secret=ids.new_secret(),
        active=active,
        created_at=T0,
    )


def event(tenant: str = "a", kind: str = "verification.completed", at: int = T0) -> Event:
    return Event(ids.new_id(ids.EVENT, at), tenant, kind, b'{"event":"x"}', at)


async def claim(
    store: Store, now: int, limit: int, lease: int = 30_000, **request: Any
) -> list[Job]:
    fields: dict[str, Any] = {"retry_slots": limit, "per_webhook": 1000, "busy": {}, **request}
    return (await store.claim(ClaimRequest(now, lease, limit, **fields))).jobs


def settled(job: Job, status: DeliveryStatus, at: int, next_at: int | None = None) -> Settlement:
    result = SendResult(200 if status is DeliveryStatus.DELIVERED else 500, None, 12, "ok")
    return Settlement(job, Attempt(job.delivery_id, at, result), status, next_at)


async def test_webhooks_are_scoped_by_tenant(store: Store) -> None:
    mine, theirs = webhook("a"), webhook("b")
    await store.create_webhook(mine)
    await store.create_webhook(theirs)
    assert [w.id for w in await store.list_webhooks("a")] == [mine.id]
    assert await store.get_webhook("a", mine.id) == mine
    assert await store.get_webhook("a", theirs.id) is None
    assert await store.update_webhook("a", theirs.id, WebhookChanges(url="https://x.io")) is None
    assert await store.toggle_webhook("a", theirs.id) is None
    assert await store.delete_webhook("a", theirs.id) is False
    assert await store.get_webhook("b", theirs.id) == theirs


async def test_update_changes_only_given_fields(store: Store) -> None:
    hook = webhook()
    await store.create_webhook(hook)
    changed = await store.update_webhook("a", hook.id, WebhookChanges(events=("record.error",)))
    assert changed is not None
    assert changed.events == ("record.error",)
    assert (changed.url, changed.description, changed.secret) == (
        hook.url,
        hook.description,
        hook.secret,
    )


async def test_toggle_flips_and_delete_removes(store: Store) -> None:
    hook = webhook()
    await store.create_webhook(hook)
    off = await store.toggle_webhook("a", hook.id)
    on = await store.toggle_webhook("a", hook.id)
    assert off is not None
    assert on is not None
    assert (off.active, on.active) == (False, True)
    assert await store.delete_webhook("a", hook.id) is True
    assert await store.list_webhooks("a") == []


async def test_publish_fans_out_to_active_subscribers_of_the_tenant(store: Store) -> None:
    hooks = [
        webhook("a", ("verification.completed",)),
        webhook("a", ("*",)),
        webhook("a", ("verification.failed",)),
        webhook("a", ("*",), active=False),
        webhook("b", ("*",)),
    ]
    for hook in hooks:
        await store.create_webhook(hook)
    published = await store.publish(event("a"), None, DAY)
    assert published.deliveries == 2
    assert published.created is True
    jobs = await claim(store, T0, 10, 30_000)
    assert sorted(job.webhook_id for job in jobs) == sorted([hooks[0].id, hooks[1].id])
    assert all(job.body == b'{"event":"x"}' and job.attempts == 0 for job in jobs)


async def test_a_payload_filter_decides_the_fan_out(store: Store) -> None:
    """A webhook with a filter gets a delivery only of events whose data matches it;
    the data comes from the event, or from its body when an event carries none."""
    big = filters.check({"amount": {"$gte": 100}})
    eur = filters.check({"currency": "EUR"})
    hooks = [
        replace(webhook("a"), filter=big),
        replace(webhook("a"), filter=eur),
        webhook("a"),  # no filter: every event
    ]
    for hook in hooks:
        await store.create_webhook(hook)
    listed = {w.id: w.filter for w in await store.list_webhooks("a")}
    assert listed == {hooks[0].id: big, hooks[1].id: eur, hooks[2].id: None}

    def priced(amount: int, currency: str, body: bool = False) -> Event:
        data = {"amount": amount, "currency": currency}
        body_bytes = orjson.dumps({"event": "verification.completed", "data": data})
        return replace(event("a"), body=body_bytes, data=None if body else data)

    matching = await store.publish(priced(150, "EUR"), None, DAY)
    assert matching.deliveries == 3
    small_usd = await store.publish(priced(5, "USD"), None, DAY)
    assert small_usd.deliveries == 1
    from_body = await store.publish(priced(500, "USD", body=True), None, DAY)
    assert from_body.deliveries == 2
    jobs = await claim(store, T0, 10)
    got = sorted((orjson.loads(j.body)["data"]["amount"], j.webhook_id) for j in jobs)
    first, second, third = (h.id for h in hooks)
    assert got == sorted(
        [(150, first), (150, second), (150, third), (5, third), (500, first), (500, third)]
    )


async def test_a_payload_filter_is_set_changed_and_removed(store: Store) -> None:
    hook = webhook()
    await store.create_webhook(hook)
    text = filters.check({"status": "failed"})
    changed = await store.update_webhook("a", hook.id, WebhookChanges(filter=text))
    assert changed is not None
    assert changed.filter == text
    kept = await store.update_webhook("a", hook.id, WebhookChanges(description="x"))
    assert kept is not None
    assert kept.filter == text
    assert (await store.publish(event(), None, DAY)).deliveries == 0  # data: none, no status
    removed = await store.update_webhook("a", hook.id, WebhookChanges(filter=""))
    assert removed is not None
    assert removed.filter is None
    assert (await store.publish(event(), None, DAY)).deliveries == 1
    assert await store.update_webhook("b", hook.id, WebhookChanges(filter=text)) is None


async def test_idempotency_key_replays_within_the_window(store: Store) -> None:
    await store.create_webhook(webhook())
    first = await store.publish(event(), "key", DAY)
    again = await store.publish(event(at=T0 + 1000), "key", DAY)
    assert (again.event_id, again.deliveries, again.created) == (first.event_id, 1, False)
    later = await store.publish(event(at=T0 + DAY + 1), "key", DAY)
    assert later.created is True
    assert later.event_id != first.event_id
    other_tenant = await store.publish(event("b"), "key", DAY)
    assert other_tenant.created is True


async def test_claim_leases_and_an_expired_lease_is_claimed_again(store: Store) -> None:
    await store.create_webhook(webhook())
    await store.publish(event(), None, DAY)
    [job] = await claim(store, T0, 10, 30_000)
    assert await claim(store, T0 + 29_000, 10, 30_000) == []
    [again] = await claim(store, T0 + 31_000, 10, 30_000)
    assert again.delivery_id == job.delivery_id
    assert again.lease_token != job.lease_token
    # The first worker lost its lease: its late result must not overwrite the new owner's.
    assert await store.settle([settled(job, DeliveryStatus.FAILED, T0 + 32_000)], DAY) == 0
    assert await store.settle([settled(again, DeliveryStatus.DELIVERED, T0 + 33_000)], DAY) == 1
    assert await claim(store, T0 + DAY, 10, 30_000) == []


async def test_claim_respects_the_limit_and_due_time(store: Store) -> None:
    await store.create_webhook(webhook())
    for offset in range(5):
        await store.publish(event(at=T0 + offset), None, DAY)
    assert await claim(store, T0 - 1, 10, 1000) == []
    first = await claim(store, T0 + 10, 3, 1000)
    rest = await claim(store, T0 + 10, 3, 1000)
    assert (len(first), len(rest)) == (3, 2)
    assert {j.delivery_id for j in first}.isdisjoint({j.delivery_id for j in rest})


async def test_pending_settle_schedules_the_next_attempt(store: Store) -> None:
    hook = webhook()
    await store.create_webhook(hook)
    await store.publish(event(), None, DAY)
    [job] = await claim(store, T0, 1, 30_000)
    await store.settle([settled(job, DeliveryStatus.PENDING, T0 + 10, next_at=T0 + 5000)], DAY)
    assert await claim(store, T0 + 4999, 1, 30_000) == []
    [retry] = await claim(store, T0 + 5000, 1, 30_000)
    assert retry.delivery_id == job.delivery_id
    assert retry.attempts == 1
    got = await store.get_webhook("a", hook.id)
    assert got is not None
    assert got.last_triggered_at == T0 + 10


async def test_deleting_a_webhook_drops_its_queued_deliveries(store: Store) -> None:
    hook = webhook()
    await store.create_webhook(hook)
    await store.publish(event(), None, DAY)
    await store.delete_webhook("a", hook.id)
    assert await claim(store, T0 + DAY, 10, 1000) == []


async def test_claim_reports_a_disabled_webhook(store: Store) -> None:
    hook = webhook()
    await store.create_webhook(hook)
    await store.publish(event(), None, DAY)
    await store.toggle_webhook("a", hook.id)
    [job] = await claim(store, T0, 1, 1000)
    assert job.webhook_active is False


async def test_publish_wakes_a_waiting_worker(store: Store) -> None:
    await store.create_webhook(webhook())
    # Listening (PostgreSQL's first wait LISTENs, and returns at once in case it missed
    # something), and no wake-up left over.
    await store.wait_for_work(0)
    waiter = asyncio.create_task(store.wait_for_work(3600))
    await asyncio.sleep(0)
    assert not waiter.done()  # it waits: nothing has been published since
    await store.publish(event(), None, DAY)
    # Woken by the publish: left alone it would wait an hour.
    await asyncio.wait_for(waiter, WAIT)


async def test_ping_answers(store: Store) -> None:
    await store.ping()


async def test_retries_use_only_their_slots_and_first_attempts_come_too(store: Store) -> None:
    await store.create_webhook(webhook())
    for offset in range(4):
        await store.publish(event(at=T0 + offset), None, DAY)
    jobs = await claim(store, T0 + 10, 4)
    for job in jobs:  # all four failed once: they are retries now
        await store.settle([settled(job, DeliveryStatus.PENDING, T0 + 20, next_at=T0 + 30)], DAY)
    for offset in range(4):
        await store.publish(event(at=T0 + 40 + offset), None, DAY)
    picked = await claim(store, T0 + 100, 4, retry_slots=1)
    assert sorted(job.attempts for job in picked) == [0, 0, 0, 1]


async def test_no_webhook_gets_more_than_its_share(store: Store) -> None:
    slow, fast = webhook(), webhook()
    await store.create_webhook(slow)
    await store.publish(event(at=T0), None, DAY)
    await store.publish(event(at=T0 + 1), None, DAY)
    await store.create_webhook(fast)
    for offset in range(2, 6):
        await store.publish(event(at=T0 + offset), None, DAY)
    # slow has 6 due, fast 4; slow already has 1 in flight in this worker
    picked = await claim(store, T0 + 10, 6, per_webhook=2, busy={slow.id: 1})
    per_hook = {hook.id: sum(job.webhook_id == hook.id for job in picked) for hook in (slow, fast)}
    assert per_hook == {slow.id: 1, fast.id: 2}


async def test_a_retry_left_out_of_its_lane_does_not_use_its_webhooks_share(store: Store) -> None:
    busy, other = webhook(), webhook()
    await store.create_webhook(busy)
    for offset in range(3):
        await store.publish(event(at=T0 + offset), None, DAY)
    for job in await claim(store, T0 + 10, 3):  # three failed attempts: now retries
        await store.settle([settled(job, DeliveryStatus.PENDING, T0 + 20, next_at=T0 + 30)], DAY)
    await store.create_webhook(other)
    for offset in range(3):
        await store.publish(event(at=T0 + 40 + offset), None, DAY)
    # One retry slot: one retry of `busy` goes, and its share (2) still has room for one
    # of its first attempts; `other` fills the rest.
    picked = await claim(store, T0 + 100, 4, retry_slots=1, per_webhook=2)
    mine = sorted(job.attempts for job in picked if job.webhook_id == busy.id)
    assert mine == [0, 1]
    assert sum(job.webhook_id == other.id for job in picked) == 2


async def test_success_resets_the_failure_clock_and_long_failure_disables(store: Store) -> None:
    hook = webhook()
    await store.create_webhook(hook)

    async def attempt(at: int, status: DeliveryStatus) -> None:
        await store.publish(event(at=at), None, DAY)
        [job] = await claim(store, at, 1)
        await store.settle([settled(job, status, at)], 2 * DAY)

    await attempt(T0, DeliveryStatus.FAILED)
    await attempt(T0 + DAY, DeliveryStatus.DELIVERED)  # resets the clock
    await attempt(T0 + 2 * DAY, DeliveryStatus.FAILED)
    await attempt(T0 + 3 * DAY, DeliveryStatus.FAILED)
    still = await store.get_webhook("a", hook.id)
    assert still is not None
    assert still.active is True
    await attempt(T0 + 4 * DAY, DeliveryStatus.FAILED)  # failing for 2 days now
    off = await store.get_webhook("a", hook.id)
    assert off is not None
    assert off.active is False
    assert off.disabled_reason is not None
    assert "2.0 days" in off.disabled_reason
    on = await store.toggle_webhook("a", hook.id)
    assert on is not None
    assert (on.active, on.disabled_reason) == (True, None)


async def test_a_disable_reason_disables_at_once(store: Store) -> None:
    hook = webhook()
    await store.create_webhook(hook)
    await store.publish(event(), None, DAY)
    [job] = await claim(store, T0, 1)
    gone = Settlement(
        job, Attempt(job.delivery_id, T0, SendResult(410, None, 3)), DeliveryStatus.FAILED,
        disable_reason="gone",
    )  # fmt: skip
    await store.settle([gone], DAY)
    got = await store.get_webhook("a", hook.id)
    assert got is not None
    assert (got.active, got.disabled_reason) == (False, "gone")


async def test_delivery_log_pages_newest_first_with_filters(store: Store) -> None:
    hook = webhook()
    await store.create_webhook(hook)
    for offset, kind in enumerate(["verification.completed", "verification.failed"] * 3):
        await store.publish(event(kind=kind, at=T0 + offset), None, DAY)
    everything = await store.list_deliveries("a", hook.id, DeliveryFilter(limit=10), T0)
    assert [d.created_at for d in everything] == [T0 + 5 - i for i in range(6)]
    page = await store.list_deliveries("a", hook.id, DeliveryFilter(limit=4), T0)
    rest = await store.list_deliveries(
        "a", hook.id, DeliveryFilter(before=page[-1].id, limit=4), T0
    )
    assert [d.id for d in page + rest] == [d.id for d in everything]
    failed_kind = DeliveryFilter(event_type="verification.failed", limit=10)
    assert len(await store.list_deliveries("a", hook.id, failed_kind, T0)) == 3
    pending = DeliveryFilter(status=DeliveryStatus.PENDING, limit=10)
    assert len(await store.list_deliveries("a", hook.id, pending, T0)) == 6
    assert await store.list_deliveries("b", hook.id, DeliveryFilter(), T0) == []


async def test_delivery_detail_has_body_and_every_attempt(store: Store) -> None:
    hook = webhook()
    await store.create_webhook(hook)
    await store.publish(event(), None, DAY)
    [job] = await claim(store, T0, 1)
    await store.settle([settled(job, DeliveryStatus.PENDING, T0 + 1, next_at=T0 + 2)], DAY)
    [job] = await claim(store, T0 + 2, 1)
    await store.settle([settled(job, DeliveryStatus.DELIVERED, T0 + 3)], DAY)
    detail = await store.get_delivery("a", hook.id, job.delivery_id, T0 + 4)
    assert detail is not None
    assert detail.body == b'{"event":"x"}'
    assert [(a.attempted_at, a.result.http_status) for a in detail.attempts] == [
        (T0 + 1, 500),
        (T0 + 3, 200),
    ]
    assert detail.delivery.status is DeliveryStatus.DELIVERED
    assert detail.delivery.next_attempt_at is None
    assert await store.get_delivery("b", hook.id, job.delivery_id, T0) is None


async def test_resend_reuses_the_id_and_refuses_while_in_flight(store: Store) -> None:
    from webhookd.errors import Conflict

    hook = webhook()
    await store.create_webhook(hook)
    await store.publish(event(), None, DAY)
    [job] = await claim(store, T0, 1)
    try:
        await store.resend("a", hook.id, job.delivery_id, T0 + 1)
        raise AssertionError("resend of an in-flight delivery must raise Conflict")
    except Conflict:
        pass
    await store.settle([settled(job, DeliveryStatus.FAILED, T0 + 2)], DAY)
    again = await store.resend("a", hook.id, job.delivery_id, T0 + 3)
    assert again is not None
    assert (again.id, again.status, again.next_attempt_at) == (
        job.delivery_id,
        DeliveryStatus.PENDING,
        T0 + 3,
    )
    [resent] = await claim(store, T0 + 3, 1)
    assert resent.delivery_id == job.delivery_id
    assert resent.manual is True
    assert await store.resend("b", hook.id, job.delivery_id, T0) is None


async def test_recover_requeues_failed_deliveries_in_the_window_once(store: Store) -> None:
    hook = webhook()
    await store.create_webhook(hook)
    for offset in range(5):
        await store.publish(event(at=T0 + offset * 1000), None, DAY)
    jobs = await claim(store, T0 + 10_000, 5)
    statuses = [DeliveryStatus.FAILED] * 4 + [DeliveryStatus.DELIVERED]
    ordered = sorted(jobs, key=lambda j: j.delivery_id)
    await store.settle(
        [settled(j, s, T0 + 10_001) for j, s in zip(ordered, statuses, strict=True)], DAY
    )
    # Failed: created at +0..+3 s. The window [+1 s, +4 s) holds three of them; the limit
    # takes the oldest two first, a second call the third, a third call finds none left.
    assert await store.recover("a", hook.id, T0 + 1000, T0 + 4000, T0 + 20_000, 2) == 2
    assert await store.recover("a", hook.id, T0 + 1000, T0 + 4000, T0 + 20_000, 2) == 1
    assert await store.recover("a", hook.id, T0 + 1000, T0 + 4000, T0 + 20_000, 2) == 0
    requeued = await claim(store, T0 + 20_000, 10)
    assert sorted(j.delivery_id for j in requeued) == [j.delivery_id for j in ordered[1:4]]
    assert all(j.manual for j in requeued)
    assert await store.recover("b", hook.id, T0, T0 + 9000, T0 + 20_000, 10) == -1


async def test_test_sends_are_logged(store: Store) -> None:
    hook = webhook()
    await store.create_webhook(hook)
    test_event = Event(ids.new_id(ids.EVENT, T0), "a", "test", b"{}", T0)
    attempt = Attempt(ids.new_id(ids.DELIVERY, T0), T0, SendResult(None, "refused", 4), {"X": "1"})
    delivery_id = await store.record_test(hook, test_event, attempt)
    detail = await store.get_delivery("a", hook.id, delivery_id, T0)
    assert detail is not None
    assert (detail.delivery.event_type, detail.delivery.status) == ("test", DeliveryStatus.FAILED)
    assert detail.attempts[0].result.error == "refused"
    assert detail.attempts[0].request_headers == {"X": "1"}
    got = await store.get_webhook("a", hook.id)
    assert got is not None
    assert got.last_triggered_at == T0
    assert await claim(store, T0 + DAY, 10) == []
    # A failed test send is a probe, not an event the receiver missed: recover skips it.
    assert await store.recover("a", hook.id, T0 - DAY, T0 + DAY, T0 + DAY, 10) == 0


async def test_purge_removes_old_finished_events_in_batches(store: Store) -> None:
    hook = webhook()
    await store.create_webhook(hook)
    for offset in range(5):
        await store.publish(event(at=T0 + offset), None, DAY)
    jobs = await claim(store, T0 + 10, 3)
    await store.settle([settled(j, DeliveryStatus.DELIVERED, T0 + 11) for j in jobs], DAY)
    await store.publish(event(at=T0 + DAY), None, DAY)  # young: kept
    # Three finished old events; two still pending (kept until they finish).
    assert await store.purge(T0 + DAY, 2) == 2
    assert await store.purge(T0 + DAY, 2) == 1
    assert await store.purge(T0 + DAY, 2) == 0
    left = await store.list_deliveries("a", hook.id, DeliveryFilter(limit=10), T0 + DAY)
    assert len(left) == 3
    assert all(d.status is DeliveryStatus.PENDING for d in left)


async def test_queue_stats_count_the_backlog_and_auto_disabled_webhooks(store: Store) -> None:
    empty = await store.queue_stats(T0)
    assert (empty.pending, empty.due, empty.oldest_due_ms, empty.auto_disabled) == (0, 0, 0, 0)
    hooks = [webhook(), webhook(), webhook()]
    for hook in hooks:
        await store.create_webhook(hook)
    await store.publish(event(at=T0), None, DAY)  # 3 deliveries due at T0
    stats = await store.queue_stats(T0 + 1500)
    assert (stats.pending, stats.due, stats.oldest_due_ms) == (3, 3, 1500)
    first, second, third = await claim(store, T0 + 1500, 3)
    leased = await store.queue_stats(T0 + 1500)
    assert (leased.pending, leased.due, leased.oldest_due_ms) == (3, 0, 0)  # in flight
    later = settled(first, DeliveryStatus.PENDING, T0 + 1600, next_at=T0 + 60_000)
    gone = Settlement(
        third, Attempt(third.delivery_id, T0 + 1600, SendResult(410, None, 3)),
        DeliveryStatus.FAILED, disable_reason="gone",
    )  # fmt: skip
    await store.settle([later, settled(second, DeliveryStatus.DELIVERED, T0 + 1600), gone], DAY)
    stats = await store.queue_stats(T0 + 2000)
    assert (stats.pending, stats.due, stats.oldest_due_ms, stats.auto_disabled) == (1, 0, 0, 1)
    assert (await store.queue_stats(T0 + 61_000)).oldest_due_ms == 1000


async def test_concurrent_publishes_with_one_key_make_one_event(store: Store) -> None:
    """A client retrying in parallel: every call answers, with the same event."""
    await store.create_webhook(webhook())
    for n in range(5):
        tries = [event() for _ in range(5)]
        results = await asyncio.gather(*(store.publish(e, f"key-{n}", DAY) for e in tries))
        assert len({r.event_id for r in results}) == 1
        assert sum(r.created for r in results) == 1
    assert len(await claim(store, T0, 100)) == 5


async def test_a_rotation_without_grace_is_never_undone_by_a_concurrent_one(
    store: Store,
) -> None:
    """Whatever order two rotations commit in, the first secret never signs again."""
    for _ in range(10):
        hook = webhook()
        await store.create_webhook(hook)
        revoke = store.rotate_secret("a", hook.id, "sealed-revoke", 0, T0)
        rotate = store.rotate_secret("a", hook.id, "sealed-rotate", DAY, T0)
        await asyncio.gather(revoke, rotate)
        got = await store.get_webhook("a", hook.id)
        assert got is not None
        assert hook.secret not in [old.sealed for old in got.old_secrets]
        assert got.secret in ("sealed-revoke", "sealed-rotate")


async def test_a_tenant_cannot_create_more_webhooks_than_its_limit(store: Store) -> None:
    attempts = [store.create_webhook(webhook("a"), limit=3) for _ in range(5)]
    results = await asyncio.gather(*attempts, return_exceptions=True)
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(refused) == 2  # even when the creates race each other
    assert len(await store.list_webhooks("a")) == 3
    await store.create_webhook(webhook("b"), limit=3)  # the limit is per tenant


async def test_a_webhook_the_retry_lane_fills_does_not_crowd_out_first_attempts(
    store: Store,
) -> None:
    busy, other = webhook(), webhook()
    await store.create_webhook(busy)
    await store.publish(event(at=T0), None, DAY)
    [job] = await claim(store, T0 + 10, 1)
    await store.settle([settled(job, DeliveryStatus.PENDING, T0 + 20, next_at=T0 + 30)], DAY)
    for offset in range(1, 9):  # a backlog of first attempts for the same webhook
        await store.publish(event(at=T0 + offset), None, DAY)
    await store.create_webhook(other)
    await store.publish(event(at=T0 + 9), None, DAY)
    # The retry takes busy's one slot; the first-attempt slot must go to other, whose
    # delivery is due behind busy's backlog (which busy may not take: it is at its cap).
    picked = await claim(store, T0 + 100, 2, retry_slots=1, per_webhook=1)
    assert sorted((job.webhook_id == other.id, job.attempts) for job in picked) == [
        (False, 1),
        (True, 0),
    ]


async def test_publishes_group_committed_together_keep_each_its_own_outcome(store: Store) -> None:
    await store.create_webhook(webhook())
    first = await store.publish(event(), "key-1", DAY)
    # Published at once: all but the first of them wait for one transaction together.
    # One reuses key-1 for other data (a conflict), two share key-2 (one event).
    clash = Event(ids.new_id(ids.EVENT, T0), "a", "x", b"{}", T0, fingerprint="other")
    batch = [event() for _ in range(5)] + [clash, event(), event()]
    keys = [None] * 5 + ["key-1", "key-2", "key-2"]
    outcomes = await asyncio.gather(
        *(store.publish(e, k, DAY) for e, k in zip(batch, keys, strict=True)),
        return_exceptions=True,
    )
    assert isinstance(outcomes[5], Conflict)  # only the clashing publish failed
    good = [o for o in outcomes[:5] + outcomes[6:] if not isinstance(o, BaseException)]
    assert len(good) == 7  # none of the others failed
    assert good[5].event_id == good[6].event_id  # the two with key-2: one event
    assert [o.created for o in good] == [True] * 6 + [False]
    assert first.created
    stats = await store.queue_stats(T0)
    assert stats.pending == 1 + 5 + 1  # key-1's event, five plain ones, key-2's once


def fingerprinted(tenant: str = "a", kind: str = "verification.completed", data: str = "") -> Event:
    """An event as the service makes it: its fingerprint says what was published."""
    return Event(ids.new_id(ids.EVENT, T0), tenant, kind, b"{}", T0, fingerprint=kind + data)


async def test_publish_all_fans_out_every_item_and_keeps_their_order(store: Store) -> None:
    every, completed = webhook("a"), webhook("a", ("verification.completed",))
    for hook in (every, completed, webhook("b")):
        await store.create_webhook(hook)
    kinds = ["verification.completed", "verification.failed"] * 15
    items = [(event("a", kind), None) for kind in kinds]  # one millisecond: random ids
    published = await store.publish_all(items, DAY)
    assert [p.event_id for p in published] == [e.id for e, _ in items]
    assert [p.deliveries for p in published] == [2, 1] * 15
    assert all(p.created for p in published)
    newest_first = await store.list_deliveries("a", every.id, DeliveryFilter(limit=100), T0)
    assert [d.event_id for d in reversed(newest_first)] == [e.id for e, _ in items]
    only = await store.list_deliveries("a", completed.id, DeliveryFilter(limit=100), T0)
    assert [d.event_id for d in reversed(only)] == [e.id for e, _ in items[::2]]


async def test_publish_all_keys_work_per_item(store: Store) -> None:
    await store.create_webhook(webhook())
    [earlier] = await store.publish_all([(fingerprinted(data="0"), "k0")], DAY)

    def batch() -> list[tuple[Event, str | None]]:  # as sent: new event ids each time
        return [
            (fingerprinted(data="0"), "k0"),  # published before: answers that event
            (fingerprinted(data="1"), "k1"),
            (fingerprinted(), None),
            (fingerprinted(data="1"), "k1"),  # the same key earlier in this batch
        ]

    first = await store.publish_all(batch(), DAY)
    assert [p.created for p in first] == [False, True, True, False]
    assert first[0].event_id == earlier.event_id
    assert first[3].event_id == first[1].event_id
    replayed = await store.publish_all(batch(), DAY)  # the whole batch again
    assert [p.event_id for i, p in enumerate(replayed) if i != 2] == [
        p.event_id for i, p in enumerate(first) if i != 2
    ]
    assert [p.created for p in replayed] == [False, False, True, False]  # no key: new
    assert (await store.queue_stats(T0)).pending == 1 + 2 + 1  # k0, k1 and two unkeyed


async def test_publish_all_stores_nothing_when_one_item_reuses_a_key(store: Store) -> None:
    await store.create_webhook(webhook())
    await store.publish_all([(fingerprinted(data="0"), "k0")], DAY)

    def items() -> list[tuple[Event, str | None]]:
        return [(fingerprinted(), None), (fingerprinted(data="1"), "k1"), (fingerprinted(), "k2")]

    clash = [*items(), (fingerprinted(data="other"), "k0"), (fingerprinted(), None)]
    # Beside other publishes, which on SQLite share its transaction (group commit).
    outcomes = await asyncio.gather(
        store.publish(fingerprinted(), None, DAY),
        store.publish_all(clash, DAY),
        store.publish(fingerprinted(), "k3", DAY),
        return_exceptions=True,
    )
    assert isinstance(outcomes[1], KeyReused)
    assert outcomes[1].index == 3
    assert [getattr(outcomes[n], "created", None) for n in (0, 2)] == [True, True]
    assert (await store.queue_stats(T0)).pending == 1 + 2  # k0's event, the two singles
    again = await store.publish_all(items(), DAY)  # k1 and k2 were never stored
    assert [p.created for p in again] == [True, True, True]


async def test_batches_that_share_keys_neither_deadlock_nor_duplicate(store: Store) -> None:
    """Two clients sending the same keys in opposite orders, at once."""
    await store.create_webhook(webhook())
    for round_ in range(3):
        keys = [f"r{round_}-k{n}" for n in range(30)]
        forward = [(fingerprinted(data=k), k) for k in keys]
        backward = [(fingerprinted(data=k), k) for k in reversed(keys)]
        one, other = await asyncio.gather(
            store.publish_all(forward, DAY), store.publish_all(backward, DAY)
        )
        assert [p.event_id for p in one] == [p.event_id for p in reversed(other)]
        assert sum(p.created for p in one + other) == 30
    assert (await store.queue_stats(T0)).pending == 90


async def test_a_probe_taken_before_the_claim_looks_again_is_leased(store: Store) -> None:
    """The claim reads first attempts again when retries filled webhooks whose backlog
    took the window; what it had already taken from the first read must stay taken."""
    half_open, busy, other = webhook("h"), webhook("b"), webhook("o")
    unproven = [webhook(f"u{n}") for n in range(14)]
    for hook in (half_open, busy, other, *unproven):
        await store.create_webhook(hook)
    # half_open: one failure opened its circuit, which is half-open by T0 - 800
    await store.publish(event("h", at=T0 - 1000), None, DAY)
    [job] = await claim(store, T0 - 1000, 1)
    opener = Breaker(failures=1, cooldown_ms=100)
    await store.settle([settled(job, DeliveryStatus.FAILED, T0 - 900)], DAY, opener)
    # busy: a retry due, which fills its window of one
    await store.publish(event("b", at=T0 - 500), None, DAY)
    [job] = await claim(store, T0 - 500, 1)
    await store.settle([settled(job, DeliveryStatus.PENDING, T0 - 400, next_at=T0 + 50)], DAY)
    # first attempts, oldest first: 14 of unproven webhooks, then busy's, half_open's, other's
    for n in range(14):
        await store.publish(event(f"u{n}", at=T0 + 1 + n), None, DAY)
    for n, tenant in enumerate(("b", "h", "o")):
        await store.publish(event(tenant, at=T0 + 15 + n), None, DAY)
    # 4 slots, 1 for retries, 1 for unproven webhooks: the 16 first attempts read are
    # 14 unproven, one of busy (full after its retry) and half_open's probe.
    proven = frozenset({half_open.id, busy.id, other.id})
    picked = await claim(
        store, T0 + 100, 4, retry_slots=1, per_webhook=1, unproven_slots=1, proven=proven
    )
    assert sorted((job.webhook_id, job.attempts, job.probe) for job in picked) == sorted(
        [(busy.id, 1, False), (unproven[0].id, 0, False), (half_open.id, 0, True)]
    )
