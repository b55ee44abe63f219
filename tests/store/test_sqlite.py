"""The embedded engine's own promises: the worker's bookkeeping runs on the event loop
without ever making it wait for another process, and without letting the WAL grow; list
parameters reach the statements as JSON text."""

import asyncio
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import WAIT, eventually
from tests.store.test_contract import DAY, T0, claim, event, settled, webhook
from webhookd.domain.models import DeliveryStatus
from webhookd.store import sqlite as sqlite_engine
from webhookd.store.sqlite import SQLiteStore


async def opened(path: Path) -> SQLiteStore:
    store = SQLiteStore(path)
    await store.open()
    await store.create_webhook(webhook())
    return store


async def test_a_claim_waits_for_another_process_holding_the_lock(tmp_path: Path) -> None:
    store = await opened(tmp_path / "w.db")
    try:
        await store.publish(event(), None, DAY)
        # The loop's own connection never waits for a lock: it sees BUSY at once.
        queue_conn = store._queue_conn
        assert queue_conn is not None
        assert queue_conn.execute("PRAGMA busy_timeout").fetchone()[0] == 0
        other = sqlite3.connect(tmp_path / "w.db", isolation_level=None)  # e.g. `webhookd emit`
        other.execute("BEGIN IMMEDIATE")
        claiming = asyncio.create_task(claim(store, T0, 10))
        # The claim finds the lock taken and waits for it on the database thread, holding
        # this process's write lock. This coroutine, on the same loop, sees it waiting
        # there: the loop kept running meanwhile. (Had the claim waited on the loop, the
        # lock could never be released, below, and the claim would fail.)
        await eventually(lambda: store._writing.locked() or claiming.done())
        assert not claiming.done()  # nor did it give up: it waits for the lock, off the loop
        other.commit()
        jobs = await asyncio.wait_for(claiming, WAIT)
        assert len(jobs) == 1
        other.close()
    finally:
        await store.close()


async def test_bookkeeping_commits_checkpoint_the_wal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_engine, "CHECKPOINT_EVERY", 10)
    store = await opened(tmp_path / "w.db")
    try:
        for i in range(300):
            await store.publish(event(at=T0 + i), None, DAY)
        sizes = []
        for _ in range(100):
            [job] = await claim(store, T0 + 1000, 1)
            await store.settle([settled(job, DeliveryStatus.DELIVERED, T0 + 1000)], 10**9)
            await asyncio.sleep(0)  # let a checkpoint the thread finished be seen
            sizes.append((tmp_path / "w.db-wal").stat().st_size)
    finally:
        await store.close()
    # 200 commits of a few pages each. A checkpoint between two writes lets the next
    # one start the WAL over, so it stops growing; one racing the writes never does.
    assert sizes[-1] == sizes[50], sizes[::10]


def test_list_parameters_are_bound_as_json_text_and_others_as_they_are() -> None:
    plain = {"id": "dlv_1", "at": 3, "body": b"{}", "reason": None}
    assert sqlite_engine.bind(plain) is plain  # nothing to encode: not even copied
    bound = sqlite_engine.bind({"ids": ["a", "b"], "pair": ("t", 1), "none": [], "n": 2})
    assert bound == {"ids": '["a","b"]', "pair": '["t",1]', "none": "[]", "n": 2}


async def test_stats_walk_only_the_window_of_the_webhooks_log_index(tmp_path: Path) -> None:
    """GET …/stats has no index of its own on SQLite (each one keyed by webhook costs
    every fan-out a page per webhook): it walks deliveries_by_webhook_status from the
    window's first id, one status after another, never the webhook's whole history."""
    store = await opened(tmp_path / "w.db")
    await store.close()
    conn = sqlite3.connect(tmp_path / "w.db")
    params = {"webhook": "wh_x", "start": 0, "end": 1, "size": 1, "first": "dlv_0"}
    for name in ("stats_counts", "stats_latency"):
        plan = " | ".join(
            row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sqlite_engine.SQL[name]}", params)
        )
        assert (
            "USING INDEX deliveries_by_webhook_status (webhook_id=? AND status=? AND id>?)" in plan
        ), (name, plan)
    by_webhook = [
        row[1]
        for row in conn.execute("PRAGMA index_list(deliveries)")
        if conn.execute(f"PRAGMA index_info({row[1]})").fetchone()[2] == "webhook_id"
    ]
    conn.close()
    # A new delivery enters two of these: the claim's (due_first) and the log's; the
    # others are partial, for retries and failures.
    assert sorted(by_webhook) == [
        "deliveries_by_webhook_status",
        "deliveries_due_first_by_webhook",
        "deliveries_due_retry_by_webhook",
        "deliveries_failed",
    ]


async def test_a_fan_out_is_one_statement_on_the_database_thread(tmp_path: Path) -> None:
    """sqlite3 gives the GIL back at every row a statement steps through, and the database
    thread then waits for a busy event loop at each one (1.7 s for 240 rows measured,
    docs/performance.md): a publish writes its deliveries in one statement, however many
    webhooks there are (executemany runs, and traces, one per row)."""
    store = await opened(tmp_path / "w.db")  # one webhook
    try:
        for _ in range(49):
            await store.create_webhook(webhook())
        ran: list[str] = []
        conn = store._conn
        assert conn is not None
        conn.set_trace_callback(ran.append)
        published = await store.publish(event(), None, DAY)
        conn.set_trace_callback(None)
    finally:
        await store.close()
    assert published.deliveries == 50
    inserts = [sql for sql in ran if sql.lstrip().startswith("INSERT INTO deliveries")]
    assert len(inserts) == 1, ran
