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

from webhookd.domain import catalog, circuit, filters, flow, ids, operator, retry, stats
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
from webhookd.errors import Conflict, KeyReused
from webhookd.store import rows
from webhookd.store.base import (
    Claimed,
    ClaimRequest,
    DeliveryFilter,
    Published,
    QueueStats,
    WebhookChanges,
)
from webhookd.store.queries import Q

T = TypeVar("T")
Returning = Literal["all", "one", "count", "run", "many", "lock"]
Row = Mapping[str, Any]  # a result row (sqlite3.Row, asyncpg.Record), read by column name


@dataclass(frozen=True, slots=True)
class Op:
    """One statement. A "many" op carries a batch of parameter sets; its query is only
    ever run that way (PostgreSQL writes it as one statement over arrays)."""

    query: Q
    params: Mapping[str, Any] | Sequence[Mapping[str, Any]]
    returning: Returning = "run"


Program = Generator[Op, Any, T]
MAX_OLD_SECRETS = 4  # rotated-out secrets that may still sign during their grace period
AFTER_EVERY_ID = "~"  # sorts after every id ("~" is above all id characters)
SKIPPED_AGAIN_MS = 20  # a claim that skipped a webhook held elsewhere looks again this soon


# Parameters: a list (or tuple) is an array of scalars, passed as it is. SQLite's
# statements read it as JSON text (`json_each(:ids)`; sqlite.py encodes it), PostgreSQL's
# as a native array (`:ids::text[]`, read with `= ANY` or `unnest`). Items with several
# fields go as one list per field, in step (`tenants[i]` goes with `keys[i]`). A batch
# (`many`) is a sequence of rows of scalars: PostgreSQL runs it as one statement over
# `unnest`, one array per column; SQLite runs it with `executemany`, or as one statement
# over the batch as JSON where its statement reads `json_each(:batch)` (sqlite.py).
#
# Each statement through one of these: a program reads `row = yield from fetch_one(...)`
# and mypy knows what it got.
def fetch_one(
    query: Q, params: Mapping[str, Any] | None = None, /, **named: Any
) -> Program[Row | None]:
    """The statement's first row, or None."""
    row: Row | None = yield Op(query, {**(params or {}), **named}, "one")
    return row


def fetch_all(
    query: Q, params: Mapping[str, Any] | None = None, /, **named: Any
) -> Program[list[Row]]:
    """Every row of the statement."""
    found: list[Row] = yield Op(query, {**(params or {}), **named}, "all")
    return found


def fetch_row(query: Q, params: Mapping[str, Any] | None = None, /, **named: Any) -> Program[Row]:
    """The one row of a statement that always has one (an aggregate, a row just written)."""
    row = yield from fetch_one(query, params, **named)
    if row is None:
        raise RuntimeError(f"{query} returned no row")
    return row


def count(query: Q, params: Mapping[str, Any] | None = None, /, **named: Any) -> Program[int]:
    """How many rows the statement changed."""
    changed: int = yield Op(query, {**(params or {}), **named}, "count")
    return changed


def execute(query: Q, params: Mapping[str, Any] | None = None, /, **named: Any) -> Program[None]:
    yield Op(query, {**(params or {}), **named}, "run")


def many(query: Q, batch: Sequence[Mapping[str, Any]]) -> Program[int]:
    """The statement once per parameter set of `batch` (PostgreSQL: one statement over
    arrays, one per column); how many sets."""
    done: int = yield Op(query, batch, "many")
    return done


def lock(query: Q, **named: Any) -> Program[None]:
    """Take a lock that orders concurrent writers (`queries.LOCKS`); an engine whose
    write transactions already exclude each other (SQLite) runs nothing for it."""
    yield Op(query, named, "lock")


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
        yield from execute(Q.INSERT_AUDIT, rows.audit_params(entry))
        active = result.active if isinstance(result, Webhook) else None
        yield from notify(
            operator.for_change(
                entry.action,
                entry.tenant_id,
                entry.webhook_id,
                entry.at,
                entry.details,
                entry.actor,
                active,
            )
        )
    return result


# the operator's notices -------------------------------------------------------------
def notify(notices: Sequence[operator.Notice]) -> Program[int]:
    """Queue `notices` to the operator's webhook in this transaction (the outbox), those
    of the types it chose; none while no operator webhook is enabled. How many."""
    if not notices:
        return 0
    row = yield from fetch_one(Q.GET_WEBHOOK, tenant=operator.TENANT, id=operator.WEBHOOK_ID)
    if row is None or not row["active"]:
        return 0
    chosen = operator.subscribed(notices, orjson.loads(row["events"]))
    if not chosen:
        return 0
    event_id, delivery_id = ids.ascending(ids.EVENT), ids.ascending(ids.DELIVERY)
    events = [Event(event_id(n.at), operator.TENANT, n.type, n.body, n.at) for n in chosen]
    yield from many(Q.INSERT_EVENTS, [rows.event_params(e, None, 1) for e in events])
    yield from many(
        Q.INSERT_DELIVERY,
        [rows.delivery_params(e, operator.WEBHOOK_ID, delivery_id(e.created_at)) for e in events],
    )
    return len(events)


def set_operator(webhook: Webhook | None) -> Program[None]:
    """Make `webhook` the operator's (enabled, with no old secrets), or, with None,
    disable the one there is."""
    if webhook is None:
        yield from execute(
            Q.DISABLE_WEBHOOK, id=operator.WEBHOOK_ID, reason="WEBHOOKD_OPERATOR_URL is not set."
        )
        return
    yield from execute(
        Q.SET_OPERATOR,
        id=operator.WEBHOOK_ID,
        tenant=operator.TENANT,
        url=webhook.url,
        events=rows.dump_events(webhook.events),
        description=webhook.description,
        secret=webhook.secret,
        created_at=webhook.created_at,
    )


def list_audit(tenant_id: str, before: str | None, limit: int) -> Program[list[AuditEntry]]:
    found = yield from fetch_all(
        Q.LIST_AUDIT, tenant=tenant_id, before=before or AFTER_EVERY_ID, limit=limit
    )
    return [rows.audit(row) for row in found]


# webhooks ---------------------------------------------------------------------------
def create_webhook(w: Webhook, limit: int | None = None) -> Program[bool]:
    """Insert `w`, unless its tenant already has `limit` webhooks (Conflict)."""
    if limit is not None:
        yield from lock(Q.LOCK_KEY, tenant=w.tenant_id, key="webhooks")  # creates queue per tenant
        found = yield from fetch_row(Q.COUNT_WEBHOOKS, tenant=w.tenant_id)
        if found["n"] >= limit:
            raise Conflict(
                f"This tenant already has {found['n']} webhooks, the most allowed "
                "(WEBHOOKD_MAX_WEBHOOKS_PER_TENANT); delete one it no longer needs first."
            )
    yield from execute(
        Q.INSERT_WEBHOOK,
        id=w.id,
        tenant=w.tenant_id,
        url=w.url,
        events=rows.dump_events(w.events),
        description=w.description,
        secret=w.secret,
        active=w.active,
        created_at=w.created_at,
        rate_limit=w.rate_limit,
        fifo=w.fifo,
        headers=rows.dump_headers(w.headers),
        auth=rows.dump_auth(w.auth),
    )
    if w.filter is not None:
        yield from execute(Q.SET_WEBHOOK_FILTER, tenant=w.tenant_id, id=w.id, filter=w.filter)
    return True


def list_webhooks(tenant_id: str) -> Program[list[Webhook]]:
    found = yield from fetch_all(Q.LIST_WEBHOOKS, tenant=tenant_id)
    return [rows.webhook(row) for row in found]


def get_webhook(tenant_id: str, webhook_id: str) -> Program[Webhook | None]:
    row = yield from fetch_one(Q.GET_WEBHOOK, tenant=tenant_id, id=webhook_id)
    return None if row is None else rows.webhook(row)


def update_webhook(
    tenant_id: str, webhook_id: str, changes: WebhookChanges
) -> Program[Webhook | None]:
    events = None if changes.events is None else rows.dump_events(changes.events)
    yield from execute(
        Q.UPDATE_WEBHOOK,
        tenant=tenant_id,
        id=webhook_id,
        url=changes.url,
        events=events,
        description=changes.description,
        rate_limit=changes.rate_limit,
        fifo=changes.fifo,
        headers=None if changes.headers is None else rows.dump_headers(changes.headers),
        auth_set=changes.auth is not None or changes.remove_auth,
        auth=rows.dump_auth(changes.auth),
    )
    if changes.filter is not None:
        text = changes.filter or None  # "" removes it
        yield from execute(Q.SET_WEBHOOK_FILTER, tenant=tenant_id, id=webhook_id, filter=text)
    return (yield from get_webhook(tenant_id, webhook_id))


def toggle_webhook(tenant_id: str, webhook_id: str) -> Program[Webhook | None]:
    yield from execute(Q.TOGGLE_WEBHOOK, tenant=tenant_id, id=webhook_id)
    return (yield from get_webhook(tenant_id, webhook_id))


def rotate_secret(
    tenant_id: str, webhook_id: str, sealed: str, grace_ms: int, now_ms: int
) -> Program[Webhook | None]:
    """Make `sealed` the secret; the old one keeps signing for `grace_ms`.

    A grace of 0 means "the old secrets are compromised": every earlier secret, even one
    still inside an earlier rotation's grace period, stops signing at once. Otherwise the
    newest MAX_OLD_SECRETS rotated-out secrets in their grace period keep signing.
    """
    yield from fetch_one(
        Q.LOCK_WEBHOOK, tenant=tenant_id, id=webhook_id
    )  # concurrent rotations queue
    current = yield from get_webhook(tenant_id, webhook_id)
    if current is None:
        return None
    still_valid: list[OldSecret] = []
    if grace_ms > 0:
        still_valid = [OldSecret(current.secret, now_ms + grace_ms)]
        still_valid += [old for old in current.old_secrets if old.until > now_ms]
    kept = tuple(still_valid[:MAX_OLD_SECRETS])
    yield from execute(
        Q.ROTATE_SECRET,
        tenant=tenant_id,
        id=webhook_id,
        secret=sealed,
        old_secrets=rows.dump_old_secrets(kept),
    )
    return (yield from get_webhook(tenant_id, webhook_id))


def reseal(transform: Callable[[str], str]) -> Program[int]:
    """Re-seal every stored secret (after a new WEBHOOKD_SECRET_KEY was put first): the
    signing secrets, and the secret of each webhook's `auth`."""
    found = yield from fetch_all(Q.ALL_SECRETS)
    for row in found:
        old = tuple(
            OldSecret(transform(o.sealed), o.until) for o in rows.old_secrets(row["old_secrets"])
        )
        auth = rows.auth(row["auth"])
        yield from execute(
            Q.SET_SECRETS,
            id=row["id"],
            secret=transform(row["secret"]),
            old_secrets=rows.dump_old_secrets(old),
            auth=rows.dump_auth(
                None if auth is None else replace(auth, sealed=transform(auth.sealed))
            ),
        )
    return len(found)


def delete_webhook(tenant_id: str, webhook_id: str) -> Program[bool]:
    deleted = yield from count(Q.DELETE_WEBHOOK, tenant=tenant_id, id=webhook_id)
    return bool(deleted)


# events and the queue ---------------------------------------------------------------
def publish_all(
    items: Sequence[tuple[Event, str | None]], window_ms: int
) -> Program[list[Published]]:
    """Store each event, with one delivery per active webhook of its tenant subscribed to
    its type, in this one transaction; what each got, in the order given.

    An event whose idempotency key names an event of the last `window_ms` (an earlier
    item of the same call included) stores nothing: it answers that event, or raises
    KeyReused naming the item when the type or data differ. The keys are locked first,
    all in one order, so publishes that share keys wait for each other, never deadlock.
    Ids of the deliveries follow the items' order, so "oldest first" does too."""
    keyed = sorted({(event.tenant_id, key) for event, key in items if key is not None})
    earlier: dict[tuple[str, str], Mapping[str, Any]] = {}
    if keyed:
        tenants = [tenant for tenant, _ in keyed]
        locks = [f"idempotency:{key}" for _, key in keyed]
        yield from lock(Q.LOCK_KEYS, tenants=tenants, keys=locks)
        found = yield from fetch_all(
            Q.FIND_IDEMPOTENT, tenants=tenants, keys=[key for _, key in keyed]
        )
        earlier = {(row["tenant_id"], row["idempotency_key"]): row for row in found}
    # tenant -> its active webhooks: (id, subscribed types, payload filter text)
    hooks: dict[str, list[tuple[str, list[str], str | None]]] = {}
    ordered: set[str] = set()  # of those, the ones that deliver in order (fifo)
    answers: list[Published] = []
    events: list[dict[str, Any]] = []
    fan_out: list[tuple[Event, str]] = []
    for index, (event, key) in enumerate(items):
        seen = None if key is None else earlier.get((event.tenant_id, key))
        if seen is not None and seen["created_at"] <= event.created_at - window_ms:
            yield from execute(Q.FORGET_IDEMPOTENCY_KEY, id=seen["id"])  # expired: the key is free
            seen = None
        if seen is not None:
            if seen["request_hash"] != event.fingerprint:
                raise KeyReused(index, window_ms)
            answers.append(Published(seen["id"], seen["deliveries"], created=False))
            continue
        if event.tenant_id not in hooks:
            active = yield from fetch_all(Q.ACTIVE_WEBHOOKS, tenant=event.tenant_id)
            hooks[event.tenant_id] = [
                (h["id"], orjson.loads(h["events"]), h["payload_filter"]) for h in active
            ]
            ordered.update(h["id"] for h in active if h["fifo"])
        targets = _targets(hooks[event.tenant_id], event)
        events.append(rows.event_params(event, key, len(targets)))
        fan_out += [(event, webhook_id) for webhook_id in targets]
        answers.append(Published(event.id, len(targets), created=True))
        if key is not None:  # a later item with this key answers this event
            earlier[(event.tenant_id, key)] = {
                "id": event.id,
                "deliveries": len(targets),
                "created_at": event.created_at,
                "request_hash": event.fingerprint,
            }
    if events:
        yield from many(Q.INSERT_EVENTS, events)
    if fan_out:
        yield from _insert_deliveries(fan_out, ordered)
    return answers


def _insert_deliveries(fan_out: list[tuple[Event, str]], ordered: set[str]) -> Program[None]:
    """One delivery per (event, webhook), with ids in the order given."""
    delivery_id = ids.ascending(ids.DELIVERY)
    made = [(event, w, delivery_id(event.created_at)) for event, w in fan_out]
    fifo = sorted(ordered & {w for _, w in fan_out})
    if fifo:
        made = yield from _in_commit_order(made, fifo)
    yield from many(Q.INSERT_DELIVERY, [rows.delivery_params(e, w, d) for e, w, d in made])


def _in_commit_order(
    made: list[tuple[Event, str, str]], fifo: list[str]
) -> Program[list[tuple[Event, str, str]]]:
    """The deliveries to ordered webhooks get ids after the newest one each has, under
    a lock held until this publish commits: their ids then sort in commit order, which
    the clocks of several publishers (or one whose clock stepped back) would not give."""
    locked = yield from fetch_all(Q.LOCK_FIFO, ids=fifo)
    last = {row["id"]: row["fifo_last"] for row in locked}
    ordered = []
    for event, w, delivery_id in made:
        if w in last:
            delivery_id = ids.after(last[w], delivery_id)
            last[w] = delivery_id
        ordered.append((event, w, delivery_id))
    yield from many(Q.SET_FIFO_LAST, [{"last": d, "id": w} for w, d in sorted(last.items())])
    return ordered


def _targets(hooks: Sequence[tuple[str, list[str], str | None]], event: Event) -> list[str]:
    """The webhooks that get a delivery of `event`: subscribed to its type, and, where a
    webhook has a payload filter, with data that matches it (compiled once per filter)."""
    data: Any = _UNREAD
    targets = []
    for webhook_id, types, payload_filter in hooks:
        if not catalog.subscribes(types, event.type):
            continue
        if payload_filter is not None:
            if data is _UNREAD:
                data = event.data if event.data is not None else _data_of(event.body)
            if not filters.matches(payload_filter, data):
                continue
        targets.append(webhook_id)
    return targets


_UNREAD = object()


def _data_of(body: bytes) -> Any:
    """An event's data read back from its delivery body (an Event made without `data`)."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return parsed.get("data") if isinstance(parsed, dict) else None


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
        only = sorted(request.proven - full)
    due = yield from fetch_all(
        Q.DUE,
        now=now,
        excluded=sorted(full),
        only=only,
        **due_rooms(request, busy),
        retry_limit=retry_room * 4,
        first_limit=first_limit,
    )
    budget, probing, buckets, skipped = yield from _held_back(due, now)
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
        due = yield from fetch_all(
            Q.DUE,
            now=now,
            excluded=sorted(full | filled),
            only=only,
            **due_rooms(request, after_retries),
            retry_limit=0,
            first_limit=room * 4,
        )
        _, more_probing, more_buckets, more_skipped = yield from _held_back(due, now, budget)
        probing |= more_probing
        buckets.update(more_buckets)
        skipped |= more_skipped
        already = set(taken)
        taken += pick.take([row for row in due if row["id"] not in already], room - len(taken))
    picked += taken
    wake_at = _hold(buckets, pick.taken, now)
    if skipped:  # come back for the webhooks another transaction held
        wake_at = min(wake_at or now + SKIPPED_AGAIN_MS, now + SKIPPED_AGAIN_MS)
    used = sorted(w for w in set(buckets) | probing if pick.taken.get(w))
    if used:
        yield from many(
            Q.WEBHOOK_CLAIMED,
            [
                {
                    "tokens": buckets[w][1] - pick.taken[w] if w in buckets else None,
                    "at": now if w in buckets else None,
                    "probe_until": now + request.lease_ms if w in probing else None,
                    "id": w,
                }
                for w in used
            ],
        )
    if not picked:
        return Claimed([], wake_at)
    leased = yield from fetch_all(
        Q.LEASE_JOBS, until=now + request.lease_ms, token=token, ids=picked
    )
    return Claimed([rows.job(row, token, row["webhook_id"] in probing) for row in leased], wake_at)


Bucketed = dict[str, tuple[flow.Bucket, float]]  # webhook -> its bucket, the tokens now


def _held_back(
    due: Sequence[rows.Row], now: int, budget: dict[str, int] | None = None
) -> Program[tuple[dict[str, int], set[str], Bucketed, set[str]]]:
    """Lock and read again the webhooks of `due` with a rate limit or a half-open circuit;
    how many each may give now (`budget`), which send a probe, their buckets, and which
    were skipped because another transaction holds them (they give none this time)."""
    budget = {} if budget is None else budget
    held = sorted(
        {r["webhook_id"] for r in due if r["rate_limit"] is not None or r["circuit_until"]}
        - set(budget)
    )
    probing: set[str] = set()
    buckets: Bucketed = {}
    if not held:
        return budget, probing, buckets, set()
    states = yield from fetch_all(Q.TRY_LOCK_WEBHOOKS, ids=held)
    skipped = set(held) - {state["id"] for state in states}
    for w in skipped:
        budget[w] = 0
    for state in states:
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
    return budget, probing, buckets, skipped


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
    take), `room` for any webhook not named, and never more than `per_webhook`. The
    webhooks named are `room_ids`, their rooms `rooms`, in step."""
    room = request.cap("")  # the cap of a webhook this worker knows nothing of
    rooms = {w: request.cap(w) - busy.get(w, 0) for w in {*request.caps, *busy}}
    named = {w: n for w, n in rooms.items() if n != room and n > 0}
    return {
        "per_webhook": request.per_webhook,
        "room": room,
        "room_ids": list(named),
        "rooms": list(named.values()),
    }


def settle(
    settlements: Sequence[Settlement], disable_after_ms: int, breaker: circuit.Breaker
) -> Program[int]:
    """Apply a batch of results, each only if its lease is still ours; how many applied.

    A handful of statements per batch, not per result: one lease check (which also
    locks the rows), then the deliveries, the attempts and the webhooks' clocks each
    as one batch. Rows are written in id order, so two batches never deadlock."""
    if not settlements:
        return 0
    # webhook rows before deliveries, as DELETE does
    hooks = sorted({s.job.webhook_id for s in settlements})
    states = yield from fetch_all(Q.LOCK_WEBHOOKS, ids=hooks)
    holders = yield from fetch_all(
        Q.LEASE_HOLDERS, ids=sorted(s.job.delivery_id for s in settlements)
    )
    held = {row["id"]: row["lease_token"] for row in holders}
    mine = [s for s in settlements if held.get(s.job.delivery_id) == s.job.lease_token]
    if not mine:
        return 0
    by_id = sorted(mine, key=lambda s: s.job.delivery_id)
    yield from many(Q.SETTLE, [rows.settle_params(s) for s in by_id])
    attempted = [s for s in mine if s.attempt is not None]
    if attempted:
        recorded = [rows.attempt_params(s.attempt) for s in attempted if s.attempt]
        yield from many(Q.RECORD_ATTEMPT, recorded)
        locked = {row["id"]: row for row in states}
        opened = yield from _circuits(
            attempted, {w: rows.circuit(row) for w, row in locked.items()}, breaker
        )
        notices = yield from _webhook_clocks(attempted, locked, disable_after_ms, opened)
        yield from notify(notices)
    return len(mine)


def _circuits(
    attempted: Sequence[Settlement], before: Mapping[str, Circuit], breaker: circuit.Breaker
) -> Program[set[str]]:
    """Each webhook's circuit after the batch's results, in their order; only the
    circuits that changed are written (a healthy webhook's stay as they are). The
    webhooks whose circuit opened (it was closed before)."""
    now: dict[str, Circuit] = {}
    for s in attempted:
        assert s.attempt is not None
        w = s.job.webhook_id
        state = now.get(w, before.get(w, circuit.CLOSED))
        now[w] = breaker.after(state, s.attempt.result, s.attempt.attempted_at, s.job.probe)
    changed = [(w, c) for w, c in sorted(now.items()) if c != before.get(w, circuit.CLOSED)]
    if changed:
        yield from many(
            Q.SET_CIRCUIT,
            [
                {"failures": c.failures, "trips": c.trips, "until": c.until, "id": w}
                for w, c in changed
            ],
        )
    return {
        w for w, c in changed if c.until is not None and before.get(w, circuit.CLOSED).until is None
    }


def _webhook_clocks(
    attempted: Sequence[Settlement],
    states: Mapping[str, rows.Row],
    disable_after_ms: int,
    opened: set[str],
) -> Program[list[operator.Notice]]:
    """`last_triggered_at` and the failure clock of each webhook, its results in their
    order: a success resets the clock, a failure starts it, and a webhook failing for
    `disable_after_ms` (or answered 410) is disabled. Worked out here from the rows the
    settle has locked, then one statement for the batch: the results of hundreds of
    endpoints timing out together cost a round trip, not hundreds. With them, what the
    operator is to be told (domain/operator.py), returned; `opened`: the webhooks whose
    circuit this batch opened. The operator's own webhook is never disabled, nor talked
    about."""
    per_webhook: dict[str, list[Settlement]] = {}
    for s in attempted:
        per_webhook.setdefault(s.job.webhook_id, []).append(s)
    clocks, disable, notices = [], [], []
    for webhook_id in sorted(per_webhook):  # one order for every batch: no deadlock
        state = states.get(webhook_id)
        if state is None:
            continue
        done = [(s, s.attempt) for s in per_webhook[webhook_id] if s.attempt is not None]
        results = [
            retry.Outcome(a.attempted_at, a.result.ok, s.disable_reason, not a.result.egress_fault)
            for s, a in done
        ]
        since, reason = retry.failure_clock(state["failing_since"], results, disable_after_ms)
        last = max(r.at for r in results)
        own = webhook_id == operator.WEBHOOK_ID
        disabled = None
        if state["active"] and reason is not None and not own:
            disable.append((webhook_id, reason, last))
            disabled = ("gone" if reason == retry.GONE_REASON else "failing", last, reason)
        endpoint = operator.Endpoint(
            state["tenant_id"],
            webhook_id,
            state["failing_since"],
            state["ops_failing_notified"],
            bool(state["ops_recovery_owed"]),
            state["ops_exhausted_at"],
            state["ops_exhausted_unsent"],
        )
        after = operator.after_attempts(
            endpoint,
            [
                operator.Attempted(
                    a.attempted_at,
                    a.result.ok,
                    s.job.delivery_id,
                    s.job.event_type,
                    s.job.attempts + 1,
                    a.result.http_status,
                    a.result.error,
                    exhausted=s.status is DeliveryStatus.FAILED
                    and not s.job.manual
                    and s.disable_reason is None,
                )
                for s, a in done
                if not a.result.egress_fault  # it never reached the endpoint
            ],
            disable_after_ms,
            disabled=disabled,
            circuit_opened=webhook_id in opened,
        )
        if not own:
            notices += after.notices
        clocks.append(
            {
                "at": last,
                "failing_since": since,
                "success_at": max((r.at for r in results if r.ok), default=None),
                "failure_at": max((r.at for r in results if r.counts and not r.ok), default=None),
                "failing_notified": after.failing_notified,
                "recovery_owed": after.recovery_owed,
                "exhausted_at": after.exhausted_at,
                "exhausted_unsent": after.exhausted_unsent,
                "id": webhook_id,
            }
        )
    if clocks:
        yield from many(Q.WEBHOOK_TRIGGERED, clocks)
    for webhook_id, reason, at in disable:
        disabled_row = yield from fetch_one(Q.DISABLE_WEBHOOK, id=webhook_id, reason=reason)
        if disabled_row is not None:
            entry = AuditEntry(
                id=ids.new_id(ids.AUDIT, at),
                tenant_id=disabled_row["tenant_id"],
                actor="webhookd",
                action="webhook.auto_disabled",
                webhook_id=webhook_id,
                at=at,
                details={"reason": reason},
            )
            yield from execute(Q.INSERT_AUDIT, rows.audit_params(entry))
    return notices


def record_test(webhook: Webhook, event: Event, attempt: Attempt) -> Program[str]:
    status = DeliveryStatus.DELIVERED if attempt.result.ok else DeliveryStatus.FAILED
    yield from execute(Q.INSERT_EVENT, rows.event_params(event, None, 1))
    delivery = rows.delivery_params(event, webhook.id, attempt.delivery_id, status, manual=True)
    yield from execute(
        Q.INSERT_TESTED_DELIVERY, {**delivery, "http_status": attempt.result.http_status}
    )
    yield from many(Q.RECORD_ATTEMPT, [rows.attempt_params(attempt)])
    yield from execute(Q.TOUCH_WEBHOOK, at=attempt.attempted_at, id=webhook.id)
    if attempt.result.ok:
        yield from execute(
            Q.WEBHOOK_SUCCEEDED, id=webhook.id
        )  # any success resets the failure clock
    return attempt.delivery_id


# the delivery log -------------------------------------------------------------------
LOG_QUERIES = {  # (by status, by event type) -> the statement whose index fits
    (False, False): Q.LIST_DELIVERIES,
    (True, False): Q.LIST_DELIVERIES_BY_STATUS,
    (False, True): Q.LIST_DELIVERIES_BY_EVENT,
    (True, True): Q.LIST_DELIVERIES_BY_STATUS_AND_EVENT,
}


def list_deliveries(
    tenant_id: str, webhook_id: str, where: DeliveryFilter, now_ms: int
) -> Program[list[Delivery]]:
    params: dict[str, Any] = {
        "tenant": tenant_id,
        "webhook": webhook_id,
        "limit": where.limit,
        "before": where.before or AFTER_EVERY_ID,
    }
    if where.status is not None:
        params["status"] = where.status.value
    if where.event_type is not None:
        params["event"] = where.event_type
    query = LOG_QUERIES[where.status is not None, where.event_type is not None]
    found = yield from fetch_all(query, params)
    return (yield from _blocked([rows.delivery(row, now_ms) for row in found], webhook_id))


def _blocked(deliveries: list[Delivery], webhook_id: str) -> Program[list[Delivery]]:
    """Of an ordered webhook, the pending deliveries behind the head of its queue, marked
    with the head's id (`blocked_by`)."""
    waiting = [d for d in deliveries if d.status is DeliveryStatus.PENDING and not d.manual]
    if not waiting:
        return deliveries
    head = yield from fetch_one(Q.FIFO_HEAD, webhook=webhook_id)
    if head is None:
        return deliveries
    return [
        replace(d, blocked_by=head["id"]) if d in waiting and d.id > head["id"] else d
        for d in deliveries
    ]


def get_delivery(
    tenant_id: str, webhook_id: str, delivery_id: str, now_ms: int
) -> Program[DeliveryDetail | None]:
    row = yield from fetch_one(Q.GET_DELIVERY, tenant=tenant_id, webhook=webhook_id, id=delivery_id)
    if row is None:
        return None
    tried = yield from fetch_all(Q.ATTEMPTS_OF, id=delivery_id)
    (delivery,) = yield from _blocked([rows.delivery(row, now_ms)], webhook_id)
    return DeliveryDetail(delivery, bytes(row["body"]), [rows.attempt(a) for a in tried])


def resend(
    tenant_id: str, webhook_id: str, delivery_id: str, now_ms: int
) -> Program[Delivery | None]:
    key = {"tenant": tenant_id, "webhook": webhook_id, "id": delivery_id}
    row = yield from fetch_one(Q.LOCK_DELIVERY, key)
    if row is None:
        return None
    if rows.delivery(row, now_ms).in_flight:
        raise Conflict(f"Delivery {delivery_id} is being sent right now; try again later.")
    yield from execute(Q.RESEND, id=delivery_id, now=now_ms)
    row = yield from fetch_row(Q.GET_DELIVERY, key)
    return rows.delivery(row, now_ms)


def recover(
    tenant_id: str, webhook_id: str, since_ms: int, until_ms: int, now_ms: int, limit: int
) -> Program[int]:
    if (yield from get_webhook(tenant_id, webhook_id)) is None:
        return -1
    return (
        yield from count(
            Q.RECOVER, webhook=webhook_id, since=since_ms, until=until_ms, now=now_ms, limit=limit
        )
    )


def queue_stats(now_ms: int) -> Program[QueueStats]:
    queue = yield from fetch_row(Q.QUEUE_STATS, now=now_ms)
    webhooks = yield from fetch_row(Q.AUTO_DISABLED_WEBHOOKS)
    health = yield from fetch_row(Q.WEBHOOK_HEALTH)
    oldest = queue["oldest"]
    waited = now_ms - oldest if oldest is not None and oldest <= now_ms else 0
    return QueueStats(
        pending=int(queue["pending"]),
        due=int(queue["due"]),
        oldest_due_ms=int(waited),
        auto_disabled=int(webhooks["disabled"]),
        health={status: int(health[status]) for status in ("healthy", "failing", "paused")},
    )


def purge(before_ms: int, batch: int) -> Program[int]:
    return (yield from count(Q.PURGE, before=before_ms, batch=batch))


def webhook_stats(
    tenant_id: str, webhook_id: str, window: stats.Window
) -> Program[stats.Stats | None]:
    """The webhook's statistics over `window`; None when the tenant has no such webhook."""
    row = yield from fetch_one(Q.GET_WEBHOOK, tenant=tenant_id, id=webhook_id)
    if row is None:
        return None
    span = {
        "webhook": webhook_id,
        "start": window.start,
        "end": window.end,
        "size": window.size,
        "first": ids.least(ids.DELIVERY, window.start),  # no delivery of the window sorts before
    }
    counts = yield from fetch_all(Q.STATS_COUNTS, span)
    latencies = yield from fetch_all(Q.STATS_LATENCY, span)
    found = stats.summarize(
        window,
        [(int(r["bucket"]), r["status"], bool(r["tried"]), int(r["n"])) for r in counts],
        [(int(r["bucket"]), int(r["ms"]), int(r["n"])) for r in latencies],
    )
    found.last_success_at = row["last_success_at"]
    found.last_failure_at = row["last_failure_at"]
    return found
