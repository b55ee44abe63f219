"""Retries only where a second send is harmless. `Flaky` (conftest) stands in front of
a running webhookd and answers 503 (or 429) a given number of times, counting every
request; a port with nothing listening stands for a server that cannot be reached."""

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.client.conftest import Flaky, Server
from tests.client.flavors import FLAVORS, Either, dashboard, publisher
from webhookd.client import (
    DEFAULT_TIMEOUT,
    AsyncClient,
    Client,
    DashboardClient,
    RetryPolicy,
    WebhookdAPIError,
)
from webhookd.testing import free_port

pytestmark = pytest.mark.parametrize("flavor", FLAVORS)
NO_WAIT = RetryPolicy(backoff=0.0)  # the backoff's arithmetic is tested without a server


@pytest.fixture
def flaky(server: Server) -> Iterator[Flaky]:
    with Flaky(server.base) as running:
        yield running


async def _dash(flavor: str, base: str, token: str, **options: Any) -> Either:
    return dashboard(flavor, base, token, retry=options.pop("retry", NO_WAIT), **options)


async def test_an_idempotent_call_is_retried_until_it_succeeds(
    flavor: str, flaky: Flaky, token: str
) -> None:
    flaky.fail = 2
    either = await _dash(flavor, flaky.base, token)
    try:
        assert await either("list_webhooks") == []
    finally:
        await either.close()
    assert flaky.count == 3
    assert {(s.method, s.path) for s in flaky.seen} == {("GET", "/dashboard/webhooks")}


@pytest.mark.parametrize("status", [429, 502, 503, 504])
async def test_patch_and_delete_are_retried_on_each_come_back_status(
    flavor: str, status: int, server: Server, flaky: Flaky, token: str
) -> None:
    direct = await _dash(flavor, server.base, token)
    either = await _dash(flavor, flaky.base, token)
    try:
        hook = (await direct("create_webhook", "https://example.com/hook"))["id"]
        flaky.fail, flaky.status = 1, status
        assert (await either("update_webhook", hook, description="new"))["description"] == "new"
        flaky.fail = 3
        assert await either("delete_webhook", hook) is None
    finally:
        await either.close()
        await direct.close()
    assert [s.method for s in flaky.seen] == ["PATCH", "PATCH", "DELETE", "DELETE"]


NOT_IDEMPOTENT = [
    ("create_webhook", ("https://example.com/hook",)),
    ("toggle_webhook", ("{hook}",)),
    ("test_webhook", ("{hook}",)),
    ("rotate_secret", ("{hook}",)),
    ("retry_delivery", ("{hook}", "dlv_unknown")),
    ("recover", ("{hook}", "{since}")),
]


@pytest.mark.parametrize(("name", "args"), NOT_IDEMPOTENT, ids=[n for n, _ in NOT_IDEMPOTENT])
async def test_a_post_that_acts_is_never_retried(
    flavor: str, name: str, args: tuple[str, ...], server: Server, flaky: Flaky, token: str
) -> None:
    direct = await _dash(flavor, server.base, token)
    either = await _dash(flavor, flaky.base, token)
    try:
        hook = (await direct("create_webhook", "https://example.com/hook"))["id"]
        values = {"hook": hook, "since": "2099-01-01T00:00:00.000Z"}
        flaky.fail = 1
        with pytest.raises(WebhookdAPIError) as busy:
            await either(name, *(a.format(**values) for a in args))
        assert (busy.value.status_code, busy.value.attempts) == (503, 1)
        assert busy.value.message == "Try again soon."
        assert busy.value.retry_after == 0
        assert flaky.count == 1
    finally:
        await either.close()
        await direct.close()


async def test_retries_end_with_the_last_failure(flavor: str, flaky: Flaky, token: str) -> None:
    flaky.fail = 100
    either = await _dash(flavor, flaky.base, token, retry=RetryPolicy(max_retries=2, backoff=0))
    try:
        with pytest.raises(WebhookdAPIError) as busy:
            await either("get_webhook", "wh_x")
    finally:
        await either.close()
    assert (busy.value.status_code, busy.value.error, busy.value.attempts) == (503, "Busy", 3)
    assert flaky.count == 3


async def test_a_retry_after_longer_than_allowed_is_not_waited_out(
    flavor: str, flaky: Flaky, token: str
) -> None:
    flaky.fail, flaky.retry_after = 1, "120"
    either = await _dash(flavor, flaky.base, token)
    try:
        with pytest.raises(WebhookdAPIError) as busy:
            await either("list_webhooks")
    finally:
        await either.close()
    assert busy.value.retry_after == 120
    assert flaky.count == 1


@dataclass(frozen=True)
class Recording(RetryPolicy):
    """A RetryPolicy that notes what it was asked, and never waits."""

    asked: list[tuple[int, float | None]] = field(default_factory=list)

    def delay(self, retry: int, retry_after: float | None) -> float | None:
        self.asked.append((retry, retry_after))
        return 0.0 if RetryPolicy.delay(self, retry, retry_after) is not None else None


async def test_the_wait_is_the_answers_retry_after(flavor: str, flaky: Flaky, token: str) -> None:
    flaky.fail, flaky.retry_after = 2, "7"
    policy = Recording()
    either = await _dash(flavor, flaky.base, token, retry=policy)
    try:
        assert await either("event_types")
    finally:
        await either.close()
    assert policy.asked == [(1, 7.0), (2, 7.0)]


async def test_publish_with_an_automatic_key_is_retried_and_stored_once(
    flavor: str, server: Server, flaky: Flaky, tenant: str, token: str
) -> None:
    direct = await _dash(flavor, server.base, token)
    hook = (await direct("create_webhook", "https://example.com/hook"))["id"]
    # The first answer is lost after webhookd stored the event.
    flaky.fail, flaky.forward_failed = 1, True
    pub = publisher(flavor, flaky.base, server.ingest_key, retry=NO_WAIT)
    try:
        published = await pub("publish", tenant, "verification.completed", {"n": 1})
        log = await direct("iter_deliveries", hook)
    finally:
        await pub.close()
        await direct.close()
    assert flaky.count == 2
    first, second = (s.body for s in flaky.seen)
    assert first == second
    assert first["idempotencyKey"].startswith("auto_")
    assert flaky.upstream_answers[0]["data"] == published == flaky.upstream_answers[1]["data"]
    assert [d["eventId"] for d in log] == [published["id"]]


async def test_a_batch_gets_a_key_per_event_and_is_retried(
    flavor: str, server: Server, flaky: Flaky, tenant: str
) -> None:
    flaky.fail, flaky.forward_failed = 1, True
    pub = publisher(flavor, flaky.base, server.ingest_key, retry=NO_WAIT)
    events = [{"tenantId": tenant, "event": "verification.completed"} for _ in range(3)]
    try:
        published = await pub("publish_batch", [*events, {**events[0], "idempotencyKey": "k"}])
    finally:
        await pub.close()
    assert flaky.count == 2
    keys = [e["idempotencyKey"] for e in flaky.seen[0].body["events"]]
    assert keys[3] == "k"
    assert len(set(keys)) == 4
    assert flaky.seen[1].body == flaky.seen[0].body
    assert flaky.upstream_answers[0]["data"] == published


async def test_without_automatic_keys_only_keyed_publishes_are_retried(
    flavor: str, server: Server, flaky: Flaky, tenant: str
) -> None:
    pub = publisher(
        flavor, flaky.base, server.ingest_key, retry=NO_WAIT, auto_idempotency_key=False
    )
    keyed = {"tenantId": tenant, "event": "verification.completed", "idempotencyKey": "kept"}
    try:
        flaky.fail_next(1)
        with pytest.raises(WebhookdAPIError):
            await pub("publish", tenant, "verification.completed")
        assert flaky.count == 1
        assert "idempotencyKey" not in flaky.seen[0].body

        flaky.fail_next(1)
        with pytest.raises(WebhookdAPIError):  # one event of the batch has no key
            await pub(
                "publish_batch", [keyed, {"tenantId": tenant, "event": "verification.failed"}]
            )
        assert flaky.count == 2

        flaky.fail_next(1)
        assert (await pub("publish", tenant, "verification.completed", None, "own"))["id"]
        assert flaky.count == 4
        assert flaky.seen[2].body["idempotencyKey"] == "own"

        flaky.fail_next(1)
        assert (await pub("publish_batch", [keyed]))[0]["id"]
        assert flaky.count == 6
    finally:
        await pub.close()


async def test_no_answer_is_status_0_and_retried_only_when_safe(flavor: str, tenant: str) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    either = await _dash(flavor, nowhere, "token", retry=RetryPolicy(max_retries=2, backoff=0))
    pub = publisher(flavor, nowhere, "key", retry=RetryPolicy(max_retries=2, backoff=0))
    try:
        with pytest.raises(WebhookdAPIError) as read:
            await either("list_webhooks")
        with pytest.raises(WebhookdAPIError) as create:
            await either("create_webhook", "https://example.com/hook")
        with pytest.raises(WebhookdAPIError) as published:
            await pub("publish", tenant, "verification.completed")
    finally:
        await either.close()
        await pub.close()
    for failure in (read.value, create.value, published.value):
        assert (failure.status_code, failure.statusCode, failure.error) == (0, 0, "ConnectError")
        assert not failure.answered
        assert failure.message.startswith("No answer from the server")
        assert failure.retry_after is None
    assert (read.value.attempts, create.value.attempts, published.value.attempts) == (3, 1, 3)
    assert str(create.value).startswith("ConnectError: No answer")


async def test_a_server_that_never_answers_times_out(flavor: str) -> None:
    with socket.socket() as silent:  # accepts connections (the backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        base = f"http://127.0.0.1:{silent.getsockname()[1]}"
        either = await _dash(flavor, base, "token", timeout=0.2, retry=RetryPolicy(max_retries=0))
        try:
            with pytest.raises(WebhookdAPIError) as late:
                await either("list_webhooks")
        finally:
            await either.close()
    assert (late.value.status_code, late.value.error) == (0, "ReadTimeout")


def test_timeouts_are_on_by_default(flavor: str) -> None:
    kind = Client if flavor == "sync" else AsyncClient
    client = kind("http://127.0.0.1:1", "key")
    timeout = client._http.timeout
    assert timeout == DEFAULT_TIMEOUT
    assert (timeout.connect, timeout.read, timeout.write, timeout.pool) == (5.0, 30.0, 30.0, 30.0)
    assert DashboardClient("http://127.0.0.1:1", "t")._http.timeout == DEFAULT_TIMEOUT
