"""The SSRF guard of the sender: resolve once, check every address, connect to those.

`GuardedResolver` plugs into aiohttp's connector. aiohttp connects to exactly the
addresses it returns (keeping the URL's host for the Host header and for TLS server
name checks), so the address that was checked is the address that is contacted: a
DNS answer that changes between check and connect (rebinding) cannot slip through.
Any blocked address in an answer blocks the whole answer, and a failed lookup fails
closed. IP literals never reach a resolver, so `check_literal` covers them.
"""

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult

from webhookd.domain import network

Lookup = Callable[[str, int], Awaitable[list[str]]]
"""(host, port) → IP addresses as text. Tests inject their own; production asks the OS."""


class LookupFailed(OSError):
    """The name did not resolve: nothing is sent (fail closed)."""


class BlockedAddress(OSError):
    """A destination the network policy refuses (an OSError so aiohttp passes it on)."""


async def system_lookup(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_ADDRCONFIG
    )
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_literal(host: str, policy: network.Policy) -> None:
    """Raise BlockedAddress when the URL's host spells out a refused address."""
    address = network.literal_address(host)
    if address is not None:
        reason = network.blocked(address, policy)
        if reason is not None:
            raise BlockedAddress(reason)


class GuardedResolver(AbstractResolver):
    def __init__(self, policy: network.Policy, lookup: Lookup = system_lookup) -> None:
        self.policy = policy
        self.lookup = lookup

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            answers = await self.lookup(host, port)
        except (OSError, UnicodeError) as exc:
            why = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
            raise LookupFailed(f"could not resolve {host} ({why})") from exc
        if not answers:
            raise LookupFailed(f"could not resolve {host} (no addresses)")
        results: list[ResolveResult] = []
        for text in answers:
            address = ipaddress.ip_address(text.split("%")[0])
            reason = network.blocked(address, self.policy)
            if reason is not None:
                raise BlockedAddress(f"{host} resolves to {reason}")
            results.append(_result(host, str(address), port, address.version))
        return results

    async def close(self) -> None:
        return None


def _result(hostname: str, host: str, port: int, version: int) -> ResolveResult:
    family = socket.AF_INET6 if version == 6 else socket.AF_INET
    result: Any = {
        "hostname": hostname,
        "host": host,
        "port": port,
        "family": family,
        "proto": 0,
        "flags": socket.AI_NUMERICHOST,
    }
    return result  # type: ignore[no-any-return]
