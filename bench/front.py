"""The `front` section: how fast `/healthz` answers while slow clients and header bombers
hold connections to `webhookd serve`, next to the same with no load, in one run.

Slow clients connect and send a request line one byte every second, never finishing
(the header deadline closes them; each reconnects at once). Header bombers send
headers without end, 64 KiB at a time (each is answered 431 and reconnects).
"""

import asyncio
import time
from typing import Any

from bench.loadgen import percentile


async def _healthz_latencies(host: str, port: int, seconds: float) -> list[float]:
    """Sequential `GET /healthz` on fresh connections for `seconds`; each latency in ms."""
    latencies: list[float] = []
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        started = time.perf_counter()
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        await reader.read()
        writer.close()
        latencies.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.01)
    return latencies


async def _slow_client(host: str, port: int, stop: asyncio.Event, counts: dict[str, int]) -> None:
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            counts["refused"] += 1
            await asyncio.sleep(0.1)
            continue
        counts["connections"] += 1
        try:
            for byte in b"GET /healthz HTTP/1.1\r\n" * 100:
                if stop.is_set() or reader.at_eof():
                    break
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(1.0)
        except OSError:
            pass
        writer.close()


async def _header_bomber(host: str, port: int, stop: asyncio.Event, counts: dict[str, int]) -> None:
    chunk = b"X-Bomb: " + b"a" * 65536 + b"\r\n"
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            while not stop.is_set() and not reader.at_eof():
                writer.write(chunk)
                await writer.drain()
                counts["bomb_bytes"] += len(chunk)
        except OSError:
            counts["bomb_closed"] += 1
            await asyncio.sleep(0.05)


async def measure(host: str, port: int, seconds: float, slow: int, bombers: int) -> dict[str, Any]:
    quiet = await _healthz_latencies(host, port, seconds)
    stop = asyncio.Event()
    counts = {"connections": 0, "refused": 0, "bomb_bytes": 0, "bomb_closed": 0}
    attackers = [asyncio.create_task(_slow_client(host, port, stop, counts)) for _ in range(slow)]
    attackers += [
        asyncio.create_task(_header_bomber(host, port, stop, counts)) for _ in range(bombers)
    ]
    await asyncio.sleep(2)  # let them all connect
    loaded = await _healthz_latencies(host, port, seconds)
    stop.set()
    await asyncio.wait(attackers, timeout=10)
    return {
        "quiet": {"p50": percentile(quiet, 50), "p99": percentile(quiet, 99), "n": len(quiet)},
        "loaded": {"p50": percentile(loaded, 50), "p99": percentile(loaded, 99), "n": len(loaded)},
        "attack": counts,
    }
