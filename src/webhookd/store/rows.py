"""Between database rows and domain records, for every engine.

Rows are anything indexable by column name (sqlite3.Row, asyncpg.Record); parameters
are dicts keyed by the names the queries use.
"""

from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from typing import Any

import orjson

from webhookd.domain import ids
from webhookd.domain.endpoint import EndpointAuth
from webhookd.domain.models import (
    Attempt,
    AuditEntry,
    Circuit,
    Delivery,
    DeliveryStatus,
    Event,
    Job,
    OldSecret,
    SendResult,
    Settlement,
    Webhook,
)

Row = Mapping[str, Any]


def dump_events(events: tuple[str, ...]) -> str:
    return orjson.dumps(list(events)).decode()


def dump_old_secrets(old: tuple[OldSecret, ...]) -> str:
    return orjson.dumps([{"sealed": o.sealed, "until": o.until} for o in old]).decode()


def old_secrets(text: str) -> tuple[OldSecret, ...]:
    return tuple(OldSecret(o["sealed"], o["until"]) for o in orjson.loads(text))


def dump_headers(headers: tuple[tuple[str, str], ...]) -> str:
    return orjson.dumps(dict(headers)).decode()


def headers(text: str) -> tuple[tuple[str, str], ...]:
    return tuple(orjson.loads(text).items())


_AUTH_FIELDS = (  # EndpointAuth's attribute -> its key in the column's JSON
    ("username", "username"),
    ("name", "name"),
    ("client_id", "clientId"),
    ("token_url", "tokenUrl"),
    ("scope", "scope"),
)


def dump_auth(auth: EndpointAuth | None) -> str | None:
    """The `auth` column: what may be shown, and the secret only sealed."""
    if auth is None:
        return None
    data = {"type": auth.type, "sealed": auth.sealed}
    for attribute, key in _AUTH_FIELDS:
        value = getattr(auth, attribute)
        if value is not None:
            data[key] = value
    return orjson.dumps(data).decode()


def auth(text: str | None) -> EndpointAuth | None:
    if text is None:
        return None
    data = orjson.loads(text)
    fields = {attribute: data.get(key) for attribute, key in _AUTH_FIELDS}
    return EndpointAuth(type=data["type"], sealed=data["sealed"], **fields)


def webhook(row: Row) -> Webhook:
    return Webhook(
        id=row["id"],
        tenant_id=row["tenant_id"],
        url=row["url"],
        events=tuple(orjson.loads(row["events"])),
        description=row["description"],
        secret=row["secret"],
        active=bool(row["active"]),
        created_at=row["created_at"],
        last_triggered_at=row["last_triggered_at"],
        disabled_reason=row["disabled_reason"],
        old_secrets=old_secrets(row["old_secrets"]),
        rate_limit=row["rate_limit"],
        failing_since=row["failing_since"],
        circuit=circuit(row),
        fifo=bool(row["fifo"]),
        filter=row["payload_filter"],
        headers=headers(row["headers"]),
        auth=auth(row["auth"]),
    )


def circuit(row: Row) -> Circuit:
    return Circuit(row["circuit_failures"], row["circuit_trips"], row["circuit_until"])


def delivery(row: Row, now_ms: int) -> Delivery:
    status = DeliveryStatus(row["status"])
    locked_until = row["locked_until"]
    return Delivery(
        id=row["id"],
        event_id=row["event_id"],
        webhook_id=row["webhook_id"],
        event_type=row["event_type"],
        status=status,
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"] if status is DeliveryStatus.PENDING else None,
        created_at=row["created_at"],
        last_attempt_at=row["last_attempt_at"],
        last_http_status=row["last_http_status"],
        in_flight=locked_until is not None and locked_until >= now_ms,
        manual=bool(row["manual"]),
    )


def attempt(row: Row) -> Attempt:
    result = SendResult(
        row["http_status"], row["error"], row["duration_ms"], row["response_excerpt"]
    )
    headers = orjson.loads(row["request_headers"])
    return Attempt(row["delivery_id"], row["attempted_at"], result, headers)


def job(row: Row, token: str, probe: bool = False) -> Job:
    return Job(
        delivery_id=row["id"],
        webhook_id=row["webhook_id"],
        event_type=row["event_type"],
        url=row["url"],
        secret=row["secret"],
        webhook_active=bool(row["active"]),
        body=bytes(row["body"]),
        attempts=row["attempts"],
        lease_token=token,
        manual=bool(row["manual"]),
        old_secrets=old_secrets(row["old_secrets"]),
        probe=probe,
        fifo=bool(row["fifo"]),
        headers=headers(row["headers"]),
        auth=auth(row["auth"]),
    )


def event_params(event: Event, key: str | None, deliveries: int) -> dict[str, Any]:
    return {
        "id": event.id,
        "tenant": event.tenant_id,
        "type": event.type,
        "body": event.body,
        "key": key,
        "request_hash": event.fingerprint,
        "deliveries": deliveries,
        "created_at": event.created_at,
    }


def delivery_params(
    event: Event,
    webhook_id: str,
    delivery_id: str | None = None,
    status: DeliveryStatus = DeliveryStatus.PENDING,
    attempts: int = 0,
    manual: bool = False,
) -> dict[str, Any]:
    return {
        "id": delivery_id or ids.new_id(ids.DELIVERY, event.created_at),
        "event_id": event.id,
        "webhook_id": webhook_id,
        "tenant": event.tenant_id,
        "type": event.type,
        "status": status.value,
        "attempts": attempts,
        "at": event.created_at,
        "manual": manual,
    }


def attempt_params(attempt: Attempt) -> dict[str, Any]:
    r = attempt.result
    return {
        "delivery_id": attempt.delivery_id,
        "at": attempt.attempted_at,
        "duration_ms": r.duration_ms,
        "http_status": r.http_status,
        "error": r.error,
        "excerpt": r.response_excerpt,
        "headers": orjson.dumps(attempt.request_headers).decode(),
    }


def settle_params(s: Settlement) -> dict[str, Any]:
    a = s.attempt
    return {
        "status": s.status.value,
        "next_at": s.next_attempt_at,
        # An attempt that never reached the endpoint (egress_fault) is logged, not counted:
        # it takes no place in the retry schedule.
        "attempted": int(a is not None and not a.result.egress_fault),
        "at": None if a is None else a.attempted_at,
        "http_status": None if a is None else a.result.http_status,
        "id": s.job.delivery_id,
        "token": s.job.lease_token,
    }


class FairPick:
    """The pick of a claim from what is due (oldest first): never more than a webhook's
    cap in flight counting what the worker already has (`busy`, updated as it goes), no
    more than `budget` says for the webhooks it names (tokens of a rate limit, the one
    probe of a half-open circuit), and no more than `unproven` for webhooks outside
    `proven`, when that lane is set."""

    def __init__(
        self,
        cap: Callable[[str], int],
        busy: dict[str, int],
        budget: dict[str, int],
        unproven: int | None,
        proven: AbstractSet[str],
    ) -> None:
        self.cap, self.busy, self.budget = cap, busy, budget
        self.unproven, self.proven = unproven, proven
        self.taken: dict[str, int] = {}  # per webhook, by this pick

    def full(self, webhook_id: str) -> bool:
        return self.busy.get(webhook_id, 0) >= self.cap(webhook_id)

    def take(self, due: Iterable[Row], room: int) -> list[str]:
        taken: list[str] = []
        for row in due:
            if len(taken) >= room:
                break
            w = row["webhook_id"]
            lane = self.unproven is not None and w not in self.proven
            if self.full(w) or self.budget.get(w, 1) <= 0 or (lane and self.unproven == 0):
                continue
            self.busy[w] = self.busy.get(w, 0) + 1
            self.taken[w] = self.taken.get(w, 0) + 1
            if w in self.budget:
                self.budget[w] -= 1
            if lane:
                assert self.unproven is not None
                self.unproven -= 1
            taken.append(row["id"])
        return taken


def audit_params(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "tenant": entry.tenant_id,
        "actor": entry.actor,
        "action": entry.action,
        "webhook_id": entry.webhook_id,
        "details": orjson.dumps(entry.details).decode(),
        "at": entry.at,
    }


def audit(row: Row) -> AuditEntry:
    return AuditEntry(
        id=row["id"],
        tenant_id=row["tenant_id"],
        actor=row["actor"],
        action=row["action"],
        webhook_id=row["webhook_id"],
        at=row["at"],
        details=orjson.loads(row["details"]),
    )
