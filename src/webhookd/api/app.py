"""`create_app(settings)`: the one place where webhookd is wired together."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.telemetry import TelemetryConfig

from webhookd import __version__, store
from webhookd.api import (
    auth,
    deliveries,
    events,
    examples,
    gate,
    limits,
    ops,
    responses,
    stats,
    webhooks,
)
from webhookd.config import Settings
from webhookd.delivery.sender import Sender
from webhookd.delivery.worker import Limits, Worker
from webhookd.domain import clock, network, operator, ratelimit
from webhookd.domain.models import Webhook
from webhookd.metrics import Metrics
from webhookd.outbound import Tokens, Transport
from webhookd.outbox.relay import Relay
from webhookd.service import Service
from webhookd.store.engine import Store
from webhookd.web import routes as page_routes

# FastAPI's OpenTelemetry layer asks for the global providers on every request; webhookd
# exports Prometheus metrics and structured logs instead, so it is switched off.
NO_TELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
}


def create_app(
    settings: Settings, *, run_worker: bool = True, now: clock.Clock = clock.system_clock
) -> FastAPI:
    """The ASGI app; its lifespan opens the store and, if asked, runs a delivery worker."""
    authenticator = auth.Authenticator(settings)
    settings.sealer  # noqa: B018 - refuse to start without a key, before anything is served

    measured = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with runtime(settings, now, measured) as (db, sender, worker):
            # one OAuth2 token cache per process: the worker's and the test sends
            app.state.service = service_of(settings, db, sender, now, tokens=worker.tokens)
            relay = relay_of(settings, app.state.service, measured) if run_worker else None
            tasks = [asyncio.create_task(worker.run())] if run_worker else []
            if relay is not None:
                tasks.append(asyncio.create_task(relay.run()))
            try:
                yield
            finally:
                worker.stop()
                if relay is not None:
                    relay.stop()
                await asyncio.gather(*tasks)

    app = FastAPI(
        dependencies=[Depends(limits.known_query_only)],
        title="webhookd",
        version=__version__,
        summary="Webhook management and signed, durable delivery.",
        lifespan=lifespan,
        redirect_slashes=False,
        telemetry=NO_TELEMETRY,
    )
    app.state.metrics = measured
    app.state.exact_numbers = settings.numbers == "exact"
    responses.install(app)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = examples.install(
                responses.document_errors(
                    get_openapi(
                        title=app.title,
                        version=app.version,
                        summary=app.summary,
                        routes=app.routes,
                    )
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.include_router(webhooks.router)
    app.include_router(deliveries.router)
    app.include_router(stats.router)
    app.include_router(events.router)
    app.include_router(ops.router)
    app.router.routes.extend(page_routes())  # the dashboard page at /ui (not in OpenAPI)
    ingest_key = settings.ingest_key
    app.add_middleware(
        gate.Gate,
        metrics=measured,
        tenants=auth.TenantCheck(
            authenticator, ratelimit.Limit.parse(settings.dashboard_rate_limit)
        ),
        ingest=auth.IngestCheck(
            None if ingest_key is None else ingest_key.get_secret_value(),
            ratelimit.Limit.parse(settings.events_rate_limit),
        ),
        bodies=limits.BodyCaps(settings.max_event_bytes, settings.max_batch_bytes),
    )
    return app


@contextlib.asynccontextmanager
async def runtime(
    settings: Settings, now: clock.Clock = clock.system_clock, metrics: Metrics | None = None
) -> AsyncIterator[tuple[Store, Sender, Worker]]:
    """The opened store, the started sender, and a worker over them (not yet running)."""
    db = store.from_settings(settings)
    sender = Sender(settings.delivery_timeout, settings.network_policy, proxy=settings.proxy)
    # The operator's URL is trusted configuration: it may be on a private network (the
    # metadata and link-local ranges stay closed), whatever customers' URLs may be; it is
    # reached directly, not through the egress proxy meant for customers' endpoints.
    trusted = Sender(
        settings.delivery_timeout,
        network.Policy(allow_private=True, allowed=settings.network_policy.allowed),
    )
    await db.open()
    try:
        await db.set_operator(operator_webhook(settings, now()))
        await sender.start()
        await trusted.start()
        try:
            limits = worker_limits(settings)
            worker = Worker(
                db,
                sender,
                settings.retry_policy,
                limits,
                sealer=settings.sealer,
                now=now,
                metrics=metrics,
                breaker=settings.breaker,
                tokens=Tokens(sender, now),
                operator_transport=trusted,
            )
            yield db, sender, worker
        finally:
            await trusted.close()
            await sender.close()
    finally:
        await db.close()


def service_of(
    settings: Settings,
    db: Store,
    transport: Transport,
    now: clock.Clock = clock.system_clock,
    *,
    tokens: Tokens | None = None,
) -> Service:
    return Service(
        db,
        transport,
        settings.catalog,
        now,
        sealer=settings.sealer,
        policy=settings.network_policy,
        max_webhooks=settings.max_webhooks_per_tenant,
        tokens=tokens,
    )


def relay_of(settings: Settings, service: Service, metrics: Metrics) -> Relay | None:
    """The producer outbox's relay, when WEBHOOKD_OUTBOX_SOURCE names one."""
    if settings.outbox_source is None:
        return None
    return Relay(
        settings.outbox_source,
        service.publish_relayed,
        metrics=metrics.with_outbox(),
        batch=settings.outbox_batch,
        exact_numbers=settings.numbers == "exact",
    )


def operator_webhook(settings: Settings, now_ms: int) -> Webhook | None:
    """The operator's webhook as the settings give it (WEBHOOKD_OPERATOR_*), or None."""
    if settings.operator_url is None or settings.operator_secret is None:
        return None
    return Webhook(
        id=operator.WEBHOOK_ID,
        tenant_id=operator.TENANT,
        url=settings.operator_url,
        events=settings.operator_types,
        description="webhookd's operational webhooks (WEBHOOKD_OPERATOR_URL)",
        secret=settings.sealer.seal(settings.operator_secret.get_secret_value()),
        active=True,
        created_at=now_ms,
    )


def worker_limits(settings: Settings) -> Limits:
    return Limits(
        attempt_timeout=settings.delivery_timeout,
        concurrency=settings.worker_concurrency,
        per_webhook=settings.webhook_concurrency,
        reserved_first=settings.worker_concurrency // 4,
        slow_after=settings.slow_attempt,
        poll_interval=settings.poll_interval,
        retention_ms=round(settings.retention_days * 86_400_000),
        fifo_max_delay_ms=round(settings.fifo_max_retry_delay * 1000),
        # PostgreSQL tells every worker about new work (LISTEN/NOTIFY), so an idle one
        # polls less and less (up to 10 intervals); SQLite may get work from another
        # process (`webhookd emit`) that only a poll finds.
        idle_backoff=1 if settings.sqlite_path is not None else 10,
    )
