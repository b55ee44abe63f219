"""The one HTTP client that contacts tenant URLs (deliveries, test sends, resends).

Every destination passes the SSRF guard (delivery/guard.py) at every send.

One aiohttp session per process, connections kept per host. Every attempt has one
total deadline that a receiver dripping bytes cannot stretch, never follows
redirects, ignores proxy variables, and reads at most `max_response_bytes` of the
answer, of which the first `excerpt_bytes` are kept for the log.
"""

import asyncio
import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiohttp

from webhookd.delivery import guard
from webhookd.domain import network
from webhookd.domain.models import SendResult

MAX_RESPONSE_BYTES = 64 * 1024
EXCERPT_BYTES = 4 * 1024
CHECKED_URLS = 4096  # URLs whose literal check is remembered (the policy never changes)


class Sender:
    def __init__(
        self,
        timeout: float,
        policy: network.Policy | None = None,
        *,
        lookup: guard.Lookup = guard.system_lookup,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        excerpt_bytes: int = EXCERPT_BYTES,
    ) -> None:
        self.timeout = timeout
        self.policy = policy or network.Policy()
        self.lookup = lookup
        self.max_response_bytes = max_response_bytes
        self.excerpt_bytes = excerpt_bytes
        self._session: aiohttp.ClientSession | None = None
        self._checked: dict[str, str | None] = {}  # url -> why it is blocked, or None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            limit=0,
            # Per-endpoint windows (domain/flow.py) do the real limiting; this only caps
            # what many webhooks on one host:port can open together.
            limit_per_host=256,
            ttl_dns_cache=60,  # holds only answers the guard passed
            resolver=guard.GuardedResolver(self.policy, self.lookup),
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=None, connect=min(self.timeout, 10.0)),
            trust_env=False,
            auto_decompress=False,
            # No skip_auto_headers: every send carries its own User-Agent, and the
            # option makes aiohttp rebuild the header set on every request (5 % of a
            # drain's loop time).
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult:
        """POST `body` to `url` once; always a result, never an exception."""
        if self._session is None:
            raise RuntimeError("Sender.start() was not called")
        started = time.perf_counter()
        answer = _Answer()
        error: str | None = None
        try:
            self._check_destination(url)
            async with asyncio.timeout(self.timeout):
                async with self._session.post(
                    url,
                    data=body,
                    headers={**headers, "Accept-Encoding": "identity"},
                    allow_redirects=False,
                    # Deliveries carry their own User-Agent; a forwarded request
                    # (`webhookd listen --forward`) without one gets none added.
                    skip_auto_headers=None if _has_user_agent(headers) else _NO_USER_AGENT,
                ) as response:
                    answer.status = response.status
                    answer.retry_after = response.headers.get("Retry-After")
                    await self._read_capped(response, answer.chunks)
        except Exception as exc:  # every failure is a result, never an exception
            error = self._describe(exc)
        duration_ms = round((time.perf_counter() - started) * 1000)
        if answer.status is not None and error is not None:
            error = f"answer cut short: {error}"
        excerpt = b"".join(answer.chunks)[: self.excerpt_bytes].decode("utf-8", "replace")
        # A receiver's answer is stored as text; PostgreSQL text cannot hold U+0000.
        excerpt = excerpt.replace("\x00", "\ufffd")
        if error is not None:
            error = error.replace("\x00", "\ufffd")
        return SendResult(answer.status, error, duration_ms, excerpt, answer.retry_after)

    def _describe(self, exc: Exception) -> str:
        """What went wrong, in words for the delivery log and the test route."""
        if isinstance(exc, guard.BlockedAddress):
            return f"blocked: {exc}"
        if isinstance(exc, TimeoutError):
            return f"timed out after {self.timeout:g} s"
        if isinstance(exc, aiohttp.ClientConnectorCertificateError):
            return f"TLS certificate of {exc.host} not accepted ({exc.certificate_error})"
        if isinstance(exc, aiohttp.ClientConnectorError):
            if isinstance(exc.os_error, guard.BlockedAddress):
                return f"blocked: {exc.os_error}"
            if isinstance(exc.os_error, guard.LookupFailed):
                return str(exc.os_error)
            return f"could not connect to {exc.host}:{exc.port} ({_reason(exc.os_error)})"
        if isinstance(exc, aiohttp.ClientError):
            return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return f"could not send: {type(exc).__name__}: {exc}"

    def _check_destination(self, url: str) -> None:
        """Checks the resolver cannot make: the scheme, and hosts that are IP literals.
        The verdict depends only on the URL and the policy, so it is remembered (the
        address a name resolves to is checked at every connection, by the resolver)."""
        if url not in self._checked:
            if len(self._checked) >= CHECKED_URLS:
                self._checked.clear()
            self._checked[url] = self._blocked(url)
        reason = self._checked[url]
        if reason is not None:
            raise guard.BlockedAddress(reason)

    def _blocked(self, url: str) -> str | None:
        parts = urlsplit(url)
        if self.policy.require_https and parts.scheme != "https":
            return "https is required (WEBHOOKD_REQUIRE_HTTPS)"
        try:
            guard.check_literal(parts.hostname or "", self.policy)
        except guard.BlockedAddress as blocked:
            return str(blocked)
        return None

    async def _read_capped(self, response: aiohttp.ClientResponse, chunks: list[bytes]) -> None:
        """At most `max_response_bytes` of the body into `chunks`; the rest is never read.
        What arrived before a deadline stays in `chunks`."""
        size = 0
        while size < self.max_response_bytes and not response.content.at_eof():
            chunk = await response.content.read(self.max_response_bytes - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)


_NO_USER_AGENT = ("User-Agent",)


def _has_user_agent(headers: Mapping[str, str]) -> bool:
    return "User-Agent" in headers or any(k.lower() == "user-agent" for k in headers)


@dataclass
class _Answer:
    status: int | None = None
    retry_after: str | None = None
    chunks: list[bytes] = field(default_factory=list)


def _reason(error: OSError) -> str:
    """'Connection refused', 'Name or service not known': the system's words, not a number."""
    if isinstance(error, socket.gaierror) or not error.errno or error.errno < 0:
        return error.strerror or str(error)
    return os.strerror(error.errno)
