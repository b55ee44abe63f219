"""The one HTTP client that contacts tenant URLs (deliveries, test sends, resends).

Every destination passes the SSRF guard (delivery/guard.py) at every send.

One aiohttp session per process, connections kept per host. Every attempt has one
total deadline that a receiver dripping bytes cannot stretch, never follows
redirects, ignores proxy variables, and reads at most `max_response_bytes` of the
answer, of which the first `excerpt_bytes` are kept for the log.

With an egress proxy (`WEBHOOKD_PROXY_URL`, for a static source address), a request
to a host outside `WEBHOOKD_NO_PROXY` goes through it: CONNECT for https,
absolute-form for http. The guard still judges the *target*: webhookd resolves the
name and checks every address before a byte goes to the proxy, then names the checked
address to the proxy (`CONNECT 203.0.113.7:443`, `POST http://203.0.113.7/…`; TLS
still checks the certificate of the URL's name, and the Host header carries it), so
a DNS answer that changes before the proxy looks the name up cannot take a request
where the guard said no. A proxy that cannot be reached or refuses is the result's
`egress_fault`: webhookd's own, never held against the endpoint.
"""

import asyncio
import os
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from webhookd.delivery import guard
from webhookd.domain import endpoint, network
from webhookd.domain.models import SendResult

MAX_RESPONSE_BYTES = 64 * 1024
EXCERPT_BYTES = 4 * 1024
CHECKED_URLS = 4096  # URLs whose literal check is remembered (the policy never changes)


@dataclass(frozen=True, slots=True)
class Proxy:
    """The egress proxy: `http://[user:pass@]host:port`, and the hosts that bypass it."""

    url: str  # without credentials
    authorization: str | None = None  # the Proxy-Authorization value, from the credentials
    no_proxy: tuple[str, ...] = ()

    @classmethod
    def parse(cls, spec: str, no_proxy: str = "") -> "Proxy":
        parts = urlsplit(spec.strip())
        try:
            port = parts.port
        except ValueError:
            port = None
        if parts.scheme != "http" or not parts.hostname or port is None:
            raise ValueError("must be http://[user:pass@]host:port")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError("must be http://[user:pass@]host:port, with no path")
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        authorization = None
        if parts.username is not None:
            given = URL(spec.strip())
            authorization = aiohttp.encode_basic_auth(given.user or "", given.password or "")
        return cls(f"http://{host}:{port}", authorization, endpoint.parse_no_proxy(no_proxy))

    def used_for(self, host: str) -> bool:
        return not endpoint.bypasses_proxy(host, self.no_proxy)


class Sender:
    def __init__(
        self,
        timeout: float,
        policy: network.Policy | None = None,
        *,
        lookup: guard.Lookup = guard.system_lookup,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        excerpt_bytes: int = EXCERPT_BYTES,
        proxy: Proxy | None = None,
        trust: ssl.SSLContext | None = None,  # whom TLS trusts; None: the system's CAs
    ) -> None:
        self.timeout = timeout
        self.policy = policy or network.Policy()
        self.lookup = lookup
        self.max_response_bytes = max_response_bytes
        self.excerpt_bytes = excerpt_bytes
        self.proxy = proxy
        self.trust = trust
        self._resolver = guard.GuardedResolver(self.policy, self.lookup)
        self._session: aiohttp.ClientSession | None = None
        self._proxied: aiohttp.ClientSession | None = None
        self._checked: dict[str, str | None] = {}  # url -> why it is blocked, or None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            limit=0,
            # Per-endpoint windows (domain/flow.py) do the real limiting; this only caps
            # what many webhooks on one host:port can open together.
            limit_per_host=256,
            ttl_dns_cache=60,  # holds only answers the guard passed
            resolver=self._resolver,
            ssl=self.trust or True,
        )
        self._session = self._new_session(connector)
        if self.proxy is not None:
            # Its connector only ever connects to the proxy (the operator's, so not
            # judged by the guard); every target was checked before (`_through_proxy`).
            self._proxied = self._new_session(
                aiohttp.TCPConnector(limit=0, limit_per_host=256, ssl=self.trust or True)
            )

    def _new_session(self, connector: aiohttp.TCPConnector) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=None, connect=min(self.timeout, 10.0)),
            trust_env=False,
            auto_decompress=False,
            # No skip_auto_headers: every send carries its own User-Agent, and the
            # option makes aiohttp rebuild the header set on every request (5 % of a
            # drain's loop time).
        )

    async def close(self) -> None:
        for session in (self._session, self._proxied):
            if session is not None:
                await session.close()
        self._session = self._proxied = None

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult:
        """POST `body` to `url` once; always a result, never an exception."""
        result, _ = await self._send(url, body, headers, self.excerpt_bytes)
        return result

    async def fetch(
        self, url: str, body: bytes, headers: Mapping[str, str]
    ) -> tuple[SendResult, bytes]:
        """`post`, and the whole answer read (up to `max_response_bytes`): for OAuth2
        token requests, which go the same guarded way (and through the proxy)."""
        return await self._send(url, body, headers, self.max_response_bytes)

    async def _send(
        self, url: str, body: bytes, headers: Mapping[str, str], keep: int
    ) -> tuple[SendResult, bytes]:
        if self._session is None:
            raise RuntimeError("Sender.start() was not called")
        started = time.perf_counter()
        answer = _Answer()
        error: str | None = None
        egress = False
        try:
            self._check_destination(url)
            async with asyncio.timeout(self.timeout):
                session, target = self._session, url
                extra: dict[str, Any] = {}
                if self._proxied is not None and self.proxy is not None:
                    host = urlsplit(url).hostname or ""
                    if self.proxy.used_for(host):
                        session = self._proxied
                        target, extra = await self._through_proxy(url, self.proxy)
                async with session.post(
                    target,
                    data=body,
                    headers={**headers, "Accept-Encoding": "identity", **extra.pop("headers", {})},
                    allow_redirects=False,
                    # Deliveries carry their own User-Agent; a forwarded request
                    # (`webhookd listen --forward`) without one gets none added.
                    skip_auto_headers=None if _has_user_agent(headers) else _NO_USER_AGENT,
                    **extra,
                ) as response:
                    if session is self._proxied and response.status == 407:
                        raise _ProxyRefused(407, "Proxy Authentication Required")
                    answer.status = response.status
                    answer.retry_after = response.headers.get("Retry-After")
                    await self._read_capped(response, answer.chunks)
        except Exception as exc:  # every failure is a result, never an exception
            error, egress = self._describe(exc)
        duration_ms = round((time.perf_counter() - started) * 1000)
        if answer.status is not None and error is not None:
            error = f"answer cut short: {error}"
        read = b"".join(answer.chunks)
        excerpt = read[:keep].decode("utf-8", "replace")
        # A receiver's answer is stored as text; PostgreSQL text cannot hold U+0000.
        excerpt = excerpt.replace("\x00", "\ufffd")
        if error is not None:
            error = error.replace("\x00", "\ufffd")
        result = SendResult(answer.status, error, duration_ms, excerpt, answer.retry_after, egress)
        return result, read

    async def _through_proxy(self, url: str, proxy: Proxy) -> tuple[str, dict[str, Any]]:
        """The URL to give the proxy, and the request's options: the target resolved and
        checked here (BlockedAddress, LookupFailed before anything is sent), then named
        by that address, so the proxy connects where the guard looked."""
        parts = URL(url)
        host = parts.raw_host or ""
        extra: dict[str, Any] = {"proxy": proxy.url}
        headers: dict[str, str] = {}
        if proxy.authorization is not None:
            if parts.scheme == "https":  # on the CONNECT request
                extra["proxy_headers"] = {"Proxy-Authorization": proxy.authorization}
            else:  # on the request itself, which the proxy forwards
                headers["Proxy-Authorization"] = proxy.authorization
        if network.literal_address(host) is None:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            answers = await self._resolver.resolve(host, port)
            headers["Host"] = _authority(parts)
            if parts.scheme == "https":
                extra["server_hostname"] = host.rstrip(".")
            parts = parts.with_host(answers[0]["host"])
        extra["headers"] = headers
        return str(parts), extra

    def _describe(self, exc: Exception) -> tuple[str, bool]:
        """What went wrong, in words for the delivery log and the test route; and
        whether it was the egress proxy's doing rather than the endpoint's."""
        proxy = self.proxy.url if self.proxy is not None else "the proxy"
        if isinstance(exc, _ProxyRefused):
            return (
                f"the egress proxy {proxy} refused the request ({exc}): check WEBHOOKD_PROXY_URL",
                True,
            )
        if isinstance(exc, aiohttp.ClientProxyConnectionError):
            return (
                f"the egress proxy {proxy} could not be reached ({_reason(exc.os_error)}); "
                "the endpoint was not contacted",
                True,
            )
        if isinstance(exc, aiohttp.ClientHttpProxyError):
            if exc.status >= 500:  # the proxy could not reach the endpoint: the endpoint's
                said = f"{exc.status} {exc.message}"
                return f"the egress proxy {proxy} could not reach the endpoint ({said})", False
            return (
                f"the egress proxy {proxy} refused to connect ({exc.status} {exc.message}); "
                "the endpoint was not contacted",
                True,
            )
        return self._describe_direct(exc), False

    def _describe_direct(self, exc: Exception) -> str:
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
        if isinstance(exc, guard.LookupFailed):
            return str(exc)
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


class _ProxyRefused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")


def _authority(url: URL) -> str:
    """The Host header `url` asks for: its host, and its port when not the default."""
    host = url.raw_host or ""
    host = f"[{host}]" if ":" in host else host
    return host if url.is_default_port() else f"{host}:{url.port}"


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
