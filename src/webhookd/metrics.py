"""Prometheus metrics: what a process has done, and the queue as the database sees it.

Each process keeps its own registry (so tests and embedded uses never share counters).
Counters come from where things happen: the worker counts attempts and their outcome,
the API counts requests by route template. Gauges of the queue are read from the
database when /metrics is scraped, so any API node reports the whole queue, however
many workers feed it.
"""

import math

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from webhookd.store.base import QueueStats

prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created noise
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_ATTEMPT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
HEALTH_STATUSES = ("healthy", "failing", "paused")  # as a webhook's `health.status` says


class Metrics:
    """`queue=False` for a worker process: it cannot read the queue at scrape time, and
    gauges stuck at 0 would look like an empty queue."""

    def __init__(self, *, queue: bool = True) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.deliveries = Counter(
            "webhookd_deliveries",
            "Delivery attempts by what they led to: delivered, "
            "retry (another attempt is scheduled) or failed (no more attempts).",
            ["outcome"],
            registry=r,
        )
        self.attempt_seconds = Histogram(
            "webhookd_attempt_duration_seconds",
            "Time from connect to the receiver's answer.",
            buckets=_ATTEMPT_BUCKETS,
            registry=r,
        )
        self.retries = Counter(
            "webhookd_retries_scheduled", "Failed attempts that scheduled another.", registry=r
        )
        self.requests = Counter(
            "webhookd_http_requests",
            "API requests by route template, method and status.",
            ["route", "method", "status"],
            registry=r,
        )
        self.queue: dict[str, Gauge] = {}
        self.health: Gauge | None = None
        if queue:
            self.queue = {
                "pending": Gauge(
                    "webhookd_queue_pending",
                    "Deliveries waiting: due now or scheduled for a retry.",
                    registry=r,
                ),
                "due": Gauge(
                    "webhookd_queue_due",
                    "Deliveries due now and not in flight (the backlog).",
                    registry=r,
                ),
                "oldest_due": Gauge(
                    "webhookd_queue_oldest_due_seconds",
                    "How long the oldest due delivery has waited; 0 when nothing is due.",
                    registry=r,
                ),
                "auto_disabled": Gauge(
                    "webhookd_webhooks_auto_disabled",
                    "Webhooks webhookd disabled (failing too long, or the receiver answered 410).",
                    registry=r,
                ),
            }
            self.health = Gauge(
                "webhookd_webhooks_health",
                "Enabled webhooks by health (paused: circuit open).",
                ["status"],
                registry=r,
            )

        self.outbox: OutboxMetrics | None = None

    def with_outbox(self) -> "OutboxMetrics":
        """The relay's metrics (outbox/relay.py), registered the first time it asks."""
        if self.outbox is None:
            self.outbox = OutboxMetrics(self.registry)
        return self.outbox

    def attempt(self, outcome: str, duration_ms: int) -> None:
        """One attempt ended: `outcome` is delivered, retry or failed."""
        self.deliveries.labels(outcome).inc()
        self.attempt_seconds.observe(duration_ms / 1000)
        if outcome == "retry":
            self.retries.inc()

    def request(self, route: str, method: str, status: int) -> None:
        self.requests.labels(route, method, str(status)).inc()

    def render(self, queue: QueueStats | None = None) -> bytes:
        """The text exposition. Queue gauges show `queue`, or NaN when it could not be
        read (the database is down): a stale value would look healthy."""
        if self.queue:
            values = {
                "pending": math.nan,
                "due": math.nan,
                "oldest_due": math.nan,
                "auto_disabled": math.nan,
            }
            if queue is not None:
                values = {
                    "pending": queue.pending,
                    "due": queue.due,
                    "oldest_due": queue.oldest_due_ms / 1000,
                    "auto_disabled": queue.auto_disabled,
                }
            for name, value in values.items():
                self.queue[name].set(value)
        if self.health is not None:
            for status in HEALTH_STATUSES:
                count = math.nan if queue is None else queue.health.get(status, 0)
                self.health.labels(status).set(count)
        return generate_latest(self.registry)


class OutboxMetrics:
    """A producer outbox relay's progress, in the registry of the process running it."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.relayed = Counter(
            "webhookd_outbox_relayed",
            "Outbox rows published into webhookd (idempotent repeats included).",
            registry=registry,
        )
        self.dead = Counter(
            "webhookd_outbox_dead",
            "Outbox rows that could never be published, moved to webhookd_outbox.dead.",
            registry=registry,
        )
        self.backlog = Gauge(
            "webhookd_outbox_backlog",
            "Rows waiting in the application's outbox, as last read by the relay.",
            registry=registry,
        )
        self.lag = Gauge(
            "webhookd_outbox_lag_seconds",
            "Age of the oldest row waiting in the outbox; 0 when it is empty.",
            registry=registry,
        )
