"""`webhookd listen`: a local receiver for developers, like `stripe listen`.

It verifies each delivery with `webhookd.verify`, prints one line for it, and answers:

- 401 when verification fails (unless `--no-verify`), without forwarding it;
- 500 for a random `--fail-rate` share of the rest, to rehearse retries;
- with `--forward URL`, whatever URL answers (502 when it cannot be reached);
- 200 otherwise.
"""

import asyncio
import math
import random
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

import orjson
from aiohttp import web

from webhookd.delivery.sender import Sender
from webhookd.domain import network
from webhookd.errors import WebhookVerificationError
from webhookd.receiving import DEFAULT_TOLERANCE, SEED, STANDARD, check_signature, verify

Out = Callable[[str], None]
FORWARD_TIMEOUT = 30.0
_SCHEME_HEADERS = {
    SEED: ("x-pacspace-signature",),
    STANDARD: ("webhook-id", "webhook-timestamp", "webhook-signature"),
}
# Hop-by-hop and framing headers are the forwarding client's own business.
_NOT_FORWARDED = {
    "host",
    "content-length",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "upgrade",
    "proxy-connection",
    "accept-encoding",
}


@dataclass(frozen=True)
class Options:
    host: str = "127.0.0.1"
    port: int = 9000
    secrets: tuple[str, ...] = ()
    enforce: bool = True  # False: --no-verify, every delivery is answered as if it verified
    path: str | None = None  # None: any path
    forward: str | None = None
    fail_rate: float = 0.0
    tolerance: timedelta = DEFAULT_TOLERANCE
    random: Callable[[], float] = field(default=random.random, compare=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self.path or '/'}"


@dataclass
class _Verdict:
    ok: bool
    text: str


def create_app(options: Options, out: Out) -> web.Application:
    sender = Sender(FORWARD_TIMEOUT, network.Policy(allow_private=True))

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        if options.path is not None and request.path != options.path:
            out(f"{_clock()}  POST {request.path}: not {options.path} (--path)  → 404")
            return web.Response(status=404, text=f"webhookd listen takes {options.path}\n")
        verdict = _verdict(body, request.headers, options)
        status, text, note = 200, "OK\n", ""
        if not verdict.ok and options.enforce:
            status, text = 401, verdict.text + "\n"
        elif options.fail_rate and options.random() < options.fail_rate:
            status, text, note = 500, "failing on purpose (--fail-rate)\n", " (--fail-rate)"
        elif options.forward:
            status, text, note = await _forward(sender, options.forward, body, request.headers)
        out(_line(body, request.headers, verdict, f"→ {status}{note}"))
        return web.Response(status=status, text=text)

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text=f"webhookd listen: POST deliveries to {options.url}\n")

    async def start(_: web.Application) -> None:
        await sender.start()

    async def stop(_: web.Application) -> None:
        await sender.close()

    app = web.Application()
    app.router.add_post("/{tail:.*}", receive)
    app.router.add_get("/{tail:.*}", hello)
    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    return app


async def run(options: Options, out: Out) -> None:
    """Serve until SIGINT or SIGTERM, then finish the requests in flight. OSError if the
    address cannot be bound."""
    runner = web.AppRunner(create_app(options, out), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, options.host, options.port).start()
        _banner(options, out)
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        await stopping.wait()
        out("stopping: finishing the deliveries in flight")
    finally:
        await runner.cleanup()


def _banner(options: Options, out: Out) -> None:
    count = len(options.secrets)
    secrets = f"{count} secret{'s' * (count != 1)}"
    if options.enforce:
        checking = f"checking signatures with {secrets}; a delivery that fails is answered 401"
    elif count:
        checking = f"checking signatures with {secrets}, but answering as if each passed"
    else:
        checking = "not checking signatures (--no-verify)"
    out(f"webhookd listen on {options.url}, {checking}")
    extras = [f"forwarding to {options.forward}"] if options.forward else []
    if options.fail_rate:
        extras.append(f"answering 500 to {options.fail_rate:.0%} of deliveries")
    if extras:
        out("  " + "; ".join(extras))
    out(f"Point a webhook at it: use {options.url} as its url, with webhookd started with")
    out("  WEBHOOKD_ALLOW_PRIVATE_NETWORKS=true, then POST /dashboard/webhooks/{id}/test.")
    out("One line per delivery below. Ctrl-C stops.")


def _verdict(body: bytes, headers: Mapping[str, str], options: Options) -> _Verdict:
    if not options.secrets:
        return _Verdict(False, "· not checked (no --secret)")
    try:
        verify(body, headers, options.secrets, tolerance=options.tolerance)
    except WebhookVerificationError as exc:
        return _Verdict(False, f"✗ {exc}")
    marks = []
    for scheme, names in _SCHEME_HEADERS.items():
        subset = {k: v for k, v in headers.items() if k.lower() in names}
        if subset:
            try:
                check_signature(
                    body,
                    subset,
                    options.secrets,
                    tolerance=options.tolerance,
                    allow_seed_only=True,  # each scheme alone, for the line's marks
                )
                marks.append(f"{scheme} ✓")
            except WebhookVerificationError:
                marks.append(f"{scheme} ✗")
    return _Verdict(True, f"✓ verified ({', '.join(marks)})")


async def _forward(
    sender: Sender, url: str, body: bytes, headers: Mapping[str, str]
) -> tuple[int, str, str]:
    passed = {k: v for k, v in headers.items() if k.lower() not in _NOT_FORWARDED}
    result = await sender.post(url, body, passed)
    if result.http_status is None:
        return 502, f"forward failed: {result.error}\n", f" (forward failed: {result.error})"
    return result.http_status, result.response_excerpt, f" (from {url})"


def _line(body: bytes, headers: Mapping[str, str], verdict: _Verdict, answer: str) -> str:
    lowered = {k.lower(): v for k, v in headers.items()}
    event = lowered.get("x-pacspace-event") or _event_in(body) or "-"
    delivery = lowered.get("x-pacspace-delivery") or lowered.get("webhook-id") or "-"
    stamp = lowered.get("webhook-timestamp") or lowered.get("x-pacspace-timestamp") or ""
    latency = _latency(stamp)
    line = f"{_clock()}  {event:<22}  {delivery:<30}  {latency:<13}  {answer}  {verdict.text}"
    return _printable(line)


def _printable(text: str) -> str:
    """Anything unverified may be in the line: no terminal escapes reach the terminal."""
    return "".join(ch if ch.isprintable() else "�" for ch in text)


def _clock() -> str:
    return time.strftime("%H:%M:%S")


def _event_in(body: bytes) -> str | None:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    event = payload.get("event") if isinstance(payload, dict) else None
    return event if isinstance(event, str) else None


def _latency(stamp: str) -> str:
    """Since the attempt was signed. Timestamps are whole seconds, so below 1 s is '<1 s'."""
    if not (stamp.isascii() and stamp.strip().isdigit() and len(stamp.strip()) <= 12):
        return "latency ?"
    seconds = time.time() - int(stamp)
    return "latency <1 s" if 0 <= seconds < 1 else f"latency {math.floor(seconds)} s"
