"""`AsyncClient` and `AsyncDashboardClient`: `_sync.py` with `await`, for asyncio.

Change one, change the other."""

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self, cast

import httpx2

from webhookd.client import _calls as calls
from webhookd.client._calls import UNSET, Unset
from webhookd.client._core import (
    DEFAULT_TIMEOUT,
    Call,
    RetryPolicy,
    WebhookdAPIError,
    answer,
    base_headers,
    batch_call,
    new_event,
    no_answer,
    publish_call,
    worth_retrying,
)
from webhookd.client._types import (
    AuditEntry,
    CreatedWebhook,
    Delivery,
    DeliveryDetail,
    DeliveryStatus,
    EventType,
    NewEvent,
    Page,
    Published,
    Recovered,
    RotatedSecret,
    SendTestResult,
    Toggled,
    Webhook,
)


class _Base:
    def __init__(
        self,
        base_url: str,
        credential: Callable[[], dict[str, str]],
        timeout: float | httpx2.Timeout | None,
        retry: RetryPolicy,
        headers: Mapping[str, str] | None,
        http_client: httpx2.AsyncClient | None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry
        self._credential = credential
        self._own = http_client is None
        self._http = http_client or httpx2.AsyncClient(timeout=timeout, follow_redirects=False)
        self._headers = base_headers(headers)

    async def _send(self, call: Call) -> Any:
        """The answer's parsed body; retried while the call is idempotent and the
        failure is worth it (RetryPolicy); WebhookdAPIError for the last failure."""
        url = self.base_url + call.path
        made = 0
        while True:
            made += 1
            failure: WebhookdAPIError | httpx2.TransportError
            try:
                response = await self._http.request(
                    call.method,
                    url,
                    json=call.json,
                    params=call.params,
                    headers={**self._headers, **self._credential()},
                )
            except httpx2.TransportError as exc:
                failure, error = exc, no_answer(call, url, exc, made)
            else:
                try:
                    return answer(call, response, made)
                except WebhookdAPIError as exc:
                    failure = error = exc
            wait = (
                self.retry.delay(made, error.retry_after) if worth_retrying(call, failure) else None
            )
            if wait is None:
                raise error from (failure if failure is not error else None)
            await asyncio.sleep(wait)

    async def _data(self, call: Call) -> Any:
        return (await self._send(call))["data"]

    async def _page(self, call: Call) -> Any:
        body = await self._send(call)
        return {"data": body["data"], "nextCursor": body.get("nextCursor")}

    async def aclose(self) -> None:
        """Close the connections (not those of an `http_client` passed in)."""
        if self._own:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


class AsyncClient(_Base):
    """The publishing API (`POST /events`, `POST /events/batch`), with the ingest key.

    `publish` and `publish_batch` give every event without an idempotency key one of
    its own (`auto_…`), unless `auto_idempotency_key=False`: then a retry, after a lost
    answer, cannot store an event twice. An event without a key is never retried.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float | httpx2.Timeout | None = DEFAULT_TIMEOUT,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, so sharing it is safe
        auto_idempotency_key: bool = True,
        headers: Mapping[str, str] | None = None,
        http_client: httpx2.AsyncClient | None = None,
    ) -> None:
        key = {"X-Api-Key": api_key}
        super().__init__(base_url, lambda: key, timeout, retry, headers, http_client)
        self.auto_idempotency_key = auto_idempotency_key

    async def publish(
        self,
        tenant_id: str,
        event: str,
        data: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Published:
        """Publish one event to every subscribed webhook of the tenant: `{id, deliveries}`."""
        item = new_event(tenant_id, event, data, idempotency_key)
        return cast(Published, await self._data(publish_call(item, self.auto_idempotency_key)))

    async def publish_batch(self, events: Sequence[NewEvent]) -> list[Published]:
        """Publish 1 to 1,000 events (`{"tenantId", "event", "data", "idempotencyKey"?}`)
        in one transaction, all or none; the answers in the order sent."""
        call = batch_call(events, self.auto_idempotency_key)
        return cast(list[Published], await self._data(call))


class AsyncDashboardClient(_Base):
    """The Dashboard API with a tenant's JWT: `token` is the token, or a function that
    returns a valid one (called before every request, so it can renew an expiring one)."""

    def __init__(
        self,
        base_url: str,
        token: str | Callable[[], str],
        *,
        timeout: float | httpx2.Timeout | None = DEFAULT_TIMEOUT,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, so sharing it is safe
        headers: Mapping[str, str] | None = None,
        http_client: httpx2.AsyncClient | None = None,
    ) -> None:
        def bearer() -> dict[str, str]:
            return {"Authorization": f"Bearer {token() if callable(token) else token}"}

        super().__init__(base_url, bearer, timeout, retry, headers, http_client)

    async def list_webhooks(self) -> list[Webhook]:
        return cast(list[Webhook], await self._data(calls.list_webhooks()))

    async def get_webhook(self, webhook_id: str) -> Webhook:
        return cast(Webhook, await self._data(calls.get_webhook(webhook_id)))

    async def create_webhook(
        self,
        url: str,
        events: Sequence[str] | None = None,
        description: str | None = None,
        *,
        rate_limit: int | None = None,
        **fields: Any,
    ) -> CreatedWebhook:
        """Register an endpoint; the answer holds its `secret`, shown this once. `fields`
        are sent as they are (camelCase), for what a newer server accepts."""
        call = calls.create_webhook(url, events, description, rate_limit, fields)
        return cast(CreatedWebhook, await self._data(call))

    async def update_webhook(
        self,
        webhook_id: str,
        *,
        url: str | Unset = UNSET,
        events: Sequence[str] | Unset = UNSET,
        description: str | Unset | None = UNSET,
        rate_limit: int | Unset | None = UNSET,
        **fields: Any,
    ) -> Webhook:
        """PATCH the fields given; the others keep their value. `description=None`
        clears the description, `rate_limit=None` removes the limit."""
        call = calls.update_webhook(webhook_id, url, events, description, rate_limit, fields)
        return cast(Webhook, await self._data(call))

    async def delete_webhook(self, webhook_id: str) -> None:
        """Delete it. Retried like any DELETE: if an earlier try was carried out but
        its answer lost, the retry's answer is a 404."""
        await self._send(calls.delete_webhook(webhook_id))

    async def toggle_webhook(self, webhook_id: str) -> Toggled:
        return cast(Toggled, await self._data(calls.toggle_webhook(webhook_id)))

    async def test_webhook(self, webhook_id: str) -> SendTestResult:
        """Send the test event now; the answer says what the endpoint did."""
        return cast(SendTestResult, await self._data(calls.test_webhook(webhook_id)))

    async def rotate_secret(
        self, webhook_id: str, grace_seconds: int | None = None
    ) -> RotatedSecret:
        """A new secret; the old one keeps signing `grace_seconds` (server default 24 h)."""
        call = calls.rotate_secret(webhook_id, grace_seconds)
        return cast(RotatedSecret, await self._data(call))

    async def list_deliveries(
        self,
        webhook_id: str,
        *,
        status: DeliveryStatus | None = None,
        event: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[Delivery]:
        """One page of the delivery log, newest first."""
        call = calls.list_deliveries(webhook_id, status, event, limit, cursor)
        return cast(Page[Delivery], await self._page(call))

    async def iter_deliveries(
        self,
        webhook_id: str,
        *,
        status: DeliveryStatus | None = None,
        event: str | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[Delivery]:
        """Every delivery of the log, newest first, fetching a page at a time."""
        cursor: str | None = None
        while True:
            page = await self.list_deliveries(
                webhook_id, status=status, event=event, limit=page_size, cursor=cursor
            )
            for item in page["data"]:
                yield item
            cursor = page["nextCursor"]
            if cursor is None:
                return

    async def get_delivery(self, webhook_id: str, delivery_id: str) -> DeliveryDetail:
        call = calls.get_delivery(webhook_id, delivery_id)
        return cast(DeliveryDetail, await self._data(call))

    async def retry_delivery(self, webhook_id: str, delivery_id: str) -> Delivery:
        """Make the delivery due now, same id (`…/retry`); the delivery as it is now."""
        call = calls.retry_delivery(webhook_id, delivery_id)
        return cast(Delivery, await self._data(call))

    async def recover(
        self, webhook_id: str, since: str | datetime, until: str | datetime | None = None
    ) -> Recovered:
        """Re-queue the failed deliveries created in [since, until) for one attempt each."""
        return cast(Recovered, await self._data(calls.recover(webhook_id, since, until)))

    async def event_types(self) -> list[EventType]:
        return cast(list[EventType], await self._data(calls.event_types()))

    async def audit_log(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[AuditEntry]:
        """One page of the audit log, newest first."""
        return cast(Page[AuditEntry], await self._page(calls.audit_log(limit, cursor)))

    async def iter_audit_log(self, *, page_size: int = 100) -> AsyncIterator[AuditEntry]:
        """Every audit entry, newest first, fetching a page at a time."""
        cursor: str | None = None
        while True:
            page = await self.audit_log(limit=page_size, cursor=cursor)
            for item in page["data"]:
                yield item
            cursor = page["nextCursor"]
            if cursor is None:
                return
