"""Publishing with both clients against a running webhookd: one event, a batch, the
idempotency key, and the errors the publishing routes answer."""

from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest

from tests.client.conftest import Server
from tests.client.flavors import FLAVORS, Either, dashboard, publisher
from tests.conftest import WAIT, Receiver, make_token
from webhookd.client import AsyncClient, Client, WebhookdAPIError

pytestmark = pytest.mark.parametrize("flavor", FLAVORS)


@pytest.fixture
async def pub(flavor: str, server: Server) -> AsyncIterator[Either]:
    either = publisher(flavor, server.base, server.ingest_key)
    yield either
    await either.close()


@pytest.fixture
async def dash(flavor: str, server: Server, token: str) -> AsyncIterator[Either]:
    either = dashboard(flavor, server.base, token)
    yield either
    await either.close()


async def test_publish_delivers_to_every_subscribed_webhook(
    pub: Either, dash: Either, tenant: str
) -> None:
    with Receiver() as one, Receiver() as two:
        for receiver in (one, two):
            await dash("create_webhook", receiver.url, ["verification.completed"])
        published = await pub("publish", tenant, "verification.completed", {"recordId": "rec_1"})
        assert published["id"].startswith("evt_")
        assert published["deliveries"] == 2
        for receiver in (one, two):
            sent = receiver.wait_for(1)[0]
            assert sent.headers["x-pacspace-event"] == "verification.completed"
        nobody = await pub("publish", tenant, "verification.failed")
        assert nobody["deliveries"] == 0


async def test_the_same_idempotency_key_answers_the_first_event(pub: Either, tenant: str) -> None:
    first = await pub("publish", tenant, "verification.completed", {"n": 1}, "job-42")
    again = await pub(
        "publish", tenant, "verification.completed", {"n": 1}, idempotency_key="job-42"
    )
    assert again == first
    with pytest.raises(WebhookdAPIError) as reused:
        await pub("publish", tenant, "verification.completed", {"n": 2}, "job-42")
    assert reused.value.status_code == 409
    assert reused.value.error == "Conflict"
    assert "idempotency key" in reused.value.message
    # Without a key of its own, each call is a new event (its automatic key is new too).
    a = await pub("publish", tenant, "verification.completed", {"n": 1})
    b = await pub("publish", tenant, "verification.completed", {"n": 1})
    assert a["id"] != b["id"]


async def test_publish_batch_answers_in_the_order_sent(
    pub: Either, dash: Either, tenant: str
) -> None:
    with Receiver() as receiver:
        hook = (await dash("create_webhook", receiver.url))["id"]
        events = [
            {"tenantId": tenant, "event": "verification.completed", "data": {"n": n}}
            for n in range(3)
        ] + [{"tenantId": tenant, "event": "verification.failed", "idempotencyKey": "b-1"}]
        published = await pub("publish_batch", events)
        assert [p["deliveries"] for p in published] == [1, 1, 1, 1]
        assert len({p["id"] for p in published}) == 4
        receiver.wait_for(4)
        log = await dash("iter_deliveries", hook)
        assert [d["eventId"] for d in log] == [p["id"] for p in reversed(published)]
        # The keyed event is stored once: sending it again answers its first id.
        assert await pub("publish_batch", events[3:]) == published[3:]


async def test_publish_errors_carry_the_servers_message(
    pub: Either, flavor: str, server: Server, tenant: str
) -> None:
    with pytest.raises(WebhookdAPIError) as unknown:
        await pub("publish", tenant, "verification.done")
    assert unknown.value.status_code == 400
    assert unknown.value.message.startswith("Unknown event type 'verification.done'")

    with pytest.raises(WebhookdAPIError) as batch:
        await pub(
            "publish_batch",
            [
                {"tenantId": tenant, "event": "verification.completed"},
                {"tenantId": tenant, "event": "verification.done"},
            ],
        )
    assert batch.value.status_code == 400
    assert batch.value.message.startswith("events[1].event: Unknown event type")

    with pytest.raises(WebhookdAPIError) as empty:
        await pub("publish_batch", [])
    assert empty.value.status_code == 400

    stranger = publisher(flavor, server.base, "wrong-key")
    try:
        with pytest.raises(WebhookdAPIError) as unauthenticated:
            await stranger("publish", tenant, "verification.completed")
    finally:
        await stranger.close()
    assert unauthenticated.value.status_code == 401
    assert unauthenticated.value.error == "Unauthorized"
    assert "X-Api-Key" in unauthenticated.value.message

    # A Dashboard token is not an ingest key.
    token_as_key = publisher(flavor, server.base, make_token(tenant))
    try:
        with pytest.raises(WebhookdAPIError) as wrong:
            await token_as_key("publish", tenant, "verification.completed")
    finally:
        await token_as_key.close()
    assert wrong.value.status_code == 401


async def test_an_http_client_of_your_own_is_used_and_left_open(
    flavor: str, server: Server, tenant: str
) -> None:
    sent: list[httpx2.Request] = []
    own: Any
    if flavor == "sync":
        own = httpx2.Client(timeout=WAIT, event_hooks={"request": [sent.append]})
        with Client(
            server.base, server.ingest_key, http_client=own, headers={"X-Trace": "t1"}
        ) as blocking:
            blocking.publish(tenant, "verification.completed")
        assert not own.is_closed
        own.close()
    else:

        async def note(request: httpx2.Request) -> None:
            sent.append(request)

        own = httpx2.AsyncClient(timeout=WAIT, event_hooks={"request": [note]})
        async with AsyncClient(
            server.base, server.ingest_key, http_client=own, headers={"X-Trace": "t1"}
        ) as awaiting:
            await awaiting.publish(tenant, "verification.completed")
        assert not own.is_closed
        await own.aclose()
    [request] = sent
    assert request.headers["X-Trace"] == "t1"
    assert request.headers["X-Api-Key"] == server.ingest_key
    assert request.headers["User-Agent"].startswith("webhookd-client/")
