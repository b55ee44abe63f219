"""Every Dashboard API call, once, as a `Call`: what the sync and async clients send.

Which calls are idempotent (retried when no answer or a 503 came): every GET, PATCH
(it sets the fields given to the values given) and DELETE. Never a POST here: a create,
toggle, test send, secret rotation, resend or recover sent twice acts twice.
"""

import enum
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from webhookd.client._core import Call, iso, params, path

WEBHOOKS = "/dashboard/webhooks"
WEBHOOK = "/dashboard/webhooks/{}"


class Unset(enum.Enum):
    """The default of `update_webhook`'s fields: left out of the PATCH, so kept as they
    are (None is a value there: it clears a description or removes a rate limit)."""

    UNSET = "UNSET"


UNSET = Unset.UNSET


def list_webhooks() -> Call:
    return Call("GET", WEBHOOKS, idempotent=True)


def get_webhook(webhook_id: str) -> Call:
    return Call("GET", path(WEBHOOK, webhook_id), idempotent=True)


def create_webhook(
    url: str,
    events: Sequence[str] | None,
    description: str | None,
    rate_limit: int | None,
    fields: dict[str, Any],
) -> Call:
    body: dict[str, Any] = {"url": url}
    if events is not None:
        body["events"] = list(events)
    if description is not None:
        body["description"] = description
    if rate_limit is not None:
        body["rateLimit"] = rate_limit
    return Call("POST", WEBHOOKS, {**body, **fields})


def update_webhook(
    webhook_id: str,
    url: str | Unset,
    events: Sequence[str] | Unset,
    description: str | Unset | None,
    rate_limit: int | Unset | None,
    fields: dict[str, Any],
) -> Call:
    given: dict[str, Any] = {
        "url": url,
        "events": events,
        "description": description,
        "rateLimit": rate_limit,
    }
    body = {name: value for name, value in given.items() if value is not UNSET}
    if isinstance(events, Sequence) and not isinstance(events, str):
        body["events"] = list(events)
    return Call("PATCH", path(WEBHOOK, webhook_id), {**body, **fields}, idempotent=True)


def delete_webhook(webhook_id: str) -> Call:
    return Call("DELETE", path(WEBHOOK, webhook_id), idempotent=True)


def toggle_webhook(webhook_id: str) -> Call:
    return Call("POST", path(WEBHOOK + "/toggle", webhook_id))


def test_webhook(webhook_id: str) -> Call:
    return Call("POST", path(WEBHOOK + "/test", webhook_id))


def rotate_secret(webhook_id: str, grace_seconds: int | None) -> Call:
    body = None if grace_seconds is None else {"graceSeconds": grace_seconds}
    return Call("POST", path(WEBHOOK + "/rotate-secret", webhook_id), body)


def list_deliveries(
    webhook_id: str, status: str | None, event: str | None, limit: int | None, cursor: str | None
) -> Call:
    query = params(status=status, event=event, limit=limit, cursor=cursor)
    return Call("GET", path(WEBHOOK + "/deliveries", webhook_id), params=query, idempotent=True)


def get_delivery(webhook_id: str, delivery_id: str) -> Call:
    where = path(WEBHOOK + "/deliveries/{}", webhook_id, delivery_id)
    return Call("GET", where, idempotent=True)


def retry_delivery(webhook_id: str, delivery_id: str) -> Call:
    return Call("POST", path(WEBHOOK + "/deliveries/{}/retry", webhook_id, delivery_id))


def recover(webhook_id: str, since: str | datetime, until: str | datetime | None) -> Call:
    body = {"since": iso(since)} | ({} if until is None else {"until": iso(until)})
    return Call("POST", path(WEBHOOK + "/recover", webhook_id), body)


def event_types() -> Call:
    return Call("GET", "/dashboard/event-types", idempotent=True)


def audit_log(limit: int | None, cursor: str | None) -> Call:
    query = params(limit=limit, cursor=cursor)
    return Call("GET", "/dashboard/audit-log", params=query, idempotent=True)
