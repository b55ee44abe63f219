"""Named SQL statements, kept in `sql/<dialect>/queries.sql` under `-- name: x` headers.

`Q` names every statement a program may run; each dialect's file defines exactly those
(`load` refuses a file that does not), except the locks an engine holds anyway:
SQLite's write transaction already excludes every other writer, so it runs no
statement for `LOCKS` (see programs.lock).
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any


class Q(StrEnum):
    INSERT_WEBHOOK = "insert_webhook"
    LIST_WEBHOOKS = "list_webhooks"
    GET_WEBHOOK = "get_webhook"
    UPDATE_WEBHOOK = "update_webhook"
    TOGGLE_WEBHOOK = "toggle_webhook"
    ROTATE_SECRET = "rotate_secret"  # noqa: S105 - a statement's name
    DELETE_WEBHOOK = "delete_webhook"
    TOUCH_WEBHOOK = "touch_webhook"
    WEBHOOK_TRIGGERED = "webhook_triggered"
    WEBHOOK_SUCCEEDED = "webhook_succeeded"
    DISABLE_WEBHOOK = "disable_webhook"
    FIND_IDEMPOTENT = "find_idempotent"
    FORGET_IDEMPOTENCY_KEY = "forget_idempotency_key"
    ACTIVE_WEBHOOKS = "active_webhooks"
    LOCK_FIFO = "lock_fifo"
    SET_FIFO_LAST = "set_fifo_last"
    FIFO_HEAD = "fifo_head"
    INSERT_EVENT = "insert_event"
    INSERT_EVENTS = "insert_events"
    INSERT_DELIVERY = "insert_delivery"
    INSERT_TESTED_DELIVERY = "insert_tested_delivery"
    DUE = "due"
    WEBHOOK_CLAIMED = "webhook_claimed"
    SET_CIRCUIT = "set_circuit"
    LEASE_JOBS = "lease_jobs"
    LEASE_HOLDERS = "lease_holders"
    SETTLE = "settle"
    RECORD_ATTEMPT = "record_attempt"
    LIST_DELIVERIES = "list_deliveries"
    LIST_DELIVERIES_BY_STATUS = "list_deliveries_by_status"
    LIST_DELIVERIES_BY_EVENT = "list_deliveries_by_event"
    LIST_DELIVERIES_BY_STATUS_AND_EVENT = "list_deliveries_by_status_and_event"
    GET_DELIVERY = "get_delivery"
    LOCK_DELIVERY = "lock_delivery"
    ATTEMPTS_OF = "attempts_of"
    RESEND = "resend"
    RECOVER = "recover"
    PURGE = "purge"
    PING = "ping"
    INSERT_AUDIT = "insert_audit"
    LIST_AUDIT = "list_audit"
    ALL_SECRETS = "all_secrets"
    SET_SECRETS = "set_secrets"
    QUEUE_STATS = "queue_stats"
    WEBHOOK_HEALTH = "webhook_health"
    AUTO_DISABLED_WEBHOOKS = "auto_disabled_webhooks"
    LOCK_WEBHOOK = "lock_webhook"
    LOCK_KEY = "lock_key"
    LOCK_KEYS = "lock_keys"
    COUNT_WEBHOOKS = "count_webhooks"
    LOCK_WEBHOOKS = "lock_webhooks"
    TRY_LOCK_WEBHOOKS = "try_lock_webhooks"
    SET_WEBHOOK_FILTER = "set_webhook_filter"
    SET_OPERATOR = "set_operator"
    STATS_COUNTS = "stats_counts"
    STATS_LATENCY = "stats_latency"


# Advisory locks that order concurrent writers: PostgreSQL takes them; SQLite, one writer
# at a time, needs none.
LOCKS = frozenset({Q.LOCK_KEY, Q.LOCK_KEYS})
NEEDS_LOCKS = {"postgres": True, "sqlite": False}


@cache
def load(dialect: str) -> dict[str, str]:
    """`{name: statement}` for one dialect: every name of `Q` (less `LOCKS` where the
    engine needs none), and no other."""
    text = resources.files("webhookd.store").joinpath("sql", dialect, "queries.sql").read_text()
    found: dict[str, str] = {}
    name = None
    lines: list[str] = []
    for line in [*text.splitlines(), "-- name: <end>"]:
        if line.startswith("-- name:"):
            if name is not None:
                found[name] = "\n".join(lines).strip().rstrip(";")
            name, lines = line.removeprefix("-- name:").strip(), []
        elif name is not None and not line.lstrip().startswith("--"):
            lines.append(line)
    check(dialect, found)
    return found


def check(dialect: str, found: Mapping[str, str]) -> None:
    """Refuse a dialect's statements unless they are exactly the ones `Q` names."""
    expected = {q.value for q in Q} - (set() if NEEDS_LOCKS[dialect] else {q.value for q in LOCKS})
    if set(found) != expected:
        missing, extra = sorted(expected - set(found)), sorted(set(found) - expected)
        raise RuntimeError(f"sql/{dialect}/queries.sql: missing {missing}, not in Q {extra}")


_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@dataclass(frozen=True, slots=True)
class Positional:
    """A statement with `$1, $2, …` placeholders and the parameter names they stand for."""

    sql: str
    names: tuple[str, ...]

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        return [params[name] for name in self.names]


def positional(sql: str) -> Positional:
    """Rewrite `:name` parameters as `$n` (the same name gets the same number)."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match[1]
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return Positional(_NAMED.sub(number, sql), tuple(names))
