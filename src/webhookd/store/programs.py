"""Each Store operation as one transaction "program", written once for every engine.

A program is a generator: it yields the statements it needs (`Op`: a query name,
its parameters and what to return) and receives each result. An engine runs it
inside one transaction: SQLite on its database thread, PostgreSQL on a pooled
connection. So the rules (fan-out, fair claims, lease-checked settles, the failure
clock) live here once, and an engine only knows how to run a statement.
"""

from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, TypeVar

import orjson

from webhookd.domain import catalog, circuit, flow, ids, retry
from webhookd.domain.models import (
    Attempt,
    AuditEntry,
    Circuit,
    Delivery,
    DeliveryDetail,
    DeliveryStatus,
    Event,
    OldSecret,
    Settlement,
    Webhook,
)
from webhookd.errors import Conflict
from webhookd.store import rows
from webhookd.store.base import (
    Claimed,
    ClaimRequest,
    DeliveryFilter,
    Published,
    QueueStats,
    WebhookChanges,
)

T = TypeVar("T")
Returning = Literal["all", "one", "count", "run", "many"]


@dataclass(frozen=True, slots=True)
class Op:
    """One statement. A "many" op carries a batch of parameter sets; its query is only
    ever run that way (PostgreSQL writes it as one statement over arrays)."""

    query: str
    params: Mapping[str, Any] | Sequence[Mapping[str, Any]]
    returning: Returning = "run"


Program = Generator[Op, Any, T]
MAX_OLD_SECRETS = 4  # rotated-out secrets that may still sign during their grace period
AFTER_EVERY_ID = "~"  # sorts after every id ("~" is above all id characters)


def _one(query: str, **params: Any) -> Op:
    return Op(query, params, "one")


def _all(query: str, **params: Any) -> Op:
    return Op(query, params, "all")


def _count(query: str, **params: Any) -> Op:
    return Op(query, params, "count")


def _run(query: str, **params: Any) -> Op:
    return Op(query, params, "run")


# the audit log ----------------------------------------------------------------------
def audited(
    program: Program[T],
    entry: AuditEntry | None,
    details: Callable[[T], Mapping[str, object]] | None = None,
) -> Program[T]:
    """Run `program`; if it found what it acted on, append `entry` in the same transaction.

    "Not found" is None, False or -1. A count of 0 is found: a recover that had nothing
    to requeue was still asked for, and the log says so (`0 in (None, False)` is True in
    Python, hence the identity checks).
    """
    result = yield from program
    not_found = result is None or result is False or (type(result) is int and result == -1)
    if entry is not None and not not_found:
        if details is not None:
            entry = replace(entry, details={**entry.details, **details(result)})
        yield Op("insert_audit", rows.audit_params(entry))
    return result


def list_audit(tenant_id: str, before: str | None, limit: int) -> Program[list[AuditEntry]]:
    found = yield _all("list_audit", tenant=tenant_id, before=before or AFTER_EVERY_ID, limit=limit)
    return [rows.audit(row) for row in found]


# webhooks ---------------------------------------------------------------------------
def create_webhook(w: Webhook, limit: int | None = None) -> Program[bool]:
    """Insert `w`, unless its tenant already has `limit` webhooks (Conflict)."""
    if limit is not None:
        yield _one("lock_key", tenant=w.tenant_id, key="webhooks")  # creates queue per tenant
        found = yield _one("count_webhooks", tenant=w.tenant_id)
        if found["n"] >= limit:
            raise Conflict(
                f"This tenant already has {found['n']} webhooks, the most allowed "
                "(WEBHOOKD_MAX_WEBHOOKS_PER_TENANT); delete one it no longer needs first."
            )
    yield _run(
        "insert_webhook", id=w.id, tenant=w.tenant_id, url=w.url,
        events=rows.dump_events(w.events), description=w.description, secret=w.secret,
        active=w.active, created_at=w.created_at, rate_limit=w.rate_limit,
    )  # fmt: skip
    return True


def list_webhooks(tenant_id: str) -> Program[list[Webhook]]:
    found = yield _all("list_webhooks", tenant=tenant_id)
    return [rows.webhook(row) for row in found]


def get_webhook(tenant_id: str, webhook_id: str) -> Program[Webhook | None]:
    row = yield _one("get_webhook", tenant=tenant_id, id=webhook_id)
    return None if row is None else rows.webhook(row)


def update_webhook(
    tenant_id: str, webhook_id: str, changes: WebhookChanges
) -> Program[Webhook | None]:
    events = None if changes.events is None else rows.dump_events(changes.events)
    yield _run(
        "update_webhook", tenant=tenant_id, id=webhook_id, url=changes.url, events=events,
        description=changes.description, rate_limit=changes.rate_limit,
    )  # fmt: skip
    return (yield from get_webhook(tenant_id, webhook_id))


def toggle_webhook(tenant_id: str, webhook_id: str) -> Program[Webhook | None]:
    yield _run("toggle_webhook", tenant=tenant_id, id=webhook_id)
    return (yield from get_webhook(tenant_id, webhook_id))


def rotate_secret(
    tenant_id: str, webhook_id: str, sealed: str, grace_ms: int, now_ms: int
) -> Program[Webhook | None]:
    """Make `sealed` the secret; the old one keeps signing for `grace_ms`.

    A grace of 0 means "the old secrets are compromised": every earlier secret, even one
    still inside an earlier rotation's grace period, stops signing at once. Otherwise the
    newest MAX_OLD_SECRETS rotated-out secrets in their grace period keep signing.
    """
    yield _one("lock_webhook", tenant=tenant_id, id=webhook_id)  # concurrent rotations queue
    current = yield from get_webhook(tenant_id, webhook_id)
    if current is None:
        return None
    still_valid: list[OldSecret] = []
    if grace_ms > 0:
        still_valid = [OldSecret(current.secret, now_ms + grace_ms)]
        still_valid += [old for old in current.old_secrets if old.until > now_ms]
    kept = tuple(still_valid[:MAX_OLD_SECRETS])
    yield _run(
        "rotate_secret", tenant=tenant_id, id=webhook_id, secret=sealed,
        old_secrets=rows.dump_old_secrets(kept),
    )  # fmt: skip
    return (yield from get_webhook(tenant_id, webhook_id))


def reseal(transform: Callable[[str], str]) -> Program[int]:
    """Re-seal every stored secret (after a new WEBHOOKD_SECRET_KEY was put first)."""
    found = yield _all("all_secrets")
    for row in found:
        old = tuple(
            OldSecret(transform(o.sealed), o.until) for o in rows.old_secrets(row["old_secrets"])
        )
        yield _run(
            "set_secrets", id=row["id"], secret=transform(row["secret"]),
            old_secrets=rows.dump_old_secrets(old),
        )  # fmt: skip
    return len(found)


def delete_webhook(tenant_id: str, webhook_id: str) -> Program[bool]:
    deleted = yield _count("delete_webhook", tenant=tenant_id, id=webhook_id)
    return bool(deleted)


# events and the queue ---------------------------------------------------------------
def publish(event: Event, key: str | None, window_ms: int) -> Program[Published]:
    if key is not None:
        yield _one("lock_key", tenant=event.tenant_id, key=f"idempotency:{key}")
        earlier = yield _one("find_idempotent", tenant=event.tenant_id, key=key)
        if earlier is not None:
            if earlier["created_at"] > event.created_at - window_ms:
                if earlier["request_hash"] != event.fingerprint:
                    raise Conflict(
                        "This idempotency key was used in the last 24 h for a different event "
                        "or data; send a new key for a new event."
                    )
                return Published(earlier["id"], earlier["deliveries"], created=False)
            yield _run("forget_idempotency_key", id=earlier["id"])
    hooks = yield _all("active_webhooks", tenant=event.tenant_id)
    targets = [h["id"] for h in hooks if catalog.subscribes(orjson.loads(h["events"]), event.type)]
    yield Op("insert_event", rows.event_params(event, key, len(targets)))
    if targets:
        yield Op("insert_delivery", [rows.delivery_params(event, w) for w in targets], "many")
    return Published(event.id, len(targets), created=True)


def claim(request: ClaimRequest, token: str) -> Program[Claimed]:
    """What is due in both lanes, picked per webhook (a paused webhook, or one at its
    cap, is not read at all), then the lease of the fair pick with each job's webhook
    and body. Retries go first, up to their own slots; first attempts take whatever is
    left, so a retry backlog cannot starve new events. Webhooks with a rate limit or a
    half-open circuit are locked and read again before any of theirs is taken: the
    bucket and the probe are shared by every worker."""
    now = request.now_ms
    busy = dict(request.busy)
    retry_room = max(0, min(request.retry_slots, request.slots))
    first_limit = max(0, request.slots) * 4
    full = {w for w, n in busy.items() if n >= request.cap(w)}
    only = None
    if request.unproven_slots is not None and request.unproven_slots <= 0:
        only = _json(sorted(request.proven - full))
    due = yield _all("due", now=now, excluded=_json(sorted(full)), only=only,
                     **due_rooms(request, busy), retry_limit=retry_room * 4,
                     first_limit=first_limit)  # fmt: skip
    budget, probing, buckets = yield from _held_back(due, now)
    pick = rows.FairPick(request.cap, busy, budget, request.unproven_slots, request.proven)
    picked = pick.take([row for row in due if row["retry"]], retry_room)
    room = request.slots - len(picked)
    firsts = [row for row in due if not row["retry"]]
    after_retries = dict(busy)
    taken = pick.take(firsts, room)
    filled = {w for w in after_retries if pick.full(w)} - full
    if (
        len(taken) < room
        and len(firsts) == first_limit
        and any(row["webhook_id"] in filled for row in firsts)
    ):
        # The window of first attempts was fetched before the retries filled some
        # webhooks, and their rows took it up: look again without them (rare: only a
        # retry lane that fills a webhook with a backlog of first attempts). What the
        # first look took stays taken (the pick has counted it: caps, tokens, a probe)
        # and is read again, so each webhook's room is read as it was before it.
        due = yield _all("due", now=now, excluded=_json(sorted(full | filled)), only=only,
                         **due_rooms(request, after_retries), retry_limit=0,
                         first_limit=room * 4)  # fmt: skip
        _, more_probing, more_buckets = yield from _held_back(due, now, budget)
        probing |= more_probing
        buckets.update(more_buckets)
        already = set(taken)
        taken += pick.take([row for row in due if row["id"] not in already], room - len(taken))
    picked += taken
    wake_at = _hold(buckets, pick.taken, now)
    used = sorted(w for w in set(buckets) | probing if pick.taken.get(w))
    if used:
        yield Op("webhook_claimed", [
            {"tokens": buckets[w][1] - pick.taken[w] if w in buckets else None,
             "at": now if w in buckets else None,
             "probe_until": now + request.lease_ms if w in probing else None, "id": w}
            for w in used
        ], "many")  # fmt: skip
    if not picked:
        return Claimed([], wake_at)
    leased = yield _all("lease_jobs", until=now + request.lease_ms, token=token,
                        ids=_json(picked))  # fmt: skip
    return Claimed([rows.job(row, token, row["webhook_id"] in probing) for row in leased], wake_at)


Bucketed = dict[str, tuple[flow.Bucket, float]]  # webhook -> its bucket, the tokens now


def _held_back(
    due: Sequence[rows.Row], now: int, budget: dict[str, int] | None = None
) -> Program[tuple[dict[str, int], set[str], Bucketed]]:
    """Lock and read again the webhooks of `due` with a rate limit or a half-open circuit;
    how many each may give now (`budget`), which send a probe, and their buckets."""
    budget = {} if budget is None else budget
    held = sorted(
        {r["webhook_id"] for r in due if r["rate_limit"] is not None or r["circuit_until"]}
        - set(budget)
    )
    probing: set[str] = set()
    buckets: Bucketed = {}
    if not held:
        return budget, probing, buckets
    for state in (yield _all("lock_webhooks", ids=_json(held))):
        w, allowed = state["id"], 1 << 30
        if state["circuit_until"] is not None:
            allowed = 0 if state["circuit_until"] > now else 1  # reopened, or its probe
            if allowed:
                probing.add(w)
        if state["rate_limit"] is not None:
            bucket = flow.Bucket(state["rate_limit"])
            tokens = bucket.tokens(state["rate_tokens"], state["rate_at"], now)
            buckets[w] = (bucket, tokens)
            allowed = min(allowed, int(tokens))
        budget[w] = allowed
    return budget, probing, buckets


def _hold(buckets: Bucketed, taken: Mapping[str, int], now: int) -> int | None:
    """When the first rate-limited webhook that gave all its tokens has another."""
    times = [
        bucket.next_token_at(tokens - taken.get(w, 0), now)
        for w, (bucket, tokens) in buckets.items()
        if tokens - taken.get(w, 0) < 1
    ]
    return min(times, default=None)


def due_rooms(request: ClaimRequest, busy: Mapping[str, int]) -> dict[str, Any]:
    """How many due rows `due` reads of each webhook: the room left in its window (so a
    few webhooks with narrow windows cannot fill the claim's window with rows it may not
    take), `room` for any webhook not named, and never more than `per_webhook`."""
    room = request.cap("")  # the cap of a webhook this worker knows nothing of
    rooms = {w: request.cap(w) - busy.get(w, 0) for w in {*request.caps, *busy}}
    named = {w: n for w, n in rooms.items() if n != room and n > 0}
    return {"per_webhook": request.per_webhook, "room": room, "rooms": orjson.dumps(named).decode()}


def _json(values: Sequence[str]) -> str:
    return orjson.dumps(values).decode()


def settle(
    settlements: Sequence[Settlement], disable_after_ms: int, breaker: circuit.Breaker
) -> Program[int]:
    """Apply a batch of results, each only if its lease is still ours; how many applied.

    A handful of statements per batch, not per result: one lease check (which also
    locks the rows), then the deliveries, the attempts and the webhooks' clocks each
    as one batch. Rows are written in id order, so two batches never deadlock."""
    if not settlements:
        return 0
    ids_json = orjson.dumps(sorted(s.job.delivery_id for s in settlements)).decode()
    hooks_json = orjson.dumps(sorted({s.job.webhook_id for s in settlements})).decode()
    # webhook rows before deliveries, as DELETE does
    states = yield _all("lock_webhooks", ids=hooks_json)
    holders = yield _all("lease_holders", ids=ids_json)
    held = {row["id"]: row["lease_token"] for row in holders}
    mine = [s for s in settlements if held.get(s.job.delivery_id) == s.job.lease_token]
    if not mine:
        return 0
    by_id = sorted(mine, key=lambda s: s.job.delivery_id)
    yield Op("settle", [rows.settle_params(s) for s in by_id], "many")
    attempted = [s for s in mine if s.attempt is not None]
    if attempted:
        yield Op("record_attempt", [rows.attempt_params(s.attempt) for s in attempted if s.attempt],
                 "many")  # fmt: skip
        locked = {row["id"]: row for row in states}
        yield from _webhook_clocks(attempted, locked, disable_after_ms)
        yield from _circuits(
            attempted, {w: rows.circuit(row) for w, row in locked.items()}, breaker
        )
    return len(mine)


def _circuits(
    attempted: Sequence[Settlement], before: Mapping[str, Circuit], breaker: circuit.Breaker
) -> Program[None]:
    """Each webhook's circuit after the batch's results, in their order; only the
    circuits that changed are written (a healthy webhook's stay as they are)."""
    now: dict[str, Circuit] = {}
    for s in attempted:
        assert s.attempt is not None
        w = s.job.webhook_id
        state = now.get(w, before.get(w, circuit.CLOSED))
        now[w] = breaker.after(state, s.attempt.result, s.attempt.attempted_at, s.job.probe)
    changed = [(w, c) for w, c in sorted(now.items()) if c != before.get(w, circuit.CLOSED)]
    if changed:
        yield Op("set_circuit", [
            {"failures": c.failures, "trips": c.trips, "until": c.until, "id": w}
            for w, c in changed
        ], "many")  # fmt: skip


def _webhook_clocks(
    attempted: Sequence[Settlement], states: Mapping[str, rows.Row], disable_after_ms: int
) -> Program[None]:
    """`last_triggered_at` and the failure clock of each webhook, its results in their
    order: a success resets the clock, a failure starts it, and a webhook failing for
    `disable_after_ms` (or answered 410) is disabled. Worked out here from the rows the
    settle has locked, then one statement for the batch: the results of hundreds of
    endpoints timing out together cost a round trip, not hundreds."""
    per_webhook: dict[str, list[Settlement]] = {}
    for s in attempted:
        per_webhook.setdefault(s.job.webhook_id, []).append(s)
    clocks, disable = [], []
    for webhook_id in sorted(per_webhook):  # one order for every batch: no deadlock
        state = states.get(webhook_id)
        if state is None:
            continue
        results = [
            retry.Outcome(s.attempt.attempted_at, s.attempt.result.ok, s.disable_reason)
            for s in per_webhook[webhook_id]
            if s.attempt is not None
        ]
        since, reason = retry.failure_clock(state["failing_since"], results, disable_after_ms)
        last = max(r.at for r in results)
        clocks.append({"at": last, "failing_since": since, "id": webhook_id})
        if state["active"] and reason is not None:
            disable.append((webhook_id, reason, last))
    if clocks:
        yield Op("webhook_triggered", clocks, "many")
    for webhook_id, reason, at in disable:
        disabled = yield _one("disable_webhook", id=webhook_id, reason=reason)
        if disabled is not None:
            entry = AuditEntry(
                id=ids.new_id(ids.AUDIT, at), tenant_id=disabled["tenant_id"],
                actor="webhookd", action="webhook.auto_disabled", webhook_id=webhook_id,
                at=at, details={"reason": reason},
            )  # fmt: skip
            yield Op("insert_audit", rows.audit_params(entry))


def record_test(webhook: Webhook, event: Event, attempt: Attempt) -> Program[str]:
    status = DeliveryStatus.DELIVERED if attempt.result.ok else DeliveryStatus.FAILED
    yield Op("insert_event", rows.event_params(event, None, 1))
    delivery = rows.delivery_params(event, webhook.id, attempt.delivery_id, status, manual=True)
    yield Op("insert_tested_delivery", {**delivery, "http_status": attempt.result.http_status})
    yield Op("record_attempt", [rows.attempt_params(attempt)], "many")
    yield _run("touch_webhook", at=attempt.attempted_at, id=webhook.id)
    if attempt.result.ok:
        yield _run("webhook_succeeded", id=webhook.id)  # any success resets the failure clock
    return attempt.delivery_id


# the delivery log -------------------------------------------------------------------
def list_deliveries(
    tenant_id: str, webhook_id: str, where: DeliveryFilter, now_ms: int
) -> Program[list[Delivery]]:
    params: dict[str, Any] = {
        "tenant": tenant_id,
        "webhook": webhook_id,
        "limit": where.limit,
        "before": where.before or AFTER_EVERY_ID,
    }
    query = "list_deliveries"
    if where.status is not None:
        params["status"] = where.status.value
        query += "_by_status"
    if where.event_type is not None:
        params["event"] = where.event_type
        query += "_and_event" if where.status is not None else "_by_event"
    found = yield Op(query, params, "all")  # fmt: skip
    return [rows.delivery(row, now_ms) for row in found]


def get_delivery(
    tenant_id: str, webhook_id: str, delivery_id: str, now_ms: int
) -> Program[DeliveryDetail | None]:
    row = yield _one("get_delivery", tenant=tenant_id, webhook=webhook_id, id=delivery_id)
    if row is None:
        return None
    tried = yield _all("attempts_of", id=delivery_id)
    return DeliveryDetail(
        rows.delivery(row, now_ms), bytes(row["body"]), [rows.attempt(a) for a in tried]
    )


def resend(
    tenant_id: str, webhook_id: str, delivery_id: str, now_ms: int
) -> Program[Delivery | None]:
    key = {"tenant": tenant_id, "webhook": webhook_id, "id": delivery_id}
    row = yield Op("lock_delivery", key, "one")
    if row is None:
        return None
    if rows.delivery(row, now_ms).in_flight:
        raise Conflict(f"Delivery {delivery_id} is being sent right now; try again later.")
    yield _run("resend", id=delivery_id, now=now_ms)
    row = yield Op("get_delivery", key, "one")
    return rows.delivery(row, now_ms)


def recover(
    tenant_id: str, webhook_id: str, since_ms: int, until_ms: int, now_ms: int, limit: int
) -> Program[int]:
    if (yield from get_webhook(tenant_id, webhook_id)) is None:
        return -1
    count: int = yield _count(
        "recover", webhook=webhook_id, since=since_ms, until=until_ms, now=now_ms, limit=limit
    )
    return count


def queue_stats(now_ms: int) -> Program[QueueStats]:
    queue = yield _one("queue_stats", now=now_ms)
    webhooks = yield _one("auto_disabled_webhooks")
    health = yield _one("webhook_health")
    oldest = queue["oldest"]
    waited = now_ms - oldest if oldest is not None and oldest <= now_ms else 0
    return QueueStats(
        pending=int(queue["pending"]), due=int(queue["due"]), oldest_due_ms=int(waited),
        auto_disabled=int(webhooks["disabled"]),
        health={status: int(health[status]) for status in ("healthy", "failing", "paused")},
    )  # fmt: skip


def purge(before_ms: int, batch: int) -> Program[int]:
    count: int = yield _count("purge", before=before_ms, batch=batch)
    return count
