"""What an operator sees from real processes: JSON log lines and a worker's metrics port."""

import json
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests import local_http as httpx
from tests.conftest import INGEST_KEY, JWT_SECRET, SECRET_KEY, Receiver, make_token, wait_until
from tests.e2e.conftest import cli_env
from webhookd.testing import free_port


def test_api_and_worker_log_json_and_the_worker_exports_metrics(
    tmp_path: Path, serve: Any, spawn: Any
) -> None:
    env = cli_env(
        tmp_path, WEBHOOKD_LOG_FORMAT="json", WEBHOOKD_JWT_SECRET=JWT_SECRET,
        WEBHOOKD_SECRET_KEY=SECRET_KEY, WEBHOOKD_INGEST_KEY=INGEST_KEY,
        WEBHOOKD_POLL_INTERVAL="0.1",
    )  # fmt: skip
    api = serve(env, "--no-worker")
    metrics_port = free_port()
    worker = spawn("worker", env={**env, "WEBHOOKD_METRICS_PORT": str(metrics_port)})
    with Receiver() as receiver:
        hook = httpx.post(
            f"{api.base}/dashboard/webhooks", json={"url": receiver.url},
            headers={"Authorization": f"Bearer {make_token('acme')}"},
        ).json()["data"]  # fmt: skip
        event = {"tenantId": "acme", "event": "verification.completed", "data": {}}
        httpx.post(f"{api.base}/events", json=event, headers={"X-Api-Key": INGEST_KEY})
        [request] = receiver.wait_for(1)

    def attempt_line() -> dict[str, Any] | None:
        for line in worker.output().splitlines():
            record: dict[str, Any] = json.loads(line)  # every line is JSON, not just ours
            if "delivery_id" in record:
                return record
        return None

    logged = wait_until(attempt_line)
    assert logged["delivery_id"] == request.headers["x-pacspace-delivery"]
    assert logged["webhook_id"] == hook["id"]
    assert (logged["event_type"], logged["outcome"], logged["http_status"]) == (
        "verification.completed", "delivered", 200,
    )  # fmt: skip
    assert logged["level"] == "info"
    assert logged["timestamp"].endswith("Z")
    assert isinstance(logged["duration_ms"], int)
    for line in api.output().splitlines():
        record = json.loads(line)  # uvicorn's own lines and the start-up banner included
        assert "color_message" not in record
        assert "Bearer" not in line  # no development token printed into a collector

    text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
    delivered = {
        sample.labels.get("outcome"): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "webhookd_deliveries_total"
    }
    assert delivered == {"delivered": 1}
    assert "webhookd_queue_" not in text  # a worker cannot read the queue: no stale zeros
    assert "_created" not in text
