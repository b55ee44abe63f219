"""Every Dashboard call of both clients against a running webhookd, and its errors
mapped to WebhookdAPIError with the server's own status and message."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.client.conftest import Server
from tests.client.flavors import FLAVORS, Either, dashboard, publisher
from tests.conftest import Receiver, make_token, wait_until
from webhookd.client import WebhookdAPIError

pytestmark = pytest.mark.parametrize("flavor", FLAVORS)


@pytest.fixture
async def dash(flavor: str, server: Server, token: str) -> AsyncIterator[Either]:
    either = dashboard(flavor, server.base, token)
    yield either
    await either.close()


@pytest.fixture
async def pub(flavor: str, server: Server) -> AsyncIterator[Either]:
    either = publisher(flavor, server.base, server.ingest_key)
    yield either
    await either.close()


async def test_webhooks_crud_toggle_test_rotate(dash: Either) -> None:
    types = await dash("event_types")
    assert {"name": "verification.completed"}.items() <= types[0].items() or any(
        t["name"] == "verification.completed" for t in types
    )
    with Receiver() as receiver:
        created = await dash(
            "create_webhook",
            receiver.url,
            ["verification.completed"],
            "Production webhook",
            rate_limit=50,
        )
        hook = created["id"]
        assert hook.startswith("wh_")
        assert created["secret"].startswith("whsec_")
        assert created["events"] == ["verification.completed"]
        assert created["description"] == "Production webhook"
        assert created["active"] is True
        assert created["rateLimit"] == 50

        listed = await dash("list_webhooks")
        assert [w["id"] for w in listed] == [hook]
        assert "secret" not in listed[0]
        got = await dash("get_webhook", hook)
        assert got["url"] == receiver.url
        assert got["lastTriggeredAt"] is None
        assert got["health"]["status"] == "healthy"

        changed = await dash(
            "update_webhook", hook, events=["*"], description=None, rate_limit=None
        )
        assert (changed["events"], changed["description"], changed["rateLimit"]) == (
            ["*"],
            "",
            None,
        )
        assert changed["url"] == receiver.url  # left out: kept
        # A field the client has no parameter for goes to the server as it is.
        assert (await dash("update_webhook", hook, rateLimit=7))["rateLimit"] == 7
        assert (await dash("update_webhook", hook, ordering="fifo"))["ordering"] == "fifo"

        tested = await dash("test_webhook", hook)
        assert tested == {
            "success": True,
            "httpStatus": 200,
            "message": "Test event sent successfully.",
        }
        assert receiver.wait_for(1)[0].headers["x-pacspace-event"] == "test"

        rotated = await dash("rotate_secret", hook)
        assert rotated["id"] == hook
        assert rotated["secret"].startswith("whsec_")
        assert rotated["secret"] != created["secret"]
        assert rotated["previousSecretExpiresAt"] is not None
        leaked = await dash("rotate_secret", hook, grace_seconds=0)
        assert leaked["previousSecretExpiresAt"] is None

        off = await dash("toggle_webhook", hook)
        assert off == {"id": hook, "active": False, "message": "Webhook has been disabled."}
        on = await dash("toggle_webhook", hook)
        assert on == {"id": hook, "active": True, "message": "Webhook has been enabled."}

        assert await dash("delete_webhook", hook) is None
        with pytest.raises(WebhookdAPIError) as gone:
            await dash("get_webhook", hook)
        assert (gone.value.status_code, gone.value.statusCode) == (404, 404)
        assert gone.value.message == f"Webhook {hook} not found."
        assert gone.value.error == "Not Found"
        assert await dash("list_webhooks") == []


async def test_deliveries_retry_recover_and_audit_log(
    dash: Either, pub: Either, tenant: str
) -> None:
    # 400, not 500: five 5xx answers in a row would open the circuit and hold the rest.
    with Receiver() as receiver, Receiver(status=400) as failing:
        hook = (await dash("create_webhook", receiver.url))["id"]
        bad = (await dash("create_webhook", failing.url))["id"]
        published = [
            await pub("publish", tenant, "verification.completed", {"recordId": f"rec_{n}"})
            for n in range(3)
        ]
        assert all(p["deliveries"] == 2 for p in published)
        receiver.wait_for(3)

        def delivered() -> bool:
            return len(failing.requests) == 3

        wait_until(delivered)

        # One page at a time, and every page by the iterator: newest first.
        first = await dash("list_deliveries", hook, limit=2)
        assert len(first["data"]) == 2
        assert first["nextCursor"] is not None
        second = await dash("list_deliveries", hook, limit=2, cursor=first["nextCursor"])
        assert second["nextCursor"] is None
        everything = await dash("iter_deliveries", hook, page_size=1)
        pages = first["data"] + second["data"]
        assert [d["id"] for d in everything] == [d["id"] for d in pages]
        assert [d["eventId"] for d in everything] == [p["id"] for p in reversed(published)]

        done = await dash(
            "list_deliveries", hook, status="delivered", event="verification.completed"
        )
        assert len(done["data"]) == 3
        assert (await dash("list_deliveries", hook, event="test"))["data"] == []

        newest = everything[0]
        detail = await dash("get_delivery", hook, newest["id"])
        assert detail["payload"]["data"] == {"recordId": "rec_2"}
        assert detail["attemptLog"][0]["httpStatus"] == 200
        assert detail["attemptLog"][0]["requestHeaders"]["X-PacSpace-Delivery"] == newest["id"]

        again = await dash("retry_delivery", hook, newest["id"])
        assert again["id"] == newest["id"]
        resent = receiver.wait_for(4)[-1]
        assert resent.headers["x-pacspace-delivery"] == newest["id"]

        failed = await dash("iter_deliveries", bad, status="failed")
        assert len(failed) == 3
        since = datetime.now(UTC) - timedelta(hours=1)
        assert await dash("recover", bad, since) == {"recovered": 3}
        failing.wait_for(6)

        # Disabled: resend and recover are refused with the server's reason.
        await dash("toggle_webhook", hook)
        with pytest.raises(WebhookdAPIError) as refused:
            await dash("retry_delivery", hook, newest["id"])
        assert refused.value.status_code == 409
        assert refused.value.error == "Conflict"
        assert refused.value.message.startswith(f"Webhook {hook} is disabled")
        with pytest.raises(WebhookdAPIError) as refused:
            await dash("recover", hook, (since - timedelta(days=1)).isoformat(), datetime.now(UTC))
        assert refused.value.status_code == 409

        log = await dash("audit_log", limit=2)
        assert len(log["data"]) == 2
        assert log["nextCursor"] is not None
        entries = await dash("iter_audit_log", page_size=2)
        assert [e["action"] for e in entries] == [
            "webhook.toggled",
            "deliveries.recovered",
            "delivery.retried",
            "webhook.created",
            "webhook.created",
        ]
        assert entries[:2] == log["data"]
        assert entries[0]["actor"] == tenant
        assert entries[0]["webhookId"] == hook


async def test_errors_carry_the_servers_status_and_message(
    dash: Either, flavor: str, server: Server, tenant: str
) -> None:
    with pytest.raises(WebhookdAPIError) as bad:
        await dash("create_webhook", "ftp://example.com/hook")
    assert bad.value.status_code == 400
    assert bad.value.error == "Bad Request"
    assert "url must be an absolute http:// or https:// URL" in bad.value.message
    assert bad.value.body["message"] == bad.value.message
    assert bad.value.attempts == 1

    with pytest.raises(WebhookdAPIError) as unknown:
        await dash("list_deliveries", "wh_unknown")
    assert unknown.value.status_code == 404
    assert unknown.value.message == "Webhook not found."

    with pytest.raises(WebhookdAPIError) as strict:
        await dash("list_deliveries", "wh_unknown", cursor="x" * 65)
    assert strict.value.status_code == 400

    stranger = dashboard(flavor, server.base, "not-a-jwt")
    try:
        with pytest.raises(WebhookdAPIError) as unauthenticated:
            await stranger("list_webhooks")
    finally:
        await stranger.close()
    assert unauthenticated.value.status_code == 401
    assert unauthenticated.value.error == "Unauthorized"
    assert unauthenticated.value.message.startswith("Invalid token: not a well-formed JWT")
    assert str(unauthenticated.value).startswith("HTTP 401 Unauthorized: Invalid token")


async def test_an_id_stays_one_path_segment(dash: Either) -> None:
    with pytest.raises(WebhookdAPIError) as unknown:
        await dash("get_webhook", "../event-types")
    assert unknown.value.status_code == 404


async def test_the_token_can_be_a_function_called_for_each_request(
    flavor: str, server: Server, tenant: str
) -> None:
    minted: list[str] = []

    def fresh() -> str:
        minted.append(make_token(tenant))
        return minted[-1]

    either = dashboard(flavor, server.base, fresh)
    try:
        assert await either("list_webhooks") == []
        assert await either("event_types")
    finally:
        await either.close()
    assert len(minted) == 2


async def test_headers_and_auth_go_through_the_clients(dash: Either) -> None:
    """`headers` and `auth` are fields the clients pass as they are; answers never hold
    the auth's secret."""
    with Receiver() as receiver:
        created = await dash(
            "create_webhook",
            receiver.url,
            headers={"X-Customer-Id": "cus_42"},
            auth={"type": "basic", "username": "webhookd", "password": "client-pass"},
        )
        assert created["headers"] == {"X-Customer-Id": "cus_42"}
        assert created["auth"] == {"type": "basic", "username": "webhookd"}
        hook = created["id"]
        tested = await dash("test_webhook", hook)
        assert tested["success"] is True
        [request] = receiver.requests
    assert request.headers["x-customer-id"] == "cus_42"
    assert request.headers["authorization"].startswith("Basic ")
    changed = await dash("update_webhook", hook, auth=None, headers={})
    assert (changed["headers"], changed["auth"]) == ({}, None)
    with pytest.raises(WebhookdAPIError) as refused:
        await dash("update_webhook", hook, headers={"Host": "evil"})
    assert refused.value.status_code == 400
    assert "Host" in refused.value.message
