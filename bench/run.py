"""`make bench`: every figure of issue 6, measured against this machine's own limit.

Sections (BENCH_SECTIONS picks some, comma-separated): limit, drain, latency, api, mixed,
front, idle, soak, outbox, isolation, rtt, backlog, publishcost, fifo. Sizes come from the
environment; the first six fit in 5 minutes on 2 cores, and each of the last three in about 3:

  BENCH_DELIVERIES=20000   drain size        BENCH_CONCURRENCY=64  in flight (all workers)
  latency: 25 % of the limit (x10 webhooks), then BENCH_RATE=200 events/s x 1;
  BENCH_LATENCY_SECONDS=30 each (after BENCH_WARMUP=2)
  BENCH_MIXED_EVENTS=2000  x10 webhooks, published while delivering
  BENCH_API_SECONDS=4      closed-loop runs  BENCH_IDLE_SECONDS=30
  BENCH_SOAK=200000        soak deliveries   BENCH_SOAK_RATE=150 events/s (x20 webhooks)
  BENCH_ISOLATION_SECONDS=20  BENCH_ISOLATION_RATE=20 events/s per tenant
  BENCH_ISOLATION_HANGING=200 BENCH_ISOLATION_BROKEN=20 (closed port, and 500, each)
  BENCH_RTT_MS=100         endpoint delay    BENCH_RTT_EVENTS=2000 (x10 webhooks)
  BENCH_RTT_ROUNDS=20      client requests per slot of its concurrency
  BENCH_BACKLOG=100000     paused backlog    BENCH_BACKLOG_CLAIMS=200 timed claims
  BENCH_OUTBOX_EVENTS=20000  by POST /events, then through the producer outbox's relay
  BENCH_FIFO_EVENTS=1000   to one ordered endpoint answering after BENCH_FIFO_MS=10 ms
  BENCH_PUBLISHCOST_EVENTS=1500 x BENCH_PUBLISHCOST_ROUNDS=3 per variant (bench/publishcost.py)
  BENCH_PG=postgresql://postgres@127.0.0.1:5432   (databases webhookd_bench_* are made
                                                   and dropped)

The sections isolation, rtt and backlog run webhookd with its default delivery
settings (512 in flight per worker, windows of up to 32 per endpoint, 15 s deadline),
not BENCH_CONCURRENCY.

Prints one table and writes bench/results/<UTC date>.json (<date>-partial.json when
only some sections ran).
"""

import asyncio
import contextlib
import json
import os
import platform
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import asyncpg
import uvloop

from bench import backlog, front, procs, publishcost
from bench.loadgen import percentile
from bench.pgproxy import CountingProxy
from webhookd.testing import free_port

ROOT = Path(__file__).parent


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


N = _env_int("BENCH_DELIVERIES", 20_000)
FRONT_SECONDS = _env_int("BENCH_FRONT_SECONDS", 10)
FRONT_SLOW = _env_int("BENCH_FRONT_SLOW", 1000)
FRONT_BOMBERS = _env_int("BENCH_FRONT_BOMBERS", 4)
CONCURRENCY = _env_int("BENCH_CONCURRENCY", 64)
RATE = _env_int("BENCH_RATE", 200)
LATENCY_SECONDS = _env_int("BENCH_LATENCY_SECONDS", 30)
API_SECONDS = _env_int("BENCH_API_SECONDS", 4)
IDLE_SECONDS = _env_int("BENCH_IDLE_SECONDS", 30)
WARMUP = _env_int("BENCH_WARMUP", 2)
SOAK = _env_int("BENCH_SOAK", 200_000)
SOAK_RATE = _env_int("BENCH_SOAK_RATE", 150)
PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
FANOUT = 10  # webhooks per drain event
SOAK_FANOUT = 20
ISOLATION_SECONDS = _env_int("BENCH_ISOLATION_SECONDS", 20)
ISOLATION_RATE = _env_int("BENCH_ISOLATION_RATE", 20)  # events/s, each tenant
HANGING = _env_int("BENCH_ISOLATION_HANGING", 200)  # tenant A's endpoints that never answer
BROKEN = _env_int("BENCH_ISOLATION_BROKEN", 20)  # A's on a closed port, and A's answering 500
HEALTHY = 5  # tenant B's endpoints
ISOLATION_GRACE = 3  # seconds after the last publish by which all of B's must have arrived
RTT_MS = _env_int("BENCH_RTT_MS", 100)
RTT_EVENTS = _env_int("BENCH_RTT_EVENTS", 2000)
RTT_ROUNDS = _env_int("BENCH_RTT_ROUNDS", 20)
RTT_FANOUT = 10
RTT_IN_FLIGHT = (64, 256, 1024)
BACKLOG = _env_int("BENCH_BACKLOG", 100_000)
OUTBOX_EVENTS = _env_int("BENCH_OUTBOX_EVENTS", 20_000)
FIFO_EVENTS = _env_int("BENCH_FIFO_EVENTS", 1000)
FIFO_MS = _env_int("BENCH_FIFO_MS", 10)
BACKLOG_CLAIMS = _env_int("BENCH_BACKLOG_CLAIMS", 200)
MIXED_EVENTS = _env_int("BENCH_MIXED_EVENTS", 2000)  # x FANOUT webhooks, published while delivering
LOAD_SHARE = 0.25  # the latency section's offered load: this share of the limit, in deliveries/s


@dataclass
class Figure:
    figure: str
    value: float
    unit: str
    target: str = ""
    passed: bool | None = None


class Run:
    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.figures: list[Figure] = []
        self.raw: dict[str, Any] = {}
        self.receiver = procs.Receiver(logs)

    def add(self, figure: str, value: float, unit: str, target: str = "",
            passed: bool | None = None) -> None:  # fmt: skip
        self.figures.append(Figure(figure, value, unit, target, passed))
        print(f"  {figure}: {value:.4g} {unit}", flush=True)

    def sqlite_env(self, name: str, **extra: str) -> dict[str, str]:
        url = f"sqlite:///{self.logs / name}.db"
        return procs.webhookd_env(url, WEBHOOKD_WORKER_CONCURRENCY=str(CONCURRENCY), **extra)


# PostgreSQL ----------------------------------------------------------------------------
def _pg(database: str) -> str:
    return f"{PG.rstrip('/')}/{database}"


async def _admin(*statements: str) -> None:
    conn = await asyncpg.connect(_pg("postgres"))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@contextlib.contextmanager
def pg_database(name: str) -> Iterator[str]:
    database = f"webhookd_bench_{name}"
    asyncio.run(_admin(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)",
                       f"CREATE DATABASE {database}"))  # fmt: skip
    try:
        yield database
    finally:
        asyncio.run(_admin(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))


async def _pg_fetchval(dsn: str, sql: str) -> Any:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


# the sections ----------------------------------------------------------------------------
def limit(run: Run, before: str, figure: str = "") -> float:
    """The median of three runs of a bare aiohttp client doing the worker's job."""
    print(f"limit: a bare aiohttp client, {N} signed POSTs, {CONCURRENCY} in flight", flush=True)
    rates = []
    for _ in range(3):
        run.receiver.reset()
        result = procs.loadgen(run.logs, "limit", run.receiver.url + "/limit", "--count",
                               str(N // 2), "--concurrency", str(CONCURRENCY))  # fmt: skip
        rates.append(result["rate"])
    run.raw[f"limit_{before}"] = rates
    rate = sorted(rates)[1]
    run.add(figure or f"limit: signed POSTs/s (bare aiohttp), before {before} drain", rate, "/s")
    return float(rate)


PENDING = "SELECT count(*) FROM deliveries WHERE status = 'pending'"
FIRST_ATTEMPT = "SELECT min(attempted_at) FROM attempts"


def _drained(run: Run, count_pending: Callable[[], int], first_ms: Callable[[], int],
             expected: int, receiver: procs.Receiver | None = None,
             ) -> tuple[float, dict[str, Any]]:  # fmt: skip
    """deliveries/s from the first claim to the last settle, once all have arrived."""
    stats = (receiver or run.receiver).wait_for(expected, timeout=600)
    while count_pending() > 0:
        time.sleep(0.01)
    ended = time.time()
    started = first_ms() / 1000
    return expected / (ended - started), {"seconds": ended - started, "receiver": {
        "count": stats["count"], "first": stats["first"], "last": stats["last"]}}  # fmt: skip


def _sqlite_probes(db: Path) -> tuple[Callable[[], int], Callable[[], int]]:
    """The pending count and the first attempt's time, read from the file as it drains."""

    def read(sql: str) -> int:
        with contextlib.closing(sqlite3.connect(db, timeout=10)) as conn:
            return int(conn.execute(sql).fetchone()[0])

    return lambda: read(PENDING), lambda: read(FIRST_ATTEMPT)


def drain_sqlite(run: Run, limit_rate: float) -> None:
    events = N // FANOUT
    print(f"drain/sqlite: {events} events x {FANOUT} webhooks, `webhookd serve`", flush=True)
    env = run.sqlite_env("drain")
    api = procs.Webhookd("drain-sqlite-fill", env, run.logs, "--no-worker")
    api.webhooks("drain", [f"{run.receiver.url}/d{i}" for i in range(FANOUT)])
    procs.loadgen(run.logs, "events", api.base, procs.INGEST_KEY, "drain", "--count",
                  str(events), "--concurrency", "16")  # fmt: skip
    api.proc.stop()
    run.receiver.reset()
    pending, first = _sqlite_probes(run.logs / "drain.db")
    server = procs.Webhookd("drain-sqlite", env, run.logs)
    server.proc.profile()
    try:
        rate, raw = _drained(run, pending, first, events * FANOUT)
    finally:
        server.proc.stop()
    run.raw["drain_sqlite"] = raw
    run.add("drain sqlite: deliveries/s (serve, 1 process)", rate, "/s")
    ratio = rate / limit_rate
    run.add("drain sqlite: ratio to limit", ratio * 100, "%", ">= 50 %", ratio >= 0.5)


def drain_postgres(run: Run, limit_rate: float) -> None:
    events = N // FANOUT
    print(f"drain/postgres: {events} events x {FANOUT} webhooks, 1 API + 2 workers", flush=True)
    with pg_database("drain") as database:
        dsn = _pg(database)
        env = procs.webhookd_env(dsn)
        api = procs.Webhookd("drain-pg-api", env, run.logs, "--no-worker")
        try:
            api.webhooks("drain", [f"{run.receiver.url}/d{i}" for i in range(FANOUT)])
            procs.loadgen(run.logs, "events", api.base, procs.INGEST_KEY, "drain", "--count",
                          str(events), "--concurrency", "16")  # fmt: skip
            run.receiver.reset()
            workers = two_workers("drain-pg", env, run.logs)
            for worker in workers:
                worker.profile()
            try:
                rate, raw = _drained(
                    run, lambda: asyncio.run(_pg_fetchval(dsn, PENDING)),
                    lambda: asyncio.run(_pg_fetchval(dsn, FIRST_ATTEMPT)), events * FANOUT,
                )  # fmt: skip
            finally:
                for worker in workers:
                    worker.stop()
        finally:
            api.proc.stop()
    run.raw["drain_postgres"] = raw
    run.add("drain postgres: deliveries/s (2 workers)", rate, "/s")
    ratio = rate / limit_rate
    run.add("drain postgres: ratio to limit", ratio * 100, "%", ">= 60 %", ratio >= 0.6)


def two_workers(name: str, env: dict[str, str], logs: Path,
                concurrency: int | None = CONCURRENCY // 2) -> list[procs.Proc]:  # fmt: skip
    """Two `webhookd worker` processes sharing the concurrency of the others' one (None:
    each with its default)."""
    flag = [] if concurrency is None else ["--concurrency", str(concurrency)]
    args = procs.python("webhookd.cli", "worker", *flag)
    return [procs.Proc(f"{name}-worker{i}", args, env, logs) for i in range(2)]


@dataclass(frozen=True)
class Load:
    """An offered load for the latency section: `rate` events/s to `tenant`, whose
    `fanout` webhooks each receive every event."""

    label: str
    tenant: str
    rate: float
    fanout: int


def loads(limit_rate: float) -> list[Load]:
    """A quarter of the limit in deliveries/s, fanned out to FANOUT webhooks (the target
    row), then RATE events/s to one webhook (the row earlier runs reported)."""
    share = LOAD_SHARE * float(os.environ.get("BENCH_LIMIT") or limit_rate)  # pinned: A/B runs
    quarter = Load(f"{share / FANOUT:.0f} events/s x {FANOUT} = {LOAD_SHARE:.0%} of the limit",
                   "lat", share / FANOUT, FANOUT)  # fmt: skip
    return [quarter, Load(f"{RATE} events/s x 1", "lat1", RATE, 1)]


def _warm_up(run: Run, engine: str, base: str, load: Load) -> None:
    """WARMUP seconds at the same rate first, not counted: fresh processes open pool
    connections and prepare statements on first use. Its worst is reported apart."""
    run.receiver.reset()
    warm = procs.loadgen(run.logs, "events", base, procs.INGEST_KEY, load.tenant, "--rate",
                         str(load.rate), "--seconds", str(WARMUP), "--stamp")  # fmt: skip
    stats = run.receiver.wait_for(warm["count"] * load.fanout, timeout=30)
    worst = max(stats["latencies"], default=float("nan"))
    run.raw[f"warmup_{engine}"] = {"publish": warm, "worst": worst}
    run.add(f"latency {engine}: cold start, worst of the first {WARMUP} s", worst, "ms")


def _latency(run: Run, engine: str, base: str, load: Load, first: bool) -> dict[str, Any]:
    """Publish -> arrival at `load` for LATENCY_SECONDS; the first load's row carries
    the targets (p99 <= 25 ms, POST /events p99 <= 10 ms)."""
    if WARMUP and first:
        _warm_up(run, engine, base, load)
    run.receiver.reset()
    published = procs.loadgen(run.logs, "events", base, procs.INGEST_KEY, load.tenant,
                              "--rate", str(load.rate), "--seconds", str(LATENCY_SECONDS),
                              "--stamp")  # fmt: skip
    expected = published["count"] * load.fanout
    stats = run.receiver.wait_for(expected, timeout=60)
    lat = stats["latencies"]
    per_second = max(1, round(load.rate * load.fanout))
    worst = [round(max(lat[i : i + per_second]), 1) for i in range(0, len(lat), per_second)]
    result: dict[str, Any] = {"load": asdict(load), "publish": published, "arrived": len(lat),
              "expected": expected, "p50": percentile(lat, 50), "p95": percentile(lat, 95),
              "p99": percentile(lat, 99), "worst_each_second": worst}  # fmt: skip
    run.raw.setdefault(f"latency_{engine}", []).append(result)
    name = f"latency {engine}, {load.label}"
    run.add(f"{name}: publish -> arrival p50", result["p50"], "ms")
    ok = result["arrived"] == expected
    if first:
        run.add(f"{name}: publish -> arrival p99", result["p99"], "ms", "<= 25 ms",
                result["p99"] <= 25 and ok)  # fmt: skip
        run.add(f"{name}: POST /events p99", published["p99"], "ms", "<= 10 ms",
                published["p99"] <= 10)  # fmt: skip
    else:
        run.add(f"{name}: publish -> arrival p99", result["p99"], "ms")
        run.add(f"{name}: POST /events p99", published["p99"], "ms")
    return result


def latencies(run: Run, engine: str, base: str, limit_rate: float) -> None:
    print(f"latency/{engine}: POST /events for {LATENCY_SECONDS} s at each load", flush=True)
    for i, load in enumerate(loads(limit_rate)):
        _latency(run, engine, base, load, first=i == 0)


def _latency_webhooks(run: Run, server: procs.Webhookd) -> None:
    server.webhooks("lat", [f"{run.receiver.url}/lat{i}" for i in range(FANOUT)])
    server.webhooks("lat1", [f"{run.receiver.url}/lat"])


def latency_and_api_sqlite(run: Run, limit_rate: float) -> None:
    server = procs.Webhookd("latency-sqlite", run.sqlite_env("latency"), run.logs)
    server.proc.profile()
    try:
        _latency_webhooks(run, server)
        server.webhooks("drain", [f"{run.receiver.url}/x{i}" for i in range(FANOUT)])
        if "latency" in SECTIONS:
            latencies(run, "sqlite", server.base, limit_rate)
        if "api" in SECTIONS:
            api(run, server)
    finally:
        server.proc.stop()


def api(run: Run, server: procs.Webhookd) -> None:
    print(f"api: closed loop, {API_SECONDS} s each", flush=True)
    flood = procs.loadgen(run.logs, "events", server.base, procs.INGEST_KEY, "nobody",
                          "--seconds", str(API_SECONDS), "--concurrency", "32")  # fmt: skip
    run.raw["api_events_max"] = flood
    run.add("api: POST /events max rate (sqlite, no fan-out)", flood["rate"], "/s")
    # Issue 12: a batch carries at least as many events a second as the limit, the rate
    # at which a bare client can send deliveries on this machine now.
    ceiling = limit(run, "batch", "limit: signed POSTs/s (bare aiohttp), beside the batch")
    batch = procs.loadgen(run.logs, "events", server.base, procs.INGEST_KEY, "nobody",
                          "--seconds", str(API_SECONDS), "--concurrency", "8",
                          "--batch", "100")  # fmt: skip
    run.raw["api_batch"] = batch
    run.add("api: POST /events/batch events/s (sqlite, no fan-out, 100 a request)",
            batch["rate"], "/s", ">= 1x limit",
            batch["rate"] >= ceiling and not batch["errors"])  # fmt: skip
    listing = procs.loadgen(run.logs, "get", server.base + "/dashboard/webhooks", "--seconds",
                            str(API_SECONDS), "--token", procs.token("drain"))  # fmt: skip
    bare = _reference_route(run, "starlette", "bench.starlette_app")
    floor = _reference_route(run, "fastapi", "bench.fastapi_app")
    run.raw["api_list"] = {"webhookd": listing, "starlette": bare, "fastapi": floor}
    run.add("api: GET /dashboard/webhooks req/s (10 webhooks)", listing["rate"], "/s")
    run.add("api: bare Starlette route req/s (same stack)", bare["rate"], "/s")
    run.add("api: bare FastAPI route req/s (a Bearer dependency; the framework's floor)",
            floor["rate"], "/s")  # fmt: skip
    reference = bare["rate"]
    run.add("api: POST /events max rate / bare Starlette route", 100 * flood["rate"] / reference,
            "%", ">= 25 %", flood["rate"] >= 0.25 * reference)  # fmt: skip
    run.add("api: GET /dashboard/webhooks / bare Starlette route",
            100 * listing["rate"] / reference, "%", ">= 50 %",
            listing["rate"] >= 0.5 * reference)  # fmt: skip
    run.add("api: bare FastAPI route / bare Starlette route (the floor)",
            100 * floor["rate"] / reference, "%")  # fmt: skip


def _reference_route(run: Run, name: str, module: str) -> dict[str, Any]:
    """A reference app's `GET /dashboard/webhooks` under the same closed loop."""
    port = free_port()
    proc = procs.Proc(name, procs.python(module, str(port)), dict(os.environ), run.logs)
    try:
        procs.wait_ready(f"http://127.0.0.1:{port}/dashboard/webhooks", proc)
        url = f"http://127.0.0.1:{port}/dashboard/webhooks"
        return procs.loadgen(run.logs, "get", url, "--seconds", str(API_SECONDS),
                             "--token", procs.token("drain"))  # fmt: skip
    finally:
        proc.stop()


def latency_postgres(run: Run, limit_rate: float) -> None:
    with pg_database("latency") as database:
        env = procs.webhookd_env(_pg(database))
        server = procs.Webhookd("latency-pg-api", env, run.logs, "--no-worker")
        workers = two_workers("latency-pg", env, run.logs)
        try:
            _latency_webhooks(run, server)
            latencies(run, "postgres (1 API + 2 workers)", server.base, limit_rate)
        finally:
            for worker in workers:
                worker.stop()
            server.proc.stop()


# mixed -------------------------------------------------------------------------------------
FIRST_PUBLISH = "SELECT min(created_at) AS first_ms FROM events WHERE tenant_id = 'mixed'"


def _mixed(run: Run, engine: str, server: procs.Webhookd, first_publish_ms: Callable[[], int],
           limit_rate: float) -> None:  # fmt: skip
    """MIXED_EVENTS x FANOUT through POST /events, 32 in flight, while the worker(s)
    deliver: deliveries/s from the first publish's commit to the last arrival."""
    server.webhooks("mixed", [f"{run.receiver.url}/m{i}" for i in range(FANOUT)])
    run.receiver.reset()
    published = procs.loadgen(run.logs, "events", server.base, procs.INGEST_KEY, "mixed",
                              "--count", str(MIXED_EVENTS), "--concurrency", "32")  # fmt: skip
    expected = MIXED_EVENTS * FANOUT
    at_publish_end = run.receiver.stats()["count"]
    stats = run.receiver.wait_for(expected, timeout=600)
    began = first_publish_ms() / 1000
    rate = stats["count"] / (stats["last"] - began)
    run.raw[f"mixed_{engine}"] = {"publish": published, "arrived": stats["count"],
                                  "arrived_by_last_publish": at_publish_end,
                                  "seconds": stats["last"] - began}  # fmt: skip
    run.add(f"mixed {engine}: POST /events rate while delivering", published["rate"], "/s")
    run.add(f"mixed {engine}: delivered by the last publish's answer",
            100 * at_publish_end / expected, "%")  # fmt: skip
    run.add(f"mixed {engine}: deliveries/s, first publish -> last arrival", rate, "/s")
    ratio = rate / limit_rate
    ok = stats["count"] == expected
    run.add(f"mixed {engine}: ratio to limit", ratio * 100, "%", ">= 50 %", ratio >= 0.5 and ok)


def mixed(run: Run, limit_rate: float) -> None:
    print(f"mixed/sqlite: {MIXED_EVENTS} events x {FANOUT} webhooks published (32 in flight) "
          "while `webhookd serve` delivers", flush=True)  # fmt: skip
    db = run.logs / "mixed.db"
    server = procs.Webhookd("mixed-sqlite", run.sqlite_env("mixed"), run.logs)
    server.proc.profile()
    try:
        _mixed(run, "sqlite", server, lambda: _sqlite_row(db, FIRST_PUBLISH)["first_ms"],
               limit_rate)  # fmt: skip
    finally:
        server.proc.stop()
    print("mixed/postgres: the same, 1 API + 2 workers", flush=True)
    with pg_database("mixed") as database:
        dsn = _pg(database)
        env = procs.webhookd_env(dsn)
        server = procs.Webhookd("mixed-pg-api", env, run.logs, "--no-worker")
        workers = two_workers("mixed-pg", env, run.logs)
        for proc in [server.proc, *workers]:
            proc.profile()
        try:
            first = lambda: int(asyncio.run(_pg_fetchval(dsn, FIRST_PUBLISH)))  # noqa: E731
            _mixed(run, "postgres", server, first, limit_rate)
        finally:
            for proc in [*workers, server.proc]:
                proc.stop()


@contextlib.contextmanager
def idle_worker(run: Run) -> Iterator[Callable[[], None]]:
    """An idle `webhookd worker` on its own database, behind a counting proxy; the
    returned function records the figure (call it after IDLE_SECONDS)."""
    with pg_database("idle") as database:
        proxy = CountingProxy(free_port(), int(PG.rsplit(":", 1)[-1]))
        proxy.start()
        url = f"postgresql://postgres@127.0.0.1:{proxy.listen_port}/{database}"
        worker = procs.Proc("idle-worker", procs.python("webhookd.cli", "worker"),
                            procs.webhookd_env(url), run.logs)  # fmt: skip
        stat = ("SELECT xact_commit + xact_rollback FROM pg_stat_database"
                f" WHERE datname = '{database}'")  # fmt: skip
        try:
            time.sleep(3)  # start-up: migrations, the first purge
            count0, xact0, t0 = proxy.count, asyncio.run(_pg_fetchval(_pg("postgres"), stat)), \
                time.monotonic()  # fmt: skip

            def record() -> None:
                left = IDLE_SECONDS - (time.monotonic() - t0)
                if left > 0:
                    time.sleep(left)
                seconds = time.monotonic() - t0
                queries = (proxy.count - count0) / seconds
                time.sleep(1)  # pg_stat counters are flushed about once a second
                xacts = (asyncio.run(_pg_fetchval(_pg("postgres"), stat)) - xact0) / seconds
                run.raw["idle"] = {"seconds": seconds, "queries_per_s": queries,
                                   "transactions_per_s": xacts}  # fmt: skip
                run.add("idle: worker queries/s to PostgreSQL (counting proxy)", queries, "/s",
                        "<= 1 /s", queries <= 1)  # fmt: skip
                run.add("idle: worker transactions/s (pg_stat_database)", xacts, "/s")

            yield record
        finally:
            worker.stop()
            proxy.stop()


def soak(run: Run) -> None:
    events = SOAK // SOAK_FANOUT
    print(f"soak: {events} events x {SOAK_FANOUT} webhooks at {SOAK_RATE} events/s, "
          "RSS every 10 s", flush=True)  # fmt: skip
    server = procs.Webhookd("soak", run.sqlite_env("soak"), run.logs)
    samples: list[tuple[float, float, int]] = []
    try:
        server.webhooks("soak", [f"{run.receiver.url}/s{i}" for i in range(SOAK_FANOUT)])
        run.receiver.reset()
        started = time.monotonic()
        load = procs.Proc("soak-load", procs.python(
            "bench.loadgen", "events", server.base, procs.INGEST_KEY, "soak", "--rate",
            str(SOAK_RATE), "--count", str(events)), dict(os.environ), run.logs)  # fmt: skip
        samples.append((0.0, server.proc.rss_mib(), 0))
        while True:
            time.sleep(10)
            count = run.receiver.stats()["count"]
            samples.append((time.monotonic() - started, server.proc.rss_mib(), count))
            print(f"  {samples[-1][0]:5.0f} s  RSS {samples[-1][1]:.1f} MiB  {count} delivered",
                  flush=True)  # fmt: skip
            if count >= SOAK or time.monotonic() - started > 900:
                break
        load.stop()
    finally:
        server.proc.stop()
    warm = [rss for _, rss, _ in samples[2:]] or [samples[-1][1]]  # after 20 s of warm-up
    growth = (max(warm) - min(warm)) / min(warm)
    run.raw["soak"] = {"samples": samples, "delivered": samples[-1][2]}
    run.add("soak: deliveries", samples[-1][2], "", f">= {SOAK}", samples[-1][2] >= SOAK)
    run.add("soak: RSS after warm-up, max", max(warm), "MiB")
    run.add("soak: RSS spread after warm-up", growth * 100, "%", "<= 10 %", growth <= 0.10)


# isolation -------------------------------------------------------------------------------
QUEUE_STATE = """SELECT
  (SELECT count(*) FROM deliveries WHERE tenant_id = 'tenant-a' AND status = 'pending')
      AS a_pending,
  (SELECT count(*) FROM deliveries WHERE tenant_id = 'tenant-a' AND status = 'pending'
      AND attempts > 0) AS a_retrying,
  (SELECT count(*) FROM webhooks WHERE circuit_until IS NOT NULL) AS circuits_open,
  (SELECT count(*) FROM deliveries WHERE tenant_id = 'tenant-b' AND status <> 'delivered')
      AS b_undelivered,
  (SELECT count(*) FROM deliveries WHERE tenant_id = 'tenant-b' AND status <> 'delivered'
      AND locked_until IS NOT NULL) AS b_leased"""


def _attempt_kind(line: bytes) -> str:
    if b"timed out" in line:
        return "timed out"
    if b"could not connect" in line:
        return "refused"
    status = re.search(rb"http_status=(\S+)", line)
    return f"http {status[1].decode()}" if status else "other"


def _attempts(offsets: dict[Path, int]) -> dict[str, int]:
    """The attempt log lines (one per attempt, at info) written since each file's offset,
    by what happened."""
    kinds: Counter[str] = Counter()
    for log, offset in offsets.items():
        with log.open("rb") as lines:
            lines.seek(offset)
            kinds.update(_attempt_kind(line) for line in lines if b" outcome=" in line)
    return dict(kinds)


def _publish(run: Run, base: str, tenants: list[str], seconds: int) -> list[dict[str, Any]]:
    """Each tenant's POST /events at ISOLATION_RATE for `seconds`, all at once, from a
    load generator each; tenant B's events carry `t0`."""
    args = ("events", base, procs.INGEST_KEY)
    rate = ("--rate", str(ISOLATION_RATE), "--seconds", str(seconds))
    with ThreadPoolExecutor(len(tenants)) as pool:
        runs = [pool.submit(procs.loadgen, run.logs, *args, tenant, *rate,
                            *(["--stamp"] if tenant == "tenant-b" else []))
                for tenant in tenants]  # fmt: skip
        return [done.result() for done in runs]


@dataclass
class Layout:
    """The webhookd processes of an isolation run, and what can be read of its database."""

    server: procs.Webhookd
    processes: list[procs.Proc]
    queue: Callable[[], dict[str, int]]  # A's backlog and the open circuits
    transactions: Callable[[], int] | None = None  # PostgreSQL: commits + rollbacks so far


def _tenant_b(run: Run, layout: Layout, tenants: list[str], seconds: int) -> dict[str, Any]:
    """B's publish -> arrival latencies while `tenants` publish; B's must all arrive
    within ISOLATION_GRACE seconds of the last publish."""
    run.receiver.reset()
    offsets = {proc.log: proc.log.stat().st_size for proc in layout.processes}
    cpu = [proc.cpu_seconds() for proc in layout.processes]
    xacts = layout.transactions() if layout.transactions else 0
    began = time.monotonic()
    published = dict(zip(tenants, _publish(run, layout.server.base, tenants, seconds), strict=True))
    expected = published["tenant-b"]["count"] * HEALTHY
    stats = run.receiver.wait_for(expected, timeout=ISOLATION_GRACE)
    wall = time.monotonic() - began
    lat = stats["latencies"]
    per_second = ISOLATION_RATE * HEALTHY
    result = {
        "publish": published, "expected": expected, "arrived": stats["count"],
        "p50": percentile(lat, 50), "p95": percentile(lat, 95), "p99": percentile(lat, 99),
        "max": max(lat, default=float("nan")), "over_50ms": sum(v > 50 for v in lat),
        "worst_each_second": [round(max(lat[i : i + per_second]), 1)
                              for i in range(0, len(lat), per_second)],
        "cpu_percent": {proc.name: round(100 * (proc.cpu_seconds() - before) / wall, 1)
                        for proc, before in zip(layout.processes, cpu, strict=True)},
        "attempts": _attempts(offsets),
    }  # fmt: skip
    if layout.transactions:
        time.sleep(1)  # pg_stat counters are flushed about once a second
        result["transactions_per_s"] = (layout.transactions() - xacts) / wall
    return result


@contextlib.contextmanager
def _isolation_layout(run: Run, engine: str) -> Iterator[Layout]:
    """SQLite: one `webhookd serve`; PostgreSQL: `serve --no-worker` and two `webhookd
    worker`. Default delivery settings; 245 webhooks need a higher per-tenant cap (the
    Dashboard's rate limit is off in every bench run). With BENCH_PROFILE, py-spy
    samples every webhookd process."""
    extra = {"WEBHOOKD_MAX_WEBHOOKS_PER_TENANT": "1000"}
    if engine == "sqlite":
        db = run.logs / "isolation.db"
        server = procs.Webhookd("isolation-sqlite", procs.webhookd_env(f"sqlite:///{db}", **extra),
                                run.logs)  # fmt: skip
        server.proc.profile()
        try:
            yield Layout(server, [server.proc], lambda: _sqlite_row(db, QUEUE_STATE))
        finally:
            server.proc.stop()
        return
    with pg_database("isolation") as database:
        dsn = _pg(database)
        env = procs.webhookd_env(dsn, **extra)
        server = procs.Webhookd("isolation-pg-api", env, run.logs, "--no-worker")
        workers = two_workers("isolation-pg", env, run.logs, concurrency=None)
        stat = ("SELECT xact_commit + xact_rollback FROM pg_stat_database"
                f" WHERE datname = '{database}'")  # fmt: skip
        for proc in [server.proc, *workers]:
            proc.profile()
        try:
            yield Layout(server, [server.proc, *workers],
                         lambda: asyncio.run(_pg_fetchrow(dsn, QUEUE_STATE)),
                         lambda: int(asyncio.run(_pg_fetchval(_pg("postgres"), stat))))  # fmt: skip
        finally:
            for proc in [*workers, server.proc]:
                proc.stop()


def _sqlite_row(db: Path, sql: str) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(db, timeout=10)) as conn:
        conn.row_factory = sqlite3.Row
        return dict(conn.execute(sql).fetchone())


async def _pg_fetchrow(dsn: str, sql: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(sql)
        return {} if row is None else dict(row)
    finally:
        await conn.close()


def isolation(run: Run, engine: str) -> None:
    """Tenant B (5 healthy endpoints) alone, then beside tenant A (HANGING endpoints that
    never answer, BROKEN on a closed port, BROKEN answering 500), both publishing."""
    print(f"isolation/{engine}: tenant B alone, then beside tenant A's {HANGING} hanging, "
          f"{BROKEN} refused and {BROKEN} failing endpoints; {ISOLATION_RATE} events/s "
          f"each for {ISOLATION_SECONDS} s", flush=True)  # fmt: skip
    endpoints = procs.Endpoints(run.logs, f"endpoints-{engine}")
    closed = free_port()  # nothing listens there
    a_urls = [f"{endpoints.url}/hang/{n}" for n in range(HANGING)]
    a_urls += [f"http://127.0.0.1:{closed}/gone/{n}" for n in range(BROKEN)]
    a_urls += [f"{endpoints.url}/fail/{n}" for n in range(BROKEN)]
    try:
        with _isolation_layout(run, engine) as layout:
            layout.server.webhooks("tenant-b", [f"{run.receiver.url}/b{n}" for n in range(HEALTHY)])
            warm = _tenant_b(run, layout, ["tenant-b"], WARMUP) if WARMUP else {}
            alone = _tenant_b(run, layout, ["tenant-b"], ISOLATION_SECONDS)
            layout.server.webhooks("tenant-a", a_urls)
            beside = _tenant_b(run, layout, ["tenant-a", "tenant-b"], ISOLATION_SECONDS)
            beside["endpoints"] = endpoints.stats()
            beside["queue"] = layout.queue()
            endpoints.proc.stop()  # the held requests fail at once: no 15 s wait to stop
    finally:
        endpoints.proc.stop()
    run.raw[f"isolation_{engine}"] = {"warmup": warm, "alone": alone, "beside_a": beside}
    _isolation_figures(run, engine, alone, beside)


def _isolation_figures(run: Run, engine: str, alone: dict[str, Any],
                       beside: dict[str, Any]) -> None:  # fmt: skip
    name = f"isolation {engine}: B"
    run.add(f"{name} alone, publish -> arrival p99 (reference)", alone["p99"], "ms")
    run.add(f"{name} alone, POST /events p99", alone["publish"]["tenant-b"]["p99"], "ms")
    run.add(f"{name} beside A, publish -> arrival p50", beside["p50"], "ms")
    ok = beside["arrived"] == beside["expected"]
    run.add(f"{name} beside A, publish -> arrival p99", beside["p99"], "ms", "<= 50 ms",
            beside["p99"] <= 50 and ok)  # fmt: skip
    run.add(f"{name} beside A, POST /events p99", beside["publish"]["tenant-b"]["p99"], "ms")
    run.add(f"{name} beside A, arrived of {beside['expected']} in time", beside["arrived"], "",
            f"= {beside['expected']}", ok)  # fmt: skip
    run.add(f"isolation {engine}: webhookd CPU beside A (% of a core, all processes)",
            sum(beside["cpu_percent"].values()), "%")  # fmt: skip
    if "transactions_per_s" in beside:
        run.add(f"isolation {engine}: PostgreSQL transactions/s beside A",
                beside["transactions_per_s"], "/s")  # fmt: skip
    print(f"  B beside A: worst each second {beside['worst_each_second']}; A's POST /events "
          f"p99 {beside['publish']['tenant-a']['p99']:.1f} ms; attempts {beside['attempts']}; "
          f"endpoints {beside['endpoints']}; queue {beside['queue']}; "
          f"CPU % {beside['cpu_percent']}", flush=True)  # fmt: skip


# rtt ---------------------------------------------------------------------------------------
def rtt_limit(run: Run, slow: procs.Receiver, before: str) -> float:
    """The bare client's best rate against the slow endpoints, over RTT_IN_FLIGHT."""
    results = {}
    for concurrency in RTT_IN_FLIGHT:
        slow.reset()
        results[concurrency] = procs.loadgen(
            run.logs, "limit", *[f"{url}/limit" for url in slow.urls],
            "--count", str(concurrency * RTT_ROUNDS), "--concurrency", str(concurrency),
        )  # fmt: skip
        run.add(f"rtt: bare aiohttp signed POSTs/s, {concurrency} in flight, before {before}",
                results[concurrency]["rate"], "/s")  # fmt: skip
    run.raw[f"rtt_limit_{before}"] = results
    return max(float(result["rate"]) for result in results.values())


def _rtt_fill(run: Run, env: dict[str, str], name: str, slow: procs.Receiver) -> procs.Webhookd:
    """RTT_EVENTS events x RTT_FANOUT webhooks queued by `serve --no-worker` (returned)."""
    api = procs.Webhookd(name, env, run.logs, "--no-worker")
    api.webhooks("rtt", [f"{slow.urls[n % len(slow.urls)]}/r{n}" for n in range(RTT_FANOUT)])
    procs.loadgen(run.logs, "events", api.base, procs.INGEST_KEY, "rtt", "--count",
                  str(RTT_EVENTS), "--concurrency", "16")  # fmt: skip
    slow.reset()
    return api


def _arrivals(receiver: procs.Receiver, expected: int, timeout: float = 600,
              waiting: list[int] | None = None) -> list[int]:  # fmt: skip
    """The receiver's count every 0.1 s, from the first arrival until `expected` (and
    into `waiting`, the requests it held at each reading)."""
    tick = time.monotonic()
    deadline = tick + timeout
    counts: list[int] = []
    while tick < deadline:
        stats = receiver.stats()
        count = stats["count"]
        if count or counts:
            counts.append(count)
            if waiting is not None:
                waiting.append(stats["waiting"])
        if count >= expected:
            break
        tick += 0.1
        time.sleep(max(0.0, tick - time.monotonic()))
    return counts


def _rtt_drained(run: Run, slow: procs.Receiver, processes: list[procs.Proc],
                 pending: Callable[[], int], first: Callable[[], int],
                 ) -> tuple[float, dict[str, Any]]:  # fmt: skip
    cpu = [proc.cpu_seconds() for proc in processes]
    began = time.monotonic()
    waiting: list[int] = []
    counts = _arrivals(slow, RTT_EVENTS * RTT_FANOUT, waiting=waiting)
    rate, raw = _drained(run, pending, first, RTT_EVENTS * RTT_FANOUT, slow)
    wall = time.monotonic() - began
    raw["arrived_each_half_second"] = [b - a for a, b in pairwise(counts[::5])]
    raw["cpu_percent"] = {proc.name: round(100 * (proc.cpu_seconds() - before) / wall, 1)
                          for proc, before in zip(processes, cpu, strict=True)}  # fmt: skip
    raw["most_in_flight"] = slow.stats()["most_waiting"]
    raw["mean_in_flight"] = sum(waiting[:-1]) / max(1, len(waiting) - 1)  # the last: drained
    return rate, raw


def _rtt_figures(run: Run, engine: str, rate: float, raw: dict[str, Any], best: float) -> None:
    run.raw[f"rtt_{engine}"] = {**raw, "client_best": best}
    run.add(f"rtt {engine}: deliveries/s (default settings)", rate, "/s")
    run.add(f"rtt {engine}: ratio to the client's best", rate / best * 100, "%", ">= 50 %",
            rate / best >= 0.5)  # fmt: skip
    run.add(f"rtt {engine}: most requests in flight at the endpoints", raw["most_in_flight"], "")
    run.add(f"rtt {engine}: mean requests in flight at the endpoints", raw["mean_in_flight"], "")
    print(f"  CPU % {raw['cpu_percent']}; arrived each 0.5 s "
          f"{raw['arrived_each_half_second']}", flush=True)  # fmt: skip


def rtt(run: Run) -> None:
    """RTT_FANOUT endpoints (one port each) answering after RTT_MS: the bare client's
    best, then a drain by webhookd with its default settings, on each engine."""
    total = RTT_EVENTS * RTT_FANOUT
    print(f"rtt: {RTT_FANOUT} endpoints answering after {RTT_MS} ms; the bare client at "
          f"{'/'.join(map(str, RTT_IN_FLIGHT))} in flight, then a drain of {total} "
          "deliveries, default settings", flush=True)  # fmt: skip
    slow = procs.Receiver(run.logs, "rtt-receiver", ports=RTT_FANOUT, delay_ms=RTT_MS)
    try:
        if "sqlite" in ENGINES:
            rtt_sqlite(run, slow, rtt_limit(run, slow, "sqlite"))
        if "postgres" in ENGINES:
            rtt_postgres(run, slow, rtt_limit(run, slow, "postgres"))
    finally:
        slow.proc.stop()


def rtt_sqlite(run: Run, slow: procs.Receiver, best: float) -> None:
    for leftover in ("rtt.db", "rtt.db-wal", "rtt.db-shm"):  # of a BENCH_KEEP_LOGS run
        (run.logs / leftover).unlink(missing_ok=True)
    env = procs.webhookd_env(f"sqlite:///{run.logs / 'rtt.db'}")
    _rtt_fill(run, env, "rtt-sqlite-fill", slow).proc.stop()
    server = procs.Webhookd("rtt-sqlite", env, run.logs)
    server.proc.profile()
    try:
        rate, raw = _rtt_drained(run, slow, [server.proc], *_sqlite_probes(run.logs / "rtt.db"))
    finally:
        server.proc.stop()
    _rtt_figures(run, "sqlite", rate, raw, best)


def rtt_postgres(run: Run, slow: procs.Receiver, best: float) -> None:
    with pg_database("rtt") as database:
        dsn = _pg(database)
        env = procs.webhookd_env(dsn)
        api = _rtt_fill(run, env, "rtt-pg-api", slow)
        try:
            workers = two_workers("rtt-pg", env, run.logs, concurrency=None)
            for worker in workers:
                worker.profile()
            try:
                rate, raw = _rtt_drained(
                    run, slow, workers, lambda: asyncio.run(_pg_fetchval(dsn, PENDING)),
                    lambda: asyncio.run(_pg_fetchval(dsn, FIRST_ATTEMPT)),
                )  # fmt: skip
            finally:
                for worker in workers:
                    worker.stop()
        finally:
            api.proc.stop()
    _rtt_figures(run, "postgres", rate, raw, best)


# outbox ------------------------------------------------------------------------------------
def outbox(run: Run) -> None:
    """The producer outbox's relay (docs/outbox.md) next to POST /events, into one
    `webhookd serve` on SQLite (one webhook, so each event is also delivered): the
    events/s from commit in the application's database to the outbox being empty."""
    print(f"outbox: {OUTBOX_EVENTS} events by POST /events (16 in flight), then as many "
          "committed in one transaction of the application's PostgreSQL", flush=True)  # fmt: skip
    with pg_database("outbox_app") as name:
        source = _pg(name)
        subprocess.run(procs.python("webhookd.cli", "outbox", "install", "--database", source),
                       check=True, capture_output=True, cwd=procs.REPO)  # fmt: skip
        env = run.sqlite_env("outbox", WEBHOOKD_OUTBOX_SOURCE=source)
        server = procs.Webhookd("outbox-sqlite", env, run.logs)
        try:
            server.webhooks("outbox", [f"{run.receiver.url}/outbox"])
            posted = procs.loadgen(run.logs, "events", server.base, procs.INGEST_KEY,
                                   "outbox", "--count", str(OUTBOX_EVENTS),
                                   "--concurrency", "16")  # fmt: skip
            relayed = asyncio.run(_relay_rate(source, OUTBOX_EVENTS))
        finally:
            server.proc.stop()
    run.raw["outbox"] = {"post_events": posted, "relay": relayed}
    run.add("outbox: POST /events events/s (16 in flight, fan-out 1)", posted["rate"], "/s")
    run.add("outbox: relay events/s, commit to outbox empty (500 a round)", relayed["rate"], "/s")
    run.add("outbox: relay / POST /events", 100 * relayed["rate"] / posted["rate"], "%")


async def _relay_rate(source: str, count: int) -> dict[str, float]:
    conn = await asyncpg.connect(source)
    try:
        await conn.execute(
            "SELECT webhookd_outbox.publish('outbox', 'verification.completed',"
            " jsonb_build_object('recordId', 'rec_' || g, 'n', g)) FROM generate_series(1, $1) g",
            count,
        )  # autocommit: the relay is woken at this commit
        began = time.monotonic()
        while True:  # the relay runs in another process: only reading tells when it is done
            if not await conn.fetchval("SELECT count(*) FROM webhookd_outbox.events"):
                break
            await asyncio.sleep(0.02)
        seconds = time.monotonic() - began
    finally:
        await conn.close()
    return {"seconds": seconds, "rate": count / seconds}


# fifo --------------------------------------------------------------------------------------
def fifo(run: Run) -> None:
    """One endpoint with ordering "fifo", answering after FIFO_MS: its deliveries/s next
    to 1 / its round trip (a bare client with one request in flight). The gap between one
    delivery's answer and the next one's send is what webhookd adds: a settle, a claim."""
    print(f"fifo: {FIFO_EVENTS} deliveries to one ordered endpoint answering after "
          f"{FIFO_MS} ms", flush=True)  # fmt: skip
    slow = procs.Receiver(run.logs, "fifo-receiver", delay_ms=FIFO_MS)
    try:
        bare = procs.loadgen(run.logs, "limit", slow.url + "/limit", "--count", "300",
                             "--concurrency", "1")  # fmt: skip
        run.add("fifo: bare aiohttp, 1 in flight (1 / the round trip)", bare["rate"], "/s")
        for engine in ENGINES:
            rate = _fifo_drain(run, engine, slow)
            run.raw[f"fifo_{engine}"] = {"rate": rate, "bare": bare}
            run.add(f"fifo {engine}: deliveries/s to one ordered endpoint", rate, "/s")
            run.add(f"fifo {engine}: / 1 in flight bare", 100 * rate / bare["rate"], "%")
    finally:
        slow.proc.stop()


def _fifo_fill(api: procs.Webhookd, slow: procs.Receiver) -> None:
    auth = {"Authorization": f"Bearer {procs.token('fifo')}"}
    procs.http("POST", api.base + "/dashboard/webhooks",
               {"url": slow.url + "/fifo", "ordering": "fifo"}, auth)  # fmt: skip
    procs.loadgen(api.proc.log.parent, "events", api.base, procs.INGEST_KEY, "fifo",
                  "--count", str(FIFO_EVENTS), "--concurrency", "8")  # fmt: skip
    slow.reset()


def _fifo_drain(run: Run, engine: str, slow: procs.Receiver) -> float:
    """Deliveries/s from the first arrival to the last, the queue filled beforehand."""
    if engine == "sqlite":
        env = procs.webhookd_env(f"sqlite:///{run.logs / 'fifo.db'}")
        api = procs.Webhookd("fifo-fill", env, run.logs, "--no-worker")
        _fifo_fill(api, slow)
        api.proc.stop()
        server = procs.Webhookd("fifo-sqlite", env, run.logs)
        try:
            stats = slow.wait_for(FIFO_EVENTS, 600)
        finally:
            server.proc.stop()
    else:
        with pg_database("fifo") as database:
            env = procs.webhookd_env(_pg(database))
            api = procs.Webhookd("fifo-pg-api", env, run.logs, "--no-worker")
            try:
                _fifo_fill(api, slow)
                workers = two_workers("fifo-pg", env, run.logs, concurrency=None)
                try:
                    stats = slow.wait_for(FIFO_EVENTS, 600)
                finally:
                    for worker in workers:
                        worker.stop()
            finally:
                api.proc.stop()
    if stats["count"] < FIFO_EVENTS:
        raise RuntimeError(f"fifo {engine}: {stats['count']} of {FIFO_EVENTS} arrived")
    return float((stats["count"] - 1) / (stats["last"] - stats["first"]))


# backlog -----------------------------------------------------------------------------------
def backlog_claims(run: Run) -> None:
    """Claim time with BACKLOG due deliveries on one webhook the claim must skip (paused,
    or at its cap), against the same claims with no backlog (bench/backlog.py)."""
    print(f"backlog: {BACKLOG_CLAIMS} claims each, no backlog, then {BACKLOG:,} due "
          "deliveries on one paused / saturated webhook, in-process", flush=True)  # fmt: skip
    results = {"sqlite": uvloop.run(backlog.measure(
        backlog.SQLite(run.logs / "backlog.db"), BACKLOG, BACKLOG_CLAIMS))}  # fmt: skip
    with pg_database("backlog") as database:
        results["postgres"] = uvloop.run(backlog.measure(
            backlog.Postgres(_pg(database)), BACKLOG, BACKLOG_CLAIMS))  # fmt: skip
    run.raw["backlog"] = results
    for engine, result in results.items():
        for mode in backlog.MODES:
            empty = result[mode]["empty"]["median_ms"] * 1000
            full = result[mode]["backlog"]["median_ms"] * 1000
            run.add(f"backlog {engine}: claim median, no backlog ({mode} webhook)", empty, "µs")
            run.add(f"backlog {engine}: claim median, {BACKLOG:,} on a {mode} webhook", full,
                    "µs")  # fmt: skip
            run.add(f"backlog {engine}: {mode}, backlog / no backlog", full / empty * 100, "%",
                    "<= 200 %", full / empty <= 2)  # fmt: skip
        plan = result["paused"]["plan"].replace("\n", "\n    ")
        print(f"  {engine}: the `due` statement's plan, paused backlog:\n    {plan}", flush=True)


def front_under_attack(run: Run) -> None:
    """/healthz while FRONT_SLOW slow clients and FRONT_BOMBERS header bombers run."""
    print(f"front: /healthz for {FRONT_SECONDS} s alone, then beside {FRONT_SLOW} slow "
          f"clients and {FRONT_BOMBERS} header bombers", flush=True)  # fmt: skip
    server = procs.Webhookd("front", run.sqlite_env("front"), run.logs)
    try:
        result = uvloop.run(front.measure("127.0.0.1", server.port, FRONT_SECONDS,
                                          FRONT_SLOW, FRONT_BOMBERS))  # fmt: skip
        rss = server.proc.rss_mib()
    finally:
        server.proc.stop()
    run.raw["front"] = {**result, "rss_mib": rss}
    quiet, loaded = result["quiet"], result["loaded"]
    run.add("front: /healthz p99, no load", quiet["p99"], "ms")
    run.add(f"front: /healthz p99 beside {FRONT_SLOW} slow clients + {FRONT_BOMBERS} bombers",
            loaded["p99"], "ms")  # fmt: skip
    run.add("front: /healthz p50 under attack", loaded["p50"], "ms")
    run.add("front: serve RSS under attack", rss, "MiB")


# the report ----------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    postgres = ""
    with contextlib.suppress(Exception):
        postgres = asyncio.run(_pg_fetchval(_pg("postgres"), "SHOW server_version"))
    return {"cores": os.cpu_count(), "cpu": model or platform.processor(),
            "python": platform.python_version(), "system": platform.platform(),
            "postgres": postgres}  # fmt: skip


def _load(values: Any) -> str:
    return "/".join(f"{v:.2f}" for v in values) if values else "?"


def table(figures: list[Figure], host: dict[str, Any]) -> str:
    load = host.get("load_average", {})
    lines = [f"machine: {host['cores']} cores, {host['cpu']}, Python {host['python']}, "
             f"PostgreSQL {host['postgres']}",
             f"load average (1/5/15 min) before: {_load(load.get('before'))}, "
             f"after: {_load(load.get('after'))}", ""]  # fmt: skip
    width = max(len(f.figure) for f in figures)
    lines.append(f"{'figure':<{width}}  {'value':>12}  {'target':<9}  result")
    lines.append("-" * (width + 34))
    for f in figures:
        value = f"{f.value:,.1f} {f.unit}".strip()
        verdict = "" if f.passed is None else ("PASS" if f.passed else "FAIL")
        lines.append(f"{f.figure:<{width}}  {value:>12}  {f.target:<9}  {verdict}")
    return "\n".join(lines)


ALL_SECTIONS = (
    "limit,drain,latency,api,mixed,idle,soak,isolation,rtt,backlog,front,outbox,publishcost,fifo"
)
SECTIONS = set(os.environ.get("BENCH_SECTIONS", ALL_SECTIONS).replace(" ", "").split(","))
ENGINES = [e for e in ("sqlite", "postgres")
           if e in os.environ.get("BENCH_ENGINES", "sqlite,postgres")]  # fmt: skip


def measure(run: Run) -> None:
    """Every section asked for. The limit is measured next to each drain (the machine is
    shared, its load varies); the idle worker's 30 s overlap the SQLite latency run (it
    has a database of its own and sends nothing)."""
    limit_rate = 0.0
    if "drain" in SECTIONS:
        drain_sqlite(run, limit(run, "sqlite"))
        drain_postgres(run, limit_rate := limit(run, "postgres"))
    elif SECTIONS & {"limit", "latency"}:
        limit_rate = limit(run, "nothing")
    idle = idle_worker(run) if "idle" in SECTIONS else contextlib.nullcontext()
    with idle as record:
        if SECTIONS & {"latency", "api"}:
            latency_and_api_sqlite(run, limit_rate)
        if record is not None:
            record()
    if "latency" in SECTIONS:
        latency_postgres(run, limit_rate)
    if "mixed" in SECTIONS:
        mixed(run, limit(run, "mixed"))
    if "soak" in SECTIONS:
        soak(run)
    if "outbox" in SECTIONS:
        outbox(run)
    if "publishcost" in SECTIONS:
        publish_cost(run)
    unhappy_paths(run)


def publish_cost(run: Run) -> None:
    """What payload filters and event schemas cost a publish (bench/publishcost.py)."""

    @contextlib.contextmanager
    def fresh() -> Iterator[str]:
        with pg_database("publishcost") as database:
            yield _pg(database)

    publishcost.run(run.add, run.logs, fresh if "postgres" in ENGINES else None)


def settle_disk() -> None:
    """Write back what earlier sections left dirty in the page cache: their databases'
    gigabytes would otherwise be flushed during the next section, behind its fsyncs
    (a publish on SQLite waits for one), and charge it for work it did not do."""
    os.sync()


def unhappy_paths(run: Run) -> None:
    """The sections of a bad day: broken endpoints, slow ones, a backlog, an attack."""
    if "isolation" in SECTIONS:
        for engine in ENGINES:
            settle_disk()
            isolation(run, engine)
    if "rtt" in SECTIONS:
        rtt(run)
    if "backlog" in SECTIONS:
        backlog_claims(run)
    if "fifo" in SECTIONS:
        fifo(run)
    if "front" in SECTIONS:
        front_under_attack(run)


def main() -> None:
    began = time.monotonic()
    host = machine()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="webhookd-bench-") as tmp:
        run = Run(Path(tmp))
        try:
            measure(run)
        finally:
            for proc in procs.Proc.started:
                proc.stop()
            if os.environ.get("BENCH_KEEP_LOGS"):
                import shutil

                shutil.copytree(tmp, ROOT / "results" / "logs", dirs_exist_ok=True)
    elapsed = time.monotonic() - began
    host["load_average"] = {"before": load_before, "after": os.getloadavg()}
    report = table(run.figures, host)
    print("\n" + report + f"\n\n{elapsed:.0f} s in all")
    stamp = datetime.now(UTC)
    partial = "" if set(ALL_SECTIONS.split(",")) <= SECTIONS else "-partial"
    out = ROOT / "results" / f"{stamp:%Y-%m-%d}{partial}.json"  # a part never hides a whole
    out.parent.mkdir(exist_ok=True)
    document = {"date": stamp.isoformat(timespec="seconds"), "machine": host,
                "seconds": round(elapsed), "settings": {
                    "deliveries": N, "concurrency": CONCURRENCY, "rate": RATE,
                    "latency_seconds": LATENCY_SECONDS, "warmup_seconds": WARMUP,
                    "mixed_events": MIXED_EVENTS, "load_share": LOAD_SHARE,
                    "idle_seconds": IDLE_SECONDS,
                    "soak": SOAK, "soak_rate": SOAK_RATE, "isolation_seconds": ISOLATION_SECONDS,
                    "isolation_rate": ISOLATION_RATE, "isolation_hanging": HANGING,
                    "isolation_broken": BROKEN, "rtt_ms": RTT_MS, "rtt_events": RTT_EVENTS,
                    "rtt_rounds": RTT_ROUNDS, "backlog": BACKLOG,
                    "backlog_claims": BACKLOG_CLAIMS, "outbox_events": OUTBOX_EVENTS,
                    "fifo_events": FIFO_EVENTS, "fifo_ms": FIFO_MS,
                    "sections": sorted(SECTIONS)},
                "figures": [asdict(f) for f in run.figures], "raw": run.raw}  # fmt: skip
    out.write_text(json.dumps(document, indent=1) + "\n")
    print(f"written to {out.relative_to(ROOT.parent)}")
    if os.environ.get("BENCH_STRICT") and any(f.passed is False for f in run.figures):
        sys.exit(1)  # a benchmark reports; only when asked does a missed target fail it


if __name__ == "__main__":
    main()
