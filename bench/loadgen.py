"""The load generator, a process of its own (aiohttp on uvloop). Prints one JSON line.

limit URL [URL …] --count N --concurrency C
                                         sign and POST N delivery bodies (the limit),
                                         to each URL in turn
events BASE KEY TENANT [--rate R] [--seconds S | --count N] [--concurrency C] [--stamp]
       [--batch B]                       POST /events: at a fixed rate (open loop,
                                         R per second) or as fast as C in flight go;
                                         with --batch, POST /events/batch of B events
                                         (counts and rates are of events)
get URL --seconds S --concurrency C [--token T]   GET in a closed loop: requests/s
"""

import argparse
import asyncio
import sys
import time
from typing import Any

import aiohttp
import orjson
import uvloop

from webhookd.domain import ids, jsjson, signing

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # any valid-looking secret


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _summary(latencies: list[float], started: float, ended: float, errors: int) -> dict[str, Any]:
    return {
        "count": len(latencies), "errors": errors, "seconds": ended - started,
        "rate": len(latencies) / (ended - started) if ended > started else 0.0,
        "p50": percentile(latencies, 50), "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99), "max": max(latencies, default=float("nan")),
    }  # fmt: skip


def _session(concurrency: int) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    return aiohttp.ClientSession(connector=connector, skip_auto_headers=("User-Agent",))


async def limit(urls: list[str], count: int, concurrency: int) -> dict[str, Any]:
    """What one bare aiohttp client does with the same work as the worker: build the
    body, sign it (both schemes), POST it, read the answer."""
    body = jsjson.dumps({"event": "verification.completed", "timestamp": "2026-01-01T00:00:00.000Z",
                         "data": {"recordId": "rec_1", "i": 0}})  # fmt: skip
    left = count
    latencies: list[float] = []
    errors = 0
    async with _session(concurrency) as session:

        async def one() -> None:
            nonlocal left, errors
            while left > 0:
                left -= 1
                url = urls[left % len(urls)]
                now = time.time()
                delivery_id = ids.new_id(ids.DELIVERY, int(now * 1000))
                headers = signing.delivery_headers(
                    secrets=[SECRET], body=body, delivery_id=delivery_id,
                    event_type="verification.completed", timestamp_s=int(now),
                    user_agent="bench/limit",
                )  # fmt: skip
                t = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        errors += 1
                latencies.append((time.perf_counter() - t) * 1000)

        started = time.time()
        await asyncio.gather(*(one() for _ in range(concurrency)))
        ended = time.time()
    return _summary(latencies, started, ended, errors)


def _payload(args: argparse.Namespace, i: int) -> bytes:
    data: dict[str, Any] = {"recordId": f"rec_{i}", "i": i}
    if args.stamp:
        data["t0"] = time.time()
    event = {"tenantId": args.tenant, "event": "verification.completed", "data": data}
    if not args.batch:
        return orjson.dumps(event)
    return orjson.dumps(
        {"events": [{**event, "data": {**data, "j": j}} for j in range(args.batch)]}
    )


async def events(args: argparse.Namespace) -> dict[str, Any]:
    """POST /events (or /events/batch); each request's latency (send → 202) is kept."""
    url = args.base.rstrip("/") + ("/events/batch" if args.batch else "/events")
    headers = {"X-Api-Key": args.key, "Content-Type": "application/json"}
    latencies: list[float] = []
    errors = 0
    statuses: dict[int, int] = {}
    sent = 0

    async def post(session: aiohttp.ClientSession, i: int) -> None:
        nonlocal errors
        payload = _payload(args, i)
        t = time.perf_counter()
        try:
            async with session.post(url, data=payload, headers=headers) as response:
                await response.read()
                statuses[response.status] = statuses.get(response.status, 0) + 1
                if response.status != 202:
                    errors += 1
                    return
        except aiohttp.ClientError:
            errors += 1
            return
        latencies.append((time.perf_counter() - t) * 1000)

    deadline = time.monotonic() + args.seconds if args.seconds else float("inf")
    count = args.count or sys.maxsize
    async with _session(max(args.concurrency, 256)) as session:
        started = time.time()
        if args.rate:  # open loop: request i leaves at start + i / rate, answered or not
            tasks = []
            begin = time.monotonic()
            while sent < count and time.monotonic() < deadline:
                due = begin + sent / args.rate
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(post(session, sent)))
                sent += 1
            await asyncio.gather(*tasks)
        else:

            async def loop() -> None:
                nonlocal sent
                while sent < count and time.monotonic() < deadline:
                    sent += 1
                    await post(session, sent)

            await asyncio.gather(*(loop() for _ in range(args.concurrency)))
        ended = time.time()
    result = _summary(latencies, started, ended, errors)
    result["statuses"] = {str(k): v for k, v in statuses.items()}
    if args.batch:  # requests were counted: the figures are of events
        result["requests"], result["count"] = result["count"], result["count"] * args.batch
        result["rate"] *= args.batch
    return result


async def get(url: str, seconds: float, concurrency: int, token: str | None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds
    async with _session(concurrency) as session:

        async def loop() -> None:
            nonlocal errors
            while time.monotonic() < deadline:
                t = time.perf_counter()
                async with session.get(url, headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        errors += 1
                latencies.append((time.perf_counter() - t) * 1000)

        started = time.time()
        await asyncio.gather(*(loop() for _ in range(concurrency)))
        ended = time.time()
    return _summary(latencies, started, ended, errors)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen")
    sub = parser.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("limit")
    p.add_argument("url", nargs="+")
    p.add_argument("--count", type=int, default=20_000)
    p.add_argument("--concurrency", type=int, default=64)
    p = sub.add_parser("events")
    p.add_argument("base")
    p.add_argument("key")
    p.add_argument("tenant")
    p.add_argument("--rate", type=float, default=0)
    p.add_argument("--seconds", type=float, default=0)
    p.add_argument("--count", type=int, default=0)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--stamp", action="store_true")
    p.add_argument("--batch", type=int, default=0)
    p = sub.add_parser("get")
    p.add_argument("url")
    p.add_argument("--seconds", type=float, default=3)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--token")
    args = parser.parse_args()
    if args.mode == "limit":
        result = uvloop.run(limit(args.url, args.count, args.concurrency))
    elif args.mode == "events":
        result = uvloop.run(events(args))
    else:
        result = uvloop.run(get(args.url, args.seconds, args.concurrency, args.token))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")


if __name__ == "__main__":
    main()
