"""The producer outbox end to end: `webhookd outbox install`, two `webhookd relay`
processes killed and restarted under load, a worker, a real receiver, PostgreSQL."""

import collections
import json
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

from tests import postgres
from tests.conftest import Receiver, wait_until
from tests.e2e.conftest import Served, webhookd
from tests.e2e.test_postgres import _seed, pg_env
from tests.outbox.conftest import app_db

pg_schema = postgres.pg_schema
app_db = app_db  # the fixture, for this module
Spawn = Callable[..., Served]


def test_install_is_idempotent_and_status_reports_the_backlog(tmp_path: Path, app_db: str) -> None:
    env = pg_env(tmp_path, "unused")
    first = webhookd("outbox", "install", "--database", app_db, env=env, cwd=tmp_path)
    again = webhookd("outbox", "install", "--database", app_db, env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "001_outbox" in first.stdout
    assert "nothing to do, it is up to date" in again.stdout
    with psycopg.connect(app_db, autocommit=True) as conn:
        for n in range(3):
            conn.execute("SELECT webhookd_outbox.publish('acme', 'record.verified', %s)",
                         [json.dumps({"n": n})])  # fmt: skip
    status = webhookd("relay", "--status", "--source", app_db, env=env, cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert "backlog  3 rows waiting" in status.stdout
    assert "dead     0 rows" in status.stdout


def test_relay_status_of_a_database_without_the_outbox_says_what_to_run(
    tmp_path: Path, app_db: str
) -> None:
    status = webhookd("relay", "--status", "--source", app_db, env=pg_env(tmp_path, "x"),
                      cwd=tmp_path)  # fmt: skip
    assert status.returncode == 1
    assert "webhookd outbox install --database" in status.stderr


def test_relays_killed_and_restarted_lose_nothing_and_store_nothing_twice(
    tmp_path: Path, app_db: str, pg_schema: str, spawn: Spawn
) -> None:
    events, kills = 2000, 5
    env = pg_env(tmp_path, pg_schema, WEBHOOKD_OUTBOX_BATCH="50")
    assert (
        webhookd("outbox", "install", "--database", app_db, env=env, cwd=tmp_path).returncode == 0
    )
    rng = random.Random(11)
    with Receiver() as receiver:
        import asyncio

        asyncio.run(_seed(pg_schema, receiver.url, 0))  # migrates, and one webhook for "acme"
        spawn("worker", env=env)
        relays = [spawn("relay", "--source", app_db, env=env) for _ in range(2)]
        with psycopg.connect(app_db) as conn:
            for start in range(0, events, 100):  # 20 application transactions of 100
                for n in range(start, start + 100):
                    conn.execute(
                        "SELECT webhookd_outbox.publish('acme', 'verification.completed', %s)",
                        [json.dumps({"n": n})],
                    )
                conn.commit()
                if start and start % 300 == 0 and kills:
                    victim = relays.pop(rng.randrange(len(relays)))
                    victim.process.send_signal(signal.SIGKILL)
                    victim.process.wait()
                    kills -= 1
                    relays.append(spawn("relay", "--source", app_db, env=env))
                time.sleep(rng.uniform(0, 0.05))
        assert kills == 0
        wait_until(lambda: len(_numbers(receiver)) == events, timeout=120, every=0.2)
    stored = postgres.value(f'SELECT count(*) FROM "{pg_schema}".events')
    counts = collections.Counter(json.loads(r.body)["data"]["n"] for r in receiver.whole())
    assert stored == events  # no row became two events
    assert set(counts) == set(range(events))
    with psycopg.connect(app_db) as conn:
        left = conn.execute("SELECT count(*) FROM webhookd_outbox.events").fetchone()
    assert left == (0,)


def _numbers(receiver: Receiver) -> set[int]:
    return {json.loads(r.body)["data"]["n"] for r in receiver.whole()}
