"""What every Store engine must do: tenancy, the one-transaction outbox, leases, settles."""

import asyncio
import time

from webhookd.domain import ids
from webhookd.domain.models import (
    Attempt,
    DeliveryStatus,
    Event,
    Job,
    SendResult,
    Settlement,
    Webhook,
)
from webhookd.store.base import Store, WebhookChanges

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
    jobs = await store.claim(T0, 10, 30_000)
    assert sorted(job.webhook_id for job in jobs) == sorted([hooks[0].id, hooks[1].id])
    assert all(job.body == b'{"event":"x"}' and job.attempts == 0 for job in jobs)


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
    [job] = await store.claim(T0, 10, 30_000)
    assert await store.claim(T0 + 29_000, 10, 30_000) == []
    [again] = await store.claim(T0 + 31_000, 10, 30_000)
    assert again.delivery_id == job.delivery_id
    assert again.lease_token != job.lease_token
    # The first worker lost its lease: its late result must not overwrite the new owner's.
    assert await store.settle([settled(job, DeliveryStatus.FAILED, T0 + 32_000)], T0) == 0
    assert await store.settle([settled(again, DeliveryStatus.DELIVERED, T0 + 33_000)], T0) == 1
    assert await store.claim(T0 + DAY, 10, 30_000) == []


async def test_claim_respects_the_limit_and_due_time(store: Store) -> None:
    await store.create_webhook(webhook())
    for offset in range(5):
        await store.publish(event(at=T0 + offset), None, DAY)
    assert await store.claim(T0 - 1, 10, 1000) == []
    first = await store.claim(T0 + 10, 3, 1000)
    rest = await store.claim(T0 + 10, 3, 1000)
    assert (len(first), len(rest)) == (3, 2)
    assert {j.delivery_id for j in first}.isdisjoint({j.delivery_id for j in rest})


async def test_pending_settle_schedules_the_next_attempt(store: Store) -> None:
    hook = webhook()
    await store.create_webhook(hook)
    await store.publish(event(), None, DAY)
    [job] = await store.claim(T0, 1, 30_000)
    await store.settle([settled(job, DeliveryStatus.PENDING, T0 + 10, next_at=T0 + 5000)], T0)
    assert await store.claim(T0 + 4999, 1, 30_000) == []
    [retry] = await store.claim(T0 + 5000, 1, 30_000)
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
    assert await store.claim(T0 + DAY, 10, 1000) == []


async def test_claim_reports_a_disabled_webhook(store: Store) -> None:
    hook = webhook()
    await store.create_webhook(hook)
    await store.publish(event(), None, DAY)
    await store.toggle_webhook("a", hook.id)
    [job] = await store.claim(T0, 1, 1000)
    assert job.webhook_active is False


async def test_publish_wakes_a_waiting_worker(store: Store) -> None:
    await store.create_webhook(webhook())
    waiter = asyncio.create_task(store.wait_for_work(5.0))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await store.publish(event(), None, DAY)
    await asyncio.wait_for(waiter, 2.0)
    assert time.monotonic() - started < 1.0


async def test_ping_answers(store: Store) -> None:
    await store.ping()
