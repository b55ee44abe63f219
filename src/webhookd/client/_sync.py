"""`Client` (publishing) and `DashboardClient` (the Dashboard API), blocking.

`_async.py` is the same with `await`: change one, change the other."""

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
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
        http_client: httpx2.Client | None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry
        self._credential = credential
        self._own = http_client is None
        self._http = http_client or httpx2.Client(timeout=timeout, follow_redirects=False)
        self._headers = base_headers(headers)

    def _send(self, call: Call) -> Any:
        """The answer's parsed body; retried while the call is idempotent and the
        failure is worth it (RetryPolicy); WebhookdAPIError for the last failure."""
        url = self.base_url + call.path
        made = 0
        while True:
            made += 1
            failure: WebhookdAPIError | httpx2.TransportError
            try:
                response = self._http.request(
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
            time.sleep(wait)

    def _data(self, call: Call) -> Any:
        return self._send(call)["data"]

    def _page(self, call: Call) -> Any:
        body = self._send(call)
        return {"data": body["data"], "nextCursor": body.get("nextCursor")}

    def close(self) -> None:
        """Close the connections (not those of an `http_client` passed in)."""
        if self._own:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class Client(_Base):
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
        http_client: httpx2.Client | None = None,
    ) -> None:
        key = {"X-Api-Key": api_key}
        super().__init__(base_url, lambda: key, timeout, retry, headers, http_client)
        self.auto_idempotency_key = auto_idempotency_key

    def publish(
        self,
        tenant_id: str,
        event: str,
        data: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Published:
        """Publish one event to every subscribed webhook of the tenant: `{id, deliveries}`."""
        item = new_event(tenant_id, event, data, idempotency_key)
        return cast(Published, self._data(publish_call(item, self.auto_idempotency_key)))

    def publish_batch(self, events: Sequence[NewEvent]) -> list[Published]:
        """Publish 1 to 1,000 events (`{"tenantId", "event", "data", "idempotencyKey"?}`)
        in one transaction, all or none; the answers in the order sent."""
        call = batch_call(events, self.auto_idempotency_key)
        return cast(list[Published], self._data(call))


class DashboardClient(_Base):
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
        http_client: httpx2.Client | None = None,
    ) -> None:
        def bearer() -> dict[str, str]:
            return {"Authorization": f"Bearer {token() if callable(token) else token}"}

        super().__init__(base_url, bearer, timeout, retry, headers, http_client)

    def list_webhooks(self) -> list[Webhook]:
        return cast(list[Webhook], self._data(calls.list_webhooks()))

    def get_webhook(self, webhook_id: str) -> Webhook:
        return cast(Webhook, self._data(calls.get_webhook(webhook_id)))

    def create_webhook(
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
        return cast(CreatedWebhook, self._data(call))

    def update_webhook(
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
        return cast(Webhook, self._data(call))

    def delete_webhook(self, webhook_id: str) -> None:
        """Delete it. Retried like any DELETE: if an earlier try was carried out but
        its answer lost, the retry's answer is a 404."""
        self._send(calls.delete_webhook(webhook_id))

    def toggle_webhook(self, webhook_id: str) -> Toggled:
        return cast(Toggled, self._data(calls.toggle_webhook(webhook_id)))

    def test_webhook(self, webhook_id: str) -> SendTestResult:
        """Send the test event now; the answer says what the endpoint did."""
        return cast(SendTestResult, self._data(calls.test_webhook(webhook_id)))

    def rotate_secret(self, webhook_id: str, grace_seconds: int | None = None) -> RotatedSecret:
        """A new secret; the old one keeps signing `grace_seconds` (server default 24 h)."""
        call = calls.rotate_secret(webhook_id, grace_seconds)
        return cast(RotatedSecret, self._data(call))

    def list_deliveries(
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
        return cast(Page[Delivery], self._page(call))

    def iter_deliveries(
        self,
        webhook_id: str,
        *,
        status: DeliveryStatus | None = None,
        event: str | None = None,
        page_size: int = 100,
    ) -> Iterator[Delivery]:
        """Every delivery of the log, newest first, fetching a page at a time."""
        cursor: str | None = None
        while True:
            page = self.list_deliveries(
                webhook_id, status=status, event=event, limit=page_size, cursor=cursor
            )
            yield from page["data"]
            cursor = page["nextCursor"]
            if cursor is None:
                return

    def get_delivery(self, webhook_id: str, delivery_id: str) -> DeliveryDetail:
        call = calls.get_delivery(webhook_id, delivery_id)
        return cast(DeliveryDetail, self._data(call))

    def retry_delivery(self, webhook_id: str, delivery_id: str) -> Delivery:
        """Make the delivery due now, same id (`…/retry`); the delivery as it is now."""
        call = calls.retry_delivery(webhook_id, delivery_id)
        return cast(Delivery, self._data(call))

    def recover(
        self, webhook_id: str, since: str | datetime, until: str | datetime | None = None
    ) -> Recovered:
        """Re-queue the failed deliveries created in [since, until) for one attempt each."""
        return cast(Recovered, self._data(calls.recover(webhook_id, since, until)))

    def event_types(self) -> list[EventType]:
        return cast(list[EventType], self._data(calls.event_types()))

    def audit_log(self, *, limit: int | None = None, cursor: str | None = None) -> Page[AuditEntry]:
        """One page of the audit log, newest first."""
        return cast(Page[AuditEntry], self._page(calls.audit_log(limit, cursor)))

    def iter_audit_log(self, *, page_size: int = 100) -> Iterator[AuditEntry]:
        """Every audit entry, newest first, fetching a page at a time."""
        cursor: str | None = None
        while True:
            page = self.audit_log(limit=page_size, cursor=cursor)
            yield from page["data"]
            cursor = page["nextCursor"]
            if cursor is None:
                return
