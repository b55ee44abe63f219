"""One tenant's broken endpoints never hold up another tenant's deliveries (both engines).

Tenant A has 200 endpoints that accept the request and never answer, 20 whose port is
closed and 20 that answer 500; tenant B has 5 healthy ones. The attempt deadline is
longer than the test, so without isolation B's deliveries could only go once A's hung
attempts gave up. Then A's endpoints come back, and every one of A's deliveries arrives.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests import local_http as httpx
from tests import postgres
from tests.conftest import INGEST_KEY, JWT_SECRET, SECRET_KEY, make_token, wait_until
from tests.e2e.conftest import Served, cli_env
from tests.endpoints import Endpoints
from webhookd.testing import free_port

HANGING, REFUSED, FAILING, HEALTHY = 200, 20, 20, 5
EVENTS = 8  # per tenant
INGEST = {"X-Api-Key": INGEST_KEY}


def isolation_env(tmp_path: Path, engine: str, request: pytest.FixtureRequest) -> dict[str, str]:
    extra = {
        "WEBHOOKD_JWT_SECRET": JWT_SECRET,
        "WEBHOOKD_SECRET_KEY": SECRET_KEY,
        "WEBHOOKD_INGEST_KEY": INGEST_KEY,
        "WEBHOOKD_DELIVERY_TIMEOUT": "240",  # a hung attempt outlasts the test
        "WEBHOOKD_RETRY_SCHEDULE": ",".join(["0.3"] * 300),
        "WEBHOOKD_CIRCUIT_COOLDOWN": "0.3",
        "WEBHOOKD_CIRCUIT_MAX_COOLDOWN": "1",
        "WEBHOOKD_POLL_INTERVAL": "0.2",
        "WEBHOOKD_MAX_WEBHOOKS_PER_TENANT": "1000",
        "WEBHOOKD_DASHBOARD_RATE_LIMIT": "0",
        "WEBHOOKD_EVENTS_RATE_LIMIT": "0",
    }
    if engine == "postgres":
        schema = request.getfixturevalue("pg_schema")
        extra |= {"WEBHOOKD_DATABASE_URL": postgres.URL, "WEBHOOKD_DATABASE_SCHEMA": schema}
    return cli_env(tmp_path, **extra)


pg_schema = postgres.pg_schema


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_a_tenants_broken_endpoints_do_not_hold_up_another_tenant(
    engine: str, tmp_path: Path, serve: Callable[..., Served], request: pytest.FixtureRequest
) -> None:
    served = serve(isolation_env(tmp_path, engine, request))
    refused_port = free_port()
    with Endpoints() as endpoints, httpx.Client(base_url=served.base, timeout=30) as http:

        def create(tenant: str, url: str) -> str:
            answer = http.post(
                "/dashboard/webhooks",
                json={"url": url},
                headers={"Authorization": f"Bearer {make_token(tenant)}"},
            )
            assert answer.status_code == 201, answer.text
            webhook_id: str = answer.json()["data"]["id"]
            return webhook_id

        a_hooks = [create("tenant-a", endpoints.url("hang", n)) for n in range(HANGING)]
        a_hooks += [
            create("tenant-a", endpoints.url("gone", n, refused_port)) for n in range(REFUSED)
        ]
        a_hooks += [create("tenant-a", endpoints.url("fail", n)) for n in range(FAILING)]
        for n in range(HEALTHY):
            create("tenant-b", endpoints.url("ok", n))

        def publish(tenant: str, n: int) -> None:
            body = {"tenantId": tenant, "event": "verification.completed", "data": {"n": n}}
            answer = http.post("/events", json=body, headers=INGEST)
            assert answer.status_code == 202, answer.text

        for n in range(EVENTS):
            publish("tenant-a", n)
            publish("tenant-b", n)

        # Every one of B's deliveries arrives while A's endpoints still hang.
        wait_until(lambda: len(endpoints.delivered("/ok/")) == EVENTS * HEALTHY, timeout=90)
        assert endpoints.held() > 0, "A's hung attempts had ended: the test proved nothing"
        # A hanging endpoint holds one delivery at a time, however many it has queued.
        assert max(endpoints.most_hanging.values()) == 1

        # A's endpoints come back: held requests are answered, 500s become 200s, and
        # the closed port opens.
        endpoints.listen_also(refused_port)
        endpoints.heal()
        a_total = EVENTS * (HANGING + REFUSED + FAILING)
        wait_until(
            lambda: len(endpoints.delivered("/hang/") | endpoints.delivered("/gone/")
                        | endpoints.delivered("/fail/")) == a_total,
            timeout=120,
        )  # fmt: skip
        # Nothing lost, nothing sent twice: each delivery was answered 200 exactly once.
        assert set(endpoints.answered_ok().values()) == {1}

        def circuits_closed() -> bool:
            token = make_token("tenant-a")
            listed: list[dict[str, Any]] = http.get(
                "/dashboard/webhooks", headers={"Authorization": f"Bearer {token}"}
            ).json()["data"]
            return all(w["health"]["status"] == "healthy" for w in listed) and len(listed) == len(
                a_hooks
            )

        wait_until(circuits_closed, timeout=30)
