"""`rateLimit` holds for one endpoint, on SQLite and across three PostgreSQL workers, and
its deliveries wait for it without failing. (That a limited endpoint never holds up the
others is tests/api/test_endpoint_isolation.py, on a clock the test moves: here it could
only be timed.)"""

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests import local_http as httpx
from tests import postgres
from tests.conftest import INGEST_KEY, JWT_SECRET, SECRET_KEY, Receiver, make_token
from tests.e2e.conftest import Served, cli_env

pg_schema = postgres.pg_schema
EVENTS = 50
RATE = 5  # deliveries a second: 50 take at least 9.8 s (one every 0.2 s after the first)


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_rate_limit_spaces_one_endpoint_and_not_the_others(
    engine: str,
    tmp_path: Path,
    serve: Callable[..., Served],
    spawn: Callable[..., Served],
    request: pytest.FixtureRequest,
) -> None:
    extra = {
        "WEBHOOKD_JWT_SECRET": JWT_SECRET,
        "WEBHOOKD_SECRET_KEY": SECRET_KEY,
        "WEBHOOKD_INGEST_KEY": INGEST_KEY,
        "WEBHOOKD_EVENTS_RATE_LIMIT": "0",
    }
    args: tuple[str, ...] = ()
    if engine == "postgres":
        schema = request.getfixturevalue("pg_schema")
        extra |= {"WEBHOOKD_DATABASE_URL": postgres.URL, "WEBHOOKD_DATABASE_SCHEMA": schema}
        args = ("--no-worker",)
    env = cli_env(tmp_path, **extra)
    served = serve(env, *args)
    if engine == "postgres":
        for _ in range(3):
            spawn("worker", env=env)
    auth = {"Authorization": f"Bearer {make_token('tenant-a')}"}
    with Receiver() as limited, Receiver() as free, httpx.Client(base_url=served.base) as http:
        made = http.post(
            "/dashboard/webhooks", json={"url": limited.url, "rateLimit": RATE}, headers=auth
        )
        assert made.status_code == 201, made.text
        assert (
            http.post("/dashboard/webhooks", json={"url": free.url}, headers=auth).status_code
            == 201
        )
        started = time.time()  # before the first event: its first delivery is claimed later
        for n in range(EVENTS):
            body = {"tenantId": "tenant-a", "event": "verification.completed", "data": {"n": n}}
            assert (
                http.post("/events", json=body, headers={"X-Api-Key": INGEST_KEY}).status_code
                == 202
            )
        free.wait_for(EVENTS, timeout=60)
        limited.wait_for(EVENTS, timeout=120)
    arrivals = sorted(r.at for r in limited.requests)
    # Each delivery once: waiting for the rate is not a failed attempt.
    assert len(limited.requests) == EVENTS
    assert len({r.headers["x-pacspace-delivery"] for r in limited.requests}) == EVENTS
    # Never faster than the limit: the bucket holds one token when the first delivery is
    # claimed, after `started`, and gains one every 1/RATE s; each delivery arrives after
    # its claim. So the k-th arrival (from 0) comes no earlier than k/RATE s after
    # `started` (10 ms for the clocks' rounding), however slow the machine.
    early = [
        (k, round(at - started, 3))
        for k, at in enumerate(arrivals)
        if at < started + k / RATE - 0.01
    ]
    assert not early, early
    assert len(free.requests) == EVENTS
