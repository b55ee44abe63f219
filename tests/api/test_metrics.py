"""/metrics: what an operator graphs and alerts on, in Prometheus' text format."""

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Receiver, auth, create_webhook, publish, wait_until

Metrics = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(client: Any) -> Metrics:
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def test_attempts_are_counted_by_outcome_with_their_latency(app_factory: Any) -> None:
    client = app_factory(retry_schedule="60")
    with Receiver() as ok, Receiver(status=500) as broken:
        create_webhook(client, url=ok.url)
        create_webhook(client, url=broken.url)
        publish(client, "tenant-a", "verification.completed")
        ok.wait_for(1)
        broken.wait_for(1)
        # Attempts are counted when they end; the queue gauges read the database,
        # which sees an outcome only once its settle batch commits a moment later.

        def settled() -> Metrics | None:
            m = scrape(client)
            retried = m.get(("webhookd_deliveries_total", (("outcome", "retry"),)))
            return m if retried and m.get(("webhookd_queue_pending", ())) == 1 else None

        metrics = wait_until(settled)
    assert metrics[("webhookd_deliveries_total", (("outcome", "delivered"),))] == 1
    assert metrics[("webhookd_deliveries_total", (("outcome", "retry"),))] == 1
    assert metrics[("webhookd_retries_scheduled_total", ())] == 1
    assert metrics[("webhookd_attempt_duration_seconds_count", ())] == 2
    # The retry waits a minute: one delivery pending, not yet due.
    assert metrics[("webhookd_queue_pending", ())] == 1
    assert metrics[("webhookd_queue_due", ())] == 0
    assert metrics[("webhookd_queue_oldest_due_seconds", ())] == 0


def test_a_due_backlog_shows_its_age(app_factory: Any) -> None:
    client = app_factory(run_worker=False)
    create_webhook(client)
    publish(client, "tenant-a", "verification.completed")
    metrics = scrape(client)
    assert metrics[("webhookd_queue_due", ())] == 1
    assert metrics[("webhookd_queue_oldest_due_seconds", ())] >= 0


def test_auto_disabled_webhooks_are_a_gauge(app_factory: Any) -> None:
    client = app_factory()
    with Receiver(status=410) as gone:
        create_webhook(client, url=gone.url)
        publish(client, "tenant-a", "verification.completed")
        gone.wait_for(1)
        wait_until(lambda: scrape(client)[("webhookd_webhooks_auto_disabled", ())] == 1)


def test_requests_are_counted_by_route_template_not_raw_path(client: Any) -> None:
    hook = create_webhook(client)
    client.get(f"/dashboard/webhooks/{hook['id']}", headers=auth())
    client.get("/dashboard/webhooks/wh_missing", headers=auth())
    client.get("/dashboard/webhooks")  # no token: refused before routing
    metrics = scrape(client)

    def requests(route: str, status: str) -> float:
        labels = (("method", "GET"), ("route", route), ("status", status))
        return metrics.get(("webhookd_http_requests_total", labels), 0)

    assert requests("/dashboard/webhooks/{webhook_id}", "200") == 1
    assert requests("/dashboard/webhooks/{webhook_id}", "404") == 1
    assert requests("unrouted", "401") == 1
    assert not any(hook["id"] in str(labels) for _, labels in metrics)
