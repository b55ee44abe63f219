"""The statistics chart in a real browser (tests/web/stats.mjs): a known history, seeded
through the store into the database a real `webhookd serve` then runs on, gives one bar
per hour (or day) that had deliveries."""

import asyncio
from pathlib import Path

import pytest

from tests.conftest import JWT_SECRET, SECRET_KEY, make_token
from tests.e2e.conftest import Serve, cli_env
from tests.web.test_dashboard_browser import ARTIFACTS, CHROMIUM, _browser_or_skip, _drive
from webhookd.domain import clock, ids, stats
from webhookd.domain.models import (
    Attempt,
    DeliveryStatus,
    Event,
    SendResult,
    Settlement,
    Webhook,
)
from webhookd.sealing import Sealer
from webhookd.store.base import ClaimRequest
from webhookd.store.sqlite import SQLiteStore

pytestmark = [pytest.mark.node, pytest.mark.browser]
HOUR = 3_600_000
SCRIPT = Path(__file__).with_name("stats.mjs")
# hours ago -> the answers of that hour's deliveries (status, duration ms)
HISTORY = {
    5: [(200, 40), (200, 55), (200, 61)],
    3: [(200, 35), (500, 120)],
    1: [(200, 30), (200, 33), (200, 48), (503, 900)],
}


async def seed(path: Path, now: int) -> None:
    store = SQLiteStore(path)
    await store.open()
    try:
        hook = Webhook(
            id=ids.new_id(ids.WEBHOOK, now - 6 * HOUR),
            tenant_id="stats",
            url="https://receiver.example/hook",
            events=("*",),
            description="Orders service",
            secret=Sealer(SECRET_KEY).seal(ids.new_secret()),
            active=True,
            created_at=now - 6 * HOUR,
        )
        await store.create_webhook(hook)
        for hours, answers in sorted(HISTORY.items(), reverse=True):
            at = now - hours * HOUR
            for _ in answers:
                body = b'{"event":"record.verified"}'
                await store.publish(
                    Event(ids.new_id(ids.EVENT, at), "stats", "record.verified", body, at),
                    None,
                    HOUR,
                )
            request = ClaimRequest(at + 500, 30_000, 100, 100, 100, {})
            jobs = sorted((await store.claim(request)).jobs, key=lambda j: j.delivery_id)
            done = []
            for job, (status, ms) in zip(jobs, answers, strict=True):
                result = SendResult(status, None, ms)
                state = DeliveryStatus.DELIVERED if result.ok else DeliveryStatus.FAILED
                done.append(Settlement(job, Attempt(job.delivery_id, at + 500, result), state))
            assert await store.settle(done, 5 * 86_400_000) == len(answers)
    finally:
        await store.close()


def test_the_chart_has_a_bar_per_bucket_with_deliveries(tmp_path: Path, serve: Serve) -> None:
    node = _browser_or_skip()
    now = clock.system_clock()
    asyncio.run(seed(tmp_path / "webhookd.db", now))
    env = cli_env(tmp_path, WEBHOOKD_JWT_SECRET=JWT_SECRET, WEBHOOKD_SECRET_KEY=SECRET_KEY)
    server = serve(env)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    result = _drive(
        node,
        {
            "WEBHOOKD_BASE": server.base,
            "WEBHOOKD_TOKEN": make_token("stats"),
            "ARTIFACTS": str(ARTIFACTS),
            "CHROMIUM": CHROMIUM,
        },
        SCRIPT,
    )
    assert result["done"], result["steps"]
    assert result["consoleErrors"] == []
    day = result["day"]
    assert (day["buckets"], day["bars"]) == (24, 3)  # three hours had deliveries
    assert day["volumes"] == [3, 2, 4]  # oldest first
    assert day["failedSegments"] == 2
    assert day["rateDots"] == 3
    assert day["label"] == "9 deliveries in 24h, 77.8 % succeeded"
    assert result["listRate"] == "77.8 %"
    assert "Success rate\t77.8 %" in result["facts"].replace("\n", "\t")
    assert "7 delivered, 2 failed" in result["facts"]
    days = {
        stats.window("7d", now).start
        + (now - h * HOUR - stats.window("7d", now).start) // 86_400_000
        for h in HISTORY
    }
    week = result["week"]
    assert (week["buckets"], week["bars"]) == (7, len(days))  # one, or two across midnight
    assert sum(week["volumes"]) == 9
    assert (ARTIFACTS / "dashboard-stats.png").stat().st_size > 0
