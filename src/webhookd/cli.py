"""`webhookd serve | worker | relay | outbox install | migrate | reseal | token | emit | listen`.

Settings come from `WEBHOOKD_*` variables; a flag given on the command line wins.
"""

import asyncio
import contextlib
import gc
import json
import logging
import os
import re
import shlex
import signal
import socket
import sys
from collections.abc import Iterator
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from webhookd import __version__, config, logs, store, tokens
from webhookd.domain import clock, numbers
from webhookd.errors import Invalid, Unavailable, WebhookdError
from webhookd.service import Service

app = typer.Typer(
    help="webhookd: webhook management and signed, durable delivery.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

DatabaseOpt = Annotated[
    str | None, typer.Option("--database-url", help="Overrides WEBHOOKD_DATABASE_URL.")
]
_TTL = re.compile(r"^(\d+)([smhd]?)$")


def _settings(**overrides: Any) -> config.Settings:
    try:
        return config.load(**overrides)
    except ValidationError as exc:
        typer.secho(f"webhookd: configuration error:\n{config.describe(exc)}", fg="red", err=True)
        raise typer.Exit(2) from None
    except (ValueError, WebhookdError) as exc:
        typer.secho(f"webhookd: configuration error: {exc}", fg="red", err=True)
        raise typer.Exit(2) from None


def parse_ttl(text: str) -> int:
    """`90`, `90s`, `15m`, `1h`, `7d` → seconds."""
    match = _TTL.match(text.strip())
    if not match or int(match[1]) == 0:
        raise typer.BadParameter("use a number with s, m, h or d, such as 1h")
    return int(match[1]) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match[2]]


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface to listen on [default: 127.0.0.1].")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on [default: 8000].")] = None,
    database_url: DatabaseOpt = None,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="Serve the API only; run `webhookd worker` apart.")
    ] = False,
) -> None:
    """Run the API and (unless --no-worker) an in-process delivery worker."""
    import uvicorn

    from webhookd.api import front
    from webhookd.api.app import create_app

    settings = _settings(host=host, port=port, database_url=database_url)
    _logging(settings)
    _check_port_free(settings.host, settings.port)
    try:
        application = create_app(settings, run_worker=not no_worker)
    except WebhookdError as exc:
        typer.secho(f"webhookd: {exc.message}", fg="red", err=True)
        raise typer.Exit(2) from None
    _print_banner(settings)
    # uvicorn stops gracefully on SIGTERM/SIGINT, then re-raises the signal to the handler
    # that was in place before it: make that a no-op, so a graceful stop exits 0.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    uvicorn.run(
        application,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        lifespan="on",
        server_header=False,
        log_config=None,  # logging is configured above (text or JSON), uvicorn's included
        http=front.protocol(
            front.FrontLimits(
                header_bytes=settings.max_header_bytes,
                headers=settings.max_headers,
                header_timeout=settings.header_timeout,
                body_timeout=settings.body_timeout,
                body_min_rate=settings.body_min_rate,
                connections=settings.max_connections,
            )
        ),
    )


def _check_port_free(host: str, port: int) -> None:
    """Fail before printing tokens or starting a worker when the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            typer.secho(
                f"webhookd: cannot listen on {host}:{port} ({exc.strerror}); another "
                "process has it: stop it, or set WEBHOOKD_PORT (or --port) to a free port",
                fg="red",
                err=True,
            )
            raise typer.Exit(2) from None


def _logging(settings: config.Settings) -> None:
    _tune_process()
    logs.configure(settings.log_level, settings.log_format)


def _tune_process() -> None:
    """Process-wide settings of a webhookd server process, made here and nowhere else.

    - The GIL switch interval, 5 ms -> 0.5 ms: SQLite's database thread takes the GIL
      back after every sqlite3 call, and waited up to 5 ms behind a busy event loop,
      several times per transaction (the profile's top item, and the latency tail;
      docs/performance.md).
    - No log record gathers its thread, process or calling line: no format shows them,
      and each costs every record a few microseconds (the Logging HOWTO's
      "Optimization"). `stack_info=` and `%(funcName)s` then show nothing; webhookd
      uses neither.
    - What is imported by now (the modules and the schemas they define: ~88,000
      objects) is frozen out of the garbage collector's full passes. Each full pass
      walked them all, 33-41 ms with the whole process held, and they come when a burst
      allocates the most (a tenant's 200 hanging attempts timing out): a healthy
      tenant's worst seconds beside a broken one (docs/performance.md, "Seventh
      round"). Called after the imports, before serving."""
    gc.collect()
    gc.freeze()
    sys.setswitchinterval(min(sys.getswitchinterval(), 0.0005))
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None


@app.command()
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(help="Deliveries in flight [default: WEBHOOKD_WORKER_CONCURRENCY]."),
    ] = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Run a delivery worker only (no API). Run as many as you like against PostgreSQL."""
    from webhookd.api.app import relay_of, runtime, service_of

    settings = _settings(database_url=database_url, worker_concurrency=concurrency)
    _logging(settings)

    async def run() -> None:
        async with runtime(settings) as (db, sender, delivery):
            relay = relay_of(settings, service_of(settings, db, sender), delivery.metrics)

            def stop() -> None:
                delivery.stop()
                if relay is not None:
                    relay.stop()

            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop)
            logging.getLogger("webhookd").info(
                "worker started on %s, %d in flight at most%s",
                settings.database_shown,
                settings.worker_concurrency,
                "" if relay is None else f", relaying {config.shown(relay.source)}",
            )
            with _metrics_exporter(settings, delivery.metrics.registry, "worker"):
                await asyncio.gather(delivery.run(), *([relay.run()] if relay else []))

    _run(run())


@contextlib.contextmanager
def _metrics_exporter(settings: config.Settings, registry: Any, what: str) -> Iterator[None]:
    """/metrics on WEBHOOKD_METRICS_PORT for a process without the API, when set."""
    if settings.metrics_port is None:
        yield
        return
    import prometheus_client

    port = settings.metrics_port
    exporter, _ = prometheus_client.start_http_server(port, settings.host, registry)
    logging.getLogger("webhookd").info(
        "%s metrics on http://%s:%d/metrics", what, settings.host, settings.metrics_port
    )
    try:
        yield
    finally:
        exporter.shutdown()


@app.command()
def relay(
    source: Annotated[
        str | None,
        typer.Option(
            help="The application's PostgreSQL holding the outbox [default: "
            "WEBHOOKD_OUTBOX_SOURCE]."
        ),
    ] = None,
    status: Annotated[
        bool, typer.Option("--status", help="Print the outbox's backlog, lag and dead rows; exit.")
    ] = False,
    database_url: DatabaseOpt = None,
) -> None:
    """Relay a producer outbox (docs/outbox.md) into webhookd; run several if you like."""
    from webhookd.api.app import relay_of, service_of
    from webhookd.metrics import Metrics

    settings = _settings(database_url=database_url, outbox_source=source)
    _logging(settings)
    if settings.outbox_source is None:
        typer.secho(
            "webhookd: give the outbox's database: --source postgresql://… or "
            "WEBHOOKD_OUTBOX_SOURCE",
            fg="red",
            err=True,
        )
        raise typer.Exit(2)
    if status:
        _run(_print_outbox_state(settings.outbox_source))
        return
    if settings.sqlite_path is not None:
        typer.secho(
            "webhookd: on SQLite only one process may use the database: set "
            "WEBHOOKD_OUTBOX_SOURCE and `webhookd serve` relays the outbox itself",
            fg="red",
            err=True,
        )
        raise typer.Exit(2)

    async def run() -> None:
        db = store.from_settings(settings)
        await db.open()
        try:
            measured = Metrics(queue=False)
            relay = relay_of(settings, service_of(settings, db, _NoTransport()), measured)
            assert relay is not None
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, relay.stop)
            logging.getLogger("webhookd").info(
                "relaying %s into %s", config.shown(relay.source), settings.database_shown
            )
            with _metrics_exporter(settings, measured.registry, "relay"):
                await relay.run()
        finally:
            await db.close()

    _run(run())


async def _print_outbox_state(source: str) -> None:
    import asyncpg

    from webhookd.outbox import schema

    try:
        conn = await asyncpg.connect(source, timeout=30)
    except (OSError, asyncpg.PostgresError) as exc:
        raise Unavailable(f"cannot reach {config.shown(source)}: {exc}") from None
    try:
        if not await schema.installed(conn):
            raise Invalid(
                f"no outbox in {config.shown(source)}: run `webhookd outbox install --database …`"
            )
        state = await schema.state(conn)
    finally:
        await conn.close()
    typer.echo(f"outbox {config.shown(source)}")
    typer.echo(f"  backlog  {_rows(state.backlog)} waiting")
    typer.echo(f"  lag      {state.lag_seconds:.1f} s (the oldest row's age)")
    typer.echo(f"  dead     {_rows(state.dead)} in webhookd_outbox.dead")


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


outbox_app = typer.Typer(help="The producer outbox in an application's PostgreSQL.")
app.add_typer(outbox_app, name="outbox")


@outbox_app.command("install")
def outbox_install(
    database: Annotated[
        str, typer.Option(help="The application's PostgreSQL: postgresql://USER:PASSWORD@HOST/DB")
    ],
) -> None:
    """Create or upgrade the schema webhookd_outbox (idempotent: run it on every deploy)."""
    import asyncpg

    from webhookd.outbox import schema

    applied: list[str] = []

    async def run() -> None:
        try:
            applied.extend(await schema.install(database))
        except (OSError, asyncpg.PostgresError) as exc:
            message = f"cannot install the outbox in {config.shown(database)}: {exc}"
            raise Unavailable(message) from None

    _run(run())
    done = ", ".join(applied) if applied else "nothing to do, it is up to date"
    typer.echo(f"outbox in {config.shown(database)}: {done}")
    typer.echo("publish with: SELECT webhookd_outbox.publish('tenant', 'event.type', '{}'::jsonb);")


def _print_banner(settings: config.Settings) -> None:
    base = f"http://{settings.host}:{settings.port}"
    started = f"webhookd {__version__} on {base}, database {settings.database_shown}"
    if settings.log_format == "json":
        # Output goes to a log collector: one record, and no token in it.
        logging.getLogger("webhookd").info(started)
        return
    typer.echo(started)
    if not settings.generated("jwt_secret"):
        return  # a real secret: never print a token signed with it
    token = tokens.mint(settings, "demo", 24 * 3600)
    ingest = "$WEBHOOKD_INGEST_KEY"
    if settings.generated("ingest_key") and settings.ingest_key is not None:
        ingest = settings.ingest_key.get_secret_value()
    typer.echo(f"Development secrets are kept in {settings.dev_secrets_file}.")
    typer.echo('A token for tenant "demo", valid 24 h (mint more: webhookd token --tenant NAME):')
    typer.echo(f"  export TOKEN={token}")
    typer.echo(f"The dashboard page, signed in: {base}/ui#token={token}")
    typer.echo("Try:")
    typer.echo(f'  curl -s {base}/dashboard/webhooks -H "Authorization: Bearer {token}"')
    body = json.dumps({"tenantId": "demo", "event": "verification.completed", "data": {}})
    typer.echo(
        f"  curl -s -X POST {base}/events -H 'X-Api-Key: {ingest}' "
        f"-H 'Content-Type: application/json' -d {shlex.quote(body)}"
    )
    typer.echo("A webhook that receives only the events whose data matches its filter:")
    typer.echo(f"  {filtered_webhook_example(base, token)}")
    # A webhook whose requests carry a custom header and sign in to the endpoint (a
    # Bearer token here; also basic, a header of your choosing, or OAuth2, see README).
    hook = json.dumps(
        {
            "url": "https://your-app.com/webhooks",
            "headers": {"X-Customer-Id": "cus_42"},
            "auth": {"type": "bearer", "token": "your-endpoint-token"},
        }
    )
    typer.echo("A webhook whose requests carry a custom header and a Bearer token:")
    typer.echo(
        f'  curl -s -X POST {base}/dashboard/webhooks -H "Authorization: Bearer {token}" '
        f"-H 'Content-Type: application/json' -d {shlex.quote(hook)}"
    )


FILTER_EXAMPLE = {"amount": {"$gte": 100}, "currency": {"$in": ["EUR", "USD"]}}


def filtered_webhook_example(base: str, token: str) -> str:
    """A curl that creates a webhook with a payload filter (docs/api.md, Payload filters)."""
    body = json.dumps({"url": "https://example.com/hook", "filter": FILTER_EXAMPLE})
    return (
        f"curl -s -X POST {base}/dashboard/webhooks -H 'Authorization: Bearer {token}' "
        f"-H 'Content-Type: application/json' -d {shlex.quote(body)}"
    )


@app.command()
def migrate(database_url: DatabaseOpt = None) -> None:
    """Apply pending database migrations, then exit."""
    settings = _settings(database_url=database_url)

    async def run() -> None:
        db = store.from_settings(settings)
        await db.open()
        await db.close()

    _run(run())
    typer.echo(f"migrations applied to {settings.database_shown}")


@app.command()
def reseal(database_url: DatabaseOpt = None) -> None:
    """Re-encrypt every webhook secret with the first WEBHOOKD_SECRET_KEY key.

    To rotate the key: put a new key first (WEBHOOKD_SECRET_KEY=NEW,OLD) everywhere,
    run `webhookd reseal`, then drop OLD.
    """
    settings = _settings(database_url=database_url)

    async def run() -> None:
        sealer = settings.sealer
        db = store.from_settings(settings)
        await db.open()
        try:
            count = await db.reseal(sealer.reseal)
        finally:
            await db.close()
        typer.echo(f"re-sealed the secrets of {count} webhooks with the first key")

    _run(run())


@app.command()
def token(
    tenant: Annotated[str, typer.Option(help="The tenant the token acts for.")],
    ttl: Annotated[
        str, typer.Option(help="Lifetime: 90s, 15m, 1h, 24h (at most WEBHOOKD_JWT_MAX_LIFETIME).")
    ] = "1h",
) -> None:
    """Print a JWT for TENANT, signed with the configured HS256 secret."""
    seconds = parse_ttl(ttl)
    settings = _settings()
    try:
        typer.echo(tokens.mint(settings, tenant, seconds))
    except WebhookdError as exc:
        typer.secho(f"webhookd: {exc.message}", fg="red", err=True)
        raise typer.Exit(2) from None


@app.command()
def emit(
    event: Annotated[
        str | None, typer.Argument(help="Event type, such as verification.completed.")
    ] = None,
    tenant: Annotated[
        str | None, typer.Option(help="The tenant whose webhooks receive it.")
    ] = None,
    data: Annotated[str | None, typer.Option(help="The event's data, a JSON object.")] = None,
    file: Annotated[
        str | None,
        typer.Option(
            "--file",
            metavar="<events.jsonl>",
            help="Publish the events of this file instead (JSON Lines: one object with "
            "tenantId, event, data, idempotencyKey? per line; - reads stdin), through a "
            "running server's POST /events/batch, 1,000 a request. Every line is checked "
            "before any is sent.",
        ),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(
            help="With --file: the server [default: http://WEBHOOKD_HOST:WEBHOOKD_PORT]; "
            "its ingest key is WEBHOOKD_INGEST_KEY."
        ),
    ] = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Publish EVENT for TENANT straight into the database (a running server delivers it),
    or the events of a --file through a running server."""
    if file is not None:
        if event is not None or tenant is not None or data is not None:
            raise typer.BadParameter("give EVENT, --tenant and --data, or --file, not both")
        _emit_file(file, url, database_url)
        return
    if event is None or tenant is None:
        raise typer.BadParameter("give EVENT and --tenant, or --file events.jsonl")
    data = "{}" if data is None else data
    try:
        payload = json.loads(data)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"--data is not valid JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise typer.BadParameter("--data must be a JSON object, such as '{\"recordId\": 1}'")
    settings = _settings(database_url=database_url)
    if settings.numbers == "exact" and (found := numbers.inexact(data, "data")) is not None:
        raise typer.BadParameter(numbers.refusal(*found))

    async def run() -> None:
        db = store.from_settings(settings)
        await db.open()
        try:
            service = Service(
                db, _NoTransport(), settings.catalog, clock.system_clock, sealer=settings.sealer
            )
            published = await service.publish(tenant, event, payload)
        finally:
            await db.close()
        count = published.deliveries
        typer.echo(f"{published.event_id}: {count} deliver{'y' if count == 1 else 'ies'} queued")

    _run(run())


def _emit_file(path: str, url: str | None, database_url: str | None) -> None:
    from webhookd import emitting

    settings = _settings(database_url=database_url)
    key = settings.ingest_key
    if key is None:
        typer.secho(
            "webhookd emit --file sends through the server: set WEBHOOKD_INGEST_KEY to its "
            "ingest key",
            fg="red",
            err=True,
        )
        raise typer.Exit(2)
    base = url or _local_base(settings.host, settings.port)
    try:
        if path == "-":
            events = emitting.read(
                sys.stdin.buffer,
                settings.catalog,
                settings.numbers == "exact",
                settings.max_batch_bytes,
            )
        else:
            with open(path, "rb") as lines:
                events = emitting.read(
                    lines, settings.catalog, settings.numbers == "exact", settings.max_batch_bytes
                )
    except OSError as exc:
        raise typer.BadParameter(
            f"cannot read {path}: {exc.strerror}", param_hint="--file"
        ) from None
    except emitting.Refused as exc:
        typer.secho(
            f"webhookd: {path}: {emitting.then(str(exc), emitting.NOTHING_SENT)}",
            fg="red",
            err=True,
        )
        raise typer.Exit(2) from None
    try:
        sent = emitting.send(
            events,
            base,
            key.get_secret_value(),
            settings.max_batch_bytes,
            lambda line: typer.echo(f"webhookd emit: {line}", err=True),
        )
    except emitting.Refused as exc:
        typer.secho(f"webhookd: {path}: {exc}", fg="red", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{sent.events} events published, {sent.deliveries} deliveries")


def _local_base(host: str, port: int) -> str:
    """Where `serve` with these settings answers."""
    if host in ("", "0.0.0.0"):  # noqa: S104 - every interface: this machine's is one
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@app.command()
def listen(
    secret: Annotated[
        list[str] | None,
        typer.Option(
            metavar="<whsec_…>",
            help="The webhook's whsec_… secret; repeat it for a rotation's old and new.",
        ),
    ] = None,
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 9000,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    path: Annotated[
        str | None, typer.Option(help="Take deliveries on this path only [default: any].")
    ] = None,
    forward: Annotated[
        str | None,
        typer.Option(
            metavar="<url>",
            help="Pass each verified delivery on to this URL; answer with its status.",
        ),
    ] = None,
    fail_rate: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="Answer 500 to this share of deliveries (0.0-1.0)."),
    ] = 0.0,
    no_verify: Annotated[
        bool, typer.Option("--no-verify", help="Answer deliveries that fail verification too.")
    ] = False,
) -> None:
    """Receive deliveries locally: verify each, print one line, answer (401 if unverified)."""
    from webhookd import listen as listening

    if not secret and not no_verify:
        typer.secho(
            "webhookd listen: give the webhook's secret, --secret whsec_… (shown when the "
            "webhook was created), or --no-verify to watch deliveries without checking them",
            fg="red",
            err=True,
        )
        raise typer.Exit(2)
    if forward is not None and not forward.startswith(("http://", "https://")):
        raise typer.BadParameter("use an http:// or https:// URL", param_hint="--forward")
    if path is not None and not path.startswith("/"):
        raise typer.BadParameter("a path starts with /, such as /hook", param_hint="--path")
    options = listening.Options(
        host=host,
        port=port,
        secrets=tuple(secret or ()),
        enforce=not no_verify,
        path=path,
        forward=forward,
        fail_rate=fail_rate,
    )
    try:
        asyncio.run(listening.run(options, typer.echo))
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        typer.secho(f"webhookd: cannot listen on {host}:{port}: {reason}", fg="red", err=True)
        raise typer.Exit(1) from None


class _NoTransport:
    async def post(self, *_: object) -> Any:
        raise RuntimeError("emit sends nothing itself")


def _run(coro: Any) -> None:
    try:
        _event_loop_run(coro)
    except WebhookdError as exc:
        typer.secho(f"webhookd: {exc.message}", fg="red", err=True)
        raise typer.Exit(1) from None
    except ValueError as exc:  # such as a sealed secret no configured key opens
        typer.secho(f"webhookd: {exc}", fg="red", err=True)
        raise typer.Exit(1) from None


def _event_loop_run(coro: Any) -> None:
    """uvloop when installed (it comes with uvicorn[standard]): the worker's sends and
    database round trips cost less in it than in the default loop."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(coro)
    else:
        uvloop.run(coro)


def main() -> None:
    app(prog_name="webhookd")


if __name__ == "__main__":
    main()
