"""Operational webhooks: what the platform's operator is told about customers' endpoints.

Pure: the store hands in an endpoint's state and what just happened to it, and gets back
the notices to send and the state to keep. The notices travel as deliveries of one
internal webhook (`WEBHOOK_ID`, in a tenant no token and no publish can name), written in
the same transaction as the change that causes them, so they are durable, retried and
logged like any delivery, and a customer can neither see nor subscribe to them.

- Changes made through the API: `endpoint.created`, `.updated`, `.deleted`, `.enabled`,
  `.disabled` (reason `manual`) and `.secret_rotated`.
- `endpoint.failing`: once each time the failure clock (domain/retry.py) crosses 50 %,
  70 % and 90 % of the auto-disable window; a success starts the count again.
- `endpoint.disabled` with reason `gone` (a 410) or `failing` (the window ran out).
- `endpoint.recovered`: the first success after a failing notice, an opened circuit, or
  a disable by webhookd (it is owed until then, even across an enable).
- `message.attempt.exhausted`: a delivery used its last attempt. At most one an hour per
  endpoint: the first goes out at once, the others are counted and the count rides on
  the next notice (`others`, since `othersSince`).
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from webhookd.domain import clock, jsjson

TENANT = ""  # no token names it (a tenant is 1 to 255 characters), no publish can either
WEBHOOK_ID = "wh_operator"  # not a valid customer id: the API never looks it up
THRESHOLDS = (50, 70, 90)  # percent of the auto-disable window
EXHAUSTED_EVERY_MS = 3_600_000

EVENTS: dict[str, str] = {
    "endpoint.created": "A customer created a webhook.",
    "endpoint.updated": "A customer changed a webhook's URL, events, description or rate limit.",
    "endpoint.deleted": "A customer deleted a webhook.",
    "endpoint.enabled": "A webhook was enabled.",
    "endpoint.disabled": "A webhook was disabled: manual, gone (410) or failing (too long).",
    "endpoint.failing": "Failing for 50 %, 70 % or 90 % of the auto-disable window.",
    "endpoint.recovered": "The first success after failing, an open circuit or a disable.",
    "endpoint.secret_rotated": "A customer rotated a webhook's signing secret.",
    "message.attempt.exhausted": "A delivery used its last attempt (at most one an hour).",
}

# The audit log's actions that the operator hears about, and as what.
_CHANGES = {
    "webhook.created": "endpoint.created",
    "webhook.updated": "endpoint.updated",
    "webhook.deleted": "endpoint.deleted",
    "webhook.secret_rotated": "endpoint.secret_rotated",
}


@dataclass(frozen=True, slots=True)
class Notice:
    type: str
    at: int  # epoch ms
    data: dict[str, Any]

    @property
    def body(self) -> bytes:
        """`{"event", "timestamp", "data"}`, as every delivery is written."""
        return jsjson.dumps(
            {"event": self.type, "timestamp": clock.iso(self.at), "data": self.data}
        )


def parse_events(spec: str) -> tuple[str, ...]:
    """`WEBHOOKD_OPERATOR_EVENTS`: comma-separated names from `EVENTS`."""
    chosen = tuple(dict.fromkeys(part.strip() for part in spec.split(",") if part.strip()))
    unknown = [name for name in chosen if name not in EVENTS]
    if unknown or not chosen:
        raise ValueError(
            f"must name operator events from: {', '.join(EVENTS)}"
            + (f" (unknown: {', '.join(unknown)})" if unknown else "")
        )
    return chosen


def _iso(ms: int | None) -> str | None:
    return None if ms is None else clock.iso(ms)


def for_change(
    action: str,
    tenant_id: str,
    webhook_id: str | None,
    at: int,
    details: Mapping[str, object],
    actor: str,
    active: bool | None = None,
) -> list[Notice]:
    """The notice of a change a customer made (named as the audit log names it); `active`
    is the webhook's state after a toggle."""
    if webhook_id is None or tenant_id == TENANT:
        return []
    data: dict[str, Any] = {"tenantId": tenant_id, "webhookId": webhook_id, "actor": actor}
    if action == "webhook.toggled" and active is not None:
        if active:
            return [Notice("endpoint.enabled", at, data)]
        manual = {"reason": "manual", "failingSince": None, "message": None}
        return [Notice("endpoint.disabled", at, {**data, **manual})]
    kind = _CHANGES.get(action)
    if kind is None:
        return []
    if kind == "endpoint.updated":
        data["changes"] = dict(details)
    else:
        data.update(details)
    return [Notice(kind, at, data)]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """What the store keeps of one webhook for these rules (columns of its row)."""

    tenant_id: str
    webhook_id: str
    failing_since: int | None = None  # before the batch
    failing_notified: int = 0  # thresholds announced since the clock started
    recovery_owed: bool = False
    exhausted_at: int | None = None  # the last exhausted notice
    exhausted_unsent: int = 0  # exhaustions counted since, not announced


@dataclass(frozen=True, slots=True)
class Attempted:
    """One settled attempt to the endpoint, in order."""

    at: int
    ok: bool
    delivery_id: str = ""
    event_type: str = ""
    attempts: int = 1  # attempts the delivery has made, this one included
    http_status: int | None = None
    error: str | None = None
    exhausted: bool = False  # the delivery failed for good with this one (not a 410)


@dataclass(frozen=True, slots=True)
class After:
    """The notices of a settle batch for one endpoint, and the state to keep."""

    notices: list[Notice] = field(default_factory=list)
    failing_notified: int = 0
    recovery_owed: bool = False
    exhausted_at: int | None = None
    exhausted_unsent: int = 0


def after_attempts(
    endpoint: Endpoint,
    attempted: Sequence[Attempted],
    disable_after_ms: int,
    *,
    disabled: tuple[str, int, str] | None = None,
    circuit_opened: bool = False,
) -> After:
    """What a settle batch's attempts (in order) tell the operator. `disabled` is
    (`gone` or `failing`, when, the reason shown) if the batch disabled the webhook."""
    notices: list[Notice] = []
    ids = {"tenantId": endpoint.tenant_id, "webhookId": endpoint.webhook_id}
    since = endpoint.failing_since
    level = endpoint.failing_notified if since is not None else 0
    owed = endpoint.recovery_owed or circuit_opened
    exhausted: list[Attempted] = []
    for a in attempted:
        if a.ok:
            if owed or level:
                notices.append(
                    Notice("endpoint.recovered", a.at, {**ids, "failingSince": _iso(since)})
                )
            since, level, owed = None, 0, False
            continue
        if a.exhausted:
            exhausted.append(a)
        if a.http_status == 410:
            continue  # gone: the disable says so
        since = a.at if since is None else since
        failing_for = a.at - since
        crossed = sum(1 for t in THRESHOLDS if failing_for * 100 >= t * disable_after_ms)
        for t in THRESHOLDS[level:crossed]:
            notices.append(
                Notice(
                    "endpoint.failing",
                    a.at,
                    {
                        **ids,
                        "threshold": t,
                        "failingSince": clock.iso(since),
                        "failingForSeconds": round(failing_for / 1000, 3),
                        "disableAfterSeconds": round(disable_after_ms / 1000, 3),
                        "disablesAt": clock.iso(since + disable_after_ms),
                    },
                )
            )
            owed = True
        level = max(level, crossed)
    if disabled is not None:
        reason, at, shown = disabled
        failing_since = _iso(since) if reason == "failing" else None
        notices.append(
            Notice(
                "endpoint.disabled",
                at,
                {
                    **ids,
                    "actor": "webhookd",
                    "reason": reason,
                    "failingSince": failing_since,
                    "message": shown,
                },
            )
        )
        owed = True
    at_, unsent = endpoint.exhausted_at, endpoint.exhausted_unsent
    if exhausted:
        first = exhausted[0]
        if at_ is None or first.at - at_ >= EXHAUSTED_EVERY_MS:
            notices.append(
                Notice(
                    "message.attempt.exhausted",
                    first.at,
                    {
                        **ids,
                        "deliveryId": first.delivery_id,
                        "eventType": first.event_type,
                        "attempts": first.attempts,
                        "httpStatus": first.http_status,
                        "error": first.error,
                        "others": unsent + len(exhausted) - 1,
                        "othersSince": _iso(at_),
                    },
                )
            )
            at_, unsent = first.at, 0  # the rest of this batch are in `others`
        else:
            unsent += len(exhausted)
    return After(notices, level, owed, at_, unsent)


def subscribed(notices: Iterable[Notice], chosen: Sequence[str]) -> list[Notice]:
    """The notices of the types the operator chose (`*`: all)."""
    every = "*" in chosen
    return [n for n in notices if every or n.type in chosen]
