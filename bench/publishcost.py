"""`BENCH_SECTIONS=publishcost`: what payload filters and event schemas cost a publish.

Two kinds of figure, both measured in this run:

- CPU per call, in this process: one filter's evaluation on one event's data (what the
  fan-out pays per filtered webhook), one schema check (what a publish pays once), and
  `service.new_event` (the whole use-case step before the store) without and with the
  schema.
- The publish path end to end, through `Service.publish` and the real store (a SQLite
  file; PostgreSQL), BENCH_PUBLISHCOST_EVENTS events at 16 in flight (so group commit
  is at work), to 10 webhooks: no filter and no schema (the reference), every webhook
  filtered (a filter every event matches, so the same rows are written), the schema
  on, and both. The variants take turns, BENCH_PUBLISHCOST_ROUNDS rounds each, and the
  median round counts: the machine is shared, and its load drifts.
"""

import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from webhookd import config, sealing
from webhookd.domain import catalog, filters
from webhookd.domain.models import SendResult
from webhookd.service import Service, new_event
from webhookd.store.engine import Store
from webhookd.store.postgres import PostgresStore
from webhookd.store.sqlite import SQLiteStore

EVENTS = int(os.environ.get("BENCH_PUBLISHCOST_EVENTS", 1500))
ROUNDS = int(os.environ.get("BENCH_PUBLISHCOST_ROUNDS", 3))
WEBHOOKS = 10
IN_FLIGHT = 16
CATALOG = Path(__file__).parents[1] / "examples" / "event-catalog.yaml"
TYPE = "verification.completed"
DATA = {"runId": "run_42", "verified": 1200, "amount": 250.5, "currency": "EUR"}
# A filter of the kind the docs show, which DATA matches: every operator is evaluated.
FILTER = {
    "amount": {"$gte": 100, "$lt": 10_000},
    "currency": {"$in": ["EUR", "USD"]},
    "$or": [{"verified": {"$gt": 0}}, {"runId": {"$exists": False}}],
}
MISSED = {**DATA, "amount": 5}  # fails the first test
VARIANTS = ("none", "filters", "schema", "both")

Add = Callable[..., None]


class _NoTransport:
    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult:
        raise AssertionError("the publish cost benchmark sends nothing")


def _per_call_us(call: Callable[[], object], seconds: float = 0.5) -> float:
    """µs per call of `call`, the best of three timed runs (the least disturbed)."""
    count, began = 0, time.perf_counter()
    while time.perf_counter() - began < 0.05:  # size a run to about `seconds` / 3
        call()
        count += 1
    calls = max(1000, int(count * seconds / 3 / 0.05))
    best = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        for _ in range(calls):
            call()
        best = min(best, time.perf_counter() - began)
    return best / calls * 1e6


def micro(add: Add) -> dict[str, float]:
    text = filters.check(FILTER)
    assert text is not None
    assert filters.matches(text, DATA)
    schemas = config.load_catalog(CATALOG)
    assert schemas.violation(TYPE, DATA) is None
    plain = catalog.Catalog.plain(catalog.DEFAULT_TYPES)
    add("publishcost: one filter's evaluation (compiled, cached)",
        _per_call_us(lambda: filters.matches(text, DATA)), "µs")  # fmt: skip
    add("publishcost: one filter's evaluation, an event it does not match",
        _per_call_us(lambda: filters.matches(text, MISSED)), "µs")  # fmt: skip
    add("publishcost: one filter compiled (once per distinct filter text)",
        _per_call_us(lambda: filters.compile_filter(FILTER)), "µs")  # fmt: skip
    add("publishcost: one schema check (jsonschema_rs, compiled once)",
        _per_call_us(lambda: schemas.violation(TYPE, DATA)), "µs")  # fmt: skip
    without = _per_call_us(lambda: new_event(plain, "evt_x", "t", TYPE, DATA, 0))
    with_schema = _per_call_us(lambda: new_event(schemas, "evt_x", "t", TYPE, DATA, 0))
    add("publishcost: new_event without a schema", without, "µs")
    add("publishcost: new_event with the schema", with_schema, "µs")
    evaluation = _per_call_us(lambda: filters.matches(text, DATA))
    check = _per_call_us(lambda: schemas.violation(TYPE, DATA))
    return {"filters": WEBHOOKS * evaluation, "schema": check}


async def _variant_service(store: Store, variant: str, tenant: str) -> Service:
    event_types = (
        config.load_catalog(CATALOG)
        if variant in ("schema", "both")
        else catalog.Catalog.plain(catalog.DEFAULT_TYPES)
    )
    service = Service(store, _NoTransport(), event_types, sealer=sealing.Sealer(sealing.new_key()))
    payload_filter = FILTER if variant in ("filters", "both") else None
    for n in range(WEBHOOKS):
        await service.create_webhook(
            tenant, f"https://example.com/{n}", None, None, payload_filter=payload_filter
        )
    return service


async def _publish_round(service: Service, tenant: str, count: int) -> float:
    """Seconds per publish, `count` of them with IN_FLIGHT at a time."""
    left = iter(range(count))

    async def publisher() -> None:
        for _ in left:
            published = await service.publish(tenant, TYPE, DATA)
            assert published.deliveries == WEBHOOKS

    began = time.perf_counter()
    await asyncio.gather(*(publisher() for _ in range(IN_FLIGHT)))
    return (time.perf_counter() - began) / count


async def _end_to_end(open_store: Callable[[], Awaitable[Store]]) -> dict[str, float]:
    """Median µs per publish of each variant, each on its own tenant of one store."""
    store = await open_store()
    try:
        services = {v: await _variant_service(store, v, f"tenant-{v}") for v in VARIANTS}
        for variant, service in services.items():  # warm: plans, caches, the file
            await _publish_round(service, f"tenant-{variant}", 200)
        rounds: dict[str, list[float]] = {v: [] for v in VARIANTS}
        for _ in range(ROUNDS):
            for variant, service in services.items():
                rounds[variant].append(await _publish_round(service, f"tenant-{variant}", EVENTS))
    finally:
        await store.close()
    return {v: statistics.median(times) * 1e6 for v, times in rounds.items()}


def end_to_end(
    add: Add, engine: str, open_store: Callable[[], Awaitable[Store]], cpu: dict[str, float]
) -> None:
    per = asyncio.run(_end_to_end(open_store))
    name = f"publishcost {engine}"
    add(f"{name}: µs per publish, no filter, no schema ({WEBHOOKS} webhooks)", per["none"], "µs")
    # The CPU the two features add, measured above, against this engine's whole publish:
    # steadier than the end-to-end ratios below, which the shared machine's load moves.
    add(f"{name}: {WEBHOOKS} filter evaluations per publish / the publish",
        100 * cpu["filters"] / per["none"], "%")  # fmt: skip
    add(f"{name}: one schema check per publish / the publish",
        100 * cpu["schema"] / per["none"], "%")  # fmt: skip
    for variant, label in (
        ("filters", f"all {WEBHOOKS} webhooks filtered"),
        ("schema", "the schema checked"),
        ("both", "both"),
    ):
        add(f"{name}: µs per publish, {label}", per[variant], "µs")
        add(f"{name}: {label} / none", 100 * per[variant] / per["none"], "%")


def sqlite(add: Add, logs: Path, cpu: dict[str, float]) -> None:
    async def open_store() -> Store:
        store = SQLiteStore(logs / "publishcost.db")
        await store.open()
        return store

    end_to_end(add, "sqlite", open_store, cpu)


def postgres(add: Add, dsn: str, cpu: dict[str, float]) -> None:
    async def open_store() -> Store:
        store = PostgresStore(dsn, schema="publishcost", pool_size=10)
        await store.open()
        return store

    end_to_end(add, "postgres", open_store, cpu)


def run(add: Add, logs: Path, pg_dsn: Callable[[], Any] | None) -> None:
    """Every figure of the section; `pg_dsn` gives a context manager of a fresh database's
    DSN (None: SQLite only)."""
    cpu = micro(add)
    sqlite(add, logs, cpu)
    if pg_dsn is not None:
        with pg_dsn() as dsn:
            postgres(add, dsn, cpu)
