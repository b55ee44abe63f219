"""The metrics registry: what a scrape shows when the queue can and cannot be read."""

import math

from prometheus_client.parser import text_string_to_metric_families

from webhookd.metrics import Metrics
from webhookd.store.base import QueueStats


def values(text: bytes) -> dict[str, float]:
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text.decode())
        for sample in family.samples
        if not sample.labels
    }


def test_queue_gauges_show_the_queue_then_nan_when_the_database_is_away() -> None:
    metrics = Metrics()
    shown = values(
        metrics.render(QueueStats(pending=7, due=3, oldest_due_ms=2500, auto_disabled=1))
    )
    assert shown["webhookd_queue_pending"] == 7
    assert shown["webhookd_queue_oldest_due_seconds"] == 2.5
    away = values(metrics.render(None))
    assert math.isnan(away["webhookd_queue_pending"])  # not a stale, healthy-looking 7
    assert math.isnan(away["webhookd_webhooks_auto_disabled"])


def test_a_workers_registry_has_no_queue_gauges() -> None:
    text = Metrics(queue=False).render(None).decode()
    assert "webhookd_queue_" not in text
    assert "# HELP webhookd_deliveries" in text


def test_the_health_gauge_counts_webhooks_by_status_then_nan_when_the_database_is_away() -> None:
    metrics = Metrics()

    def health(text: bytes) -> dict[str, float]:
        return {
            sample.labels["status"]: sample.value
            for family in text_string_to_metric_families(text.decode())
            for sample in family.samples
            if sample.name == "webhookd_webhooks_health"
        }

    stats = QueueStats(0, 0, 0, 0, health={"healthy": 4, "failing": 2, "paused": 1})
    assert health(metrics.render(stats)) == {"healthy": 4, "failing": 2, "paused": 1}
    assert health(metrics.render(QueueStats(0, 0, 0, 0))) == {
        "healthy": 0, "failing": 0, "paused": 0,
    }  # fmt: skip
    away = health(metrics.render(None))
    assert set(away) == {"healthy", "failing", "paused"}
    assert all(math.isnan(value) for value in away.values())
    assert "webhookd_webhooks_health" not in Metrics(queue=False).render(None).decode()
