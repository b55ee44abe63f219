"""What sending needs, shared by the worker's deliveries and the service's test sends:
the Transport port (the guarded HTTP client implements it, `delivery/sender.py`), the
signed headers of one attempt, a webhook's secrets opened, the retry jitter, and
`send`, the one way an attempt goes out: custom headers, then `auth` (an OAuth2
token from `Tokens`, fetched again once on a 401), then the signed headers. Neither the
use cases nor the worker own these, so both import them from here.
"""

import asyncio
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import orjson

from webhookd import __version__
from webhookd.domain import clock, endpoint, signing
from webhookd.domain.endpoint import EndpointAuth
from webhookd.domain.models import OldSecret, SendResult
from webhookd.sealing import Sealer

USER_AGENT = f"webhookd/{__version__}"
MAX_TOKENS = 10_000  # endpoints whose OAuth2 token a process keeps


class Transport(Protocol):
    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult: ...


class TokenClient(Protocol):
    """What fetches OAuth2 tokens: the sender, whose `fetch` reads the whole answer."""

    async def fetch(
        self, url: str, body: bytes, headers: Mapping[str, str]
    ) -> tuple[SendResult, bytes]: ...


class TokenFailed(Exception):
    """The token endpoint gave no token; `result` is the attempt's failed result."""

    def __init__(self, result: SendResult) -> None:
        super().__init__(result.error)
        self.result = result


class Tokens:
    """OAuth2 access tokens (client-credentials grant), kept per endpoint in this
    process's memory until shortly before they expire, at most an hour
    (`endpoint.token_kept_until`). One request at a time per endpoint: deliveries that
    need the same token wait for it. Each process (`serve`, every `worker`) keeps its
    own, so N workers fetch up to N tokens per expiry."""

    def __init__(self, client: TokenClient | None, now: clock.Clock = clock.system_clock) -> None:
        self.client = client
        self.now = now
        self._kept: dict[str, tuple[str, int]] = {}  # key -> (token, used until)
        self._fetching: dict[str, asyncio.Future[str]] = {}

    async def token(
        self, key: str, auth: EndpointAuth, secret: str, *, stale: str | None = None
    ) -> str:
        """The endpoint's token; a new one when the kept one is `stale` (answered 401).
        Raises TokenFailed."""
        kept = self._kept.get(key)
        if kept is not None and kept[0] != stale and kept[1] > self.now():
            return kept[0]
        if kept is not None:
            del self._kept[key]
        waiting = self._fetching.get(key)
        if waiting is None:
            waiting = asyncio.get_running_loop().create_future()
            self._fetching[key] = waiting
            try:
                token, until = await self._fetch(auth, secret)
            except BaseException as exc:
                # Those waiting get the failure; a fetch cancelled (a stop) must not
                # leave them waiting for ever.
                failed = exc if isinstance(exc, TokenFailed) else _interrupted(auth)
                waiting.set_exception(failed)
                waiting.exception()  # read: nobody else may be waiting
                raise
            finally:
                del self._fetching[key]
            if len(self._kept) >= MAX_TOKENS:
                self._kept.clear()
            self._kept[key] = (token, until)
            waiting.set_result(token)
            return token
        return await asyncio.shield(waiting)

    async def _fetch(self, auth: EndpointAuth, secret: str) -> tuple[str, int]:
        url = auth.token_url or ""
        if self.client is None:
            raise TokenFailed(SendResult(None, "OAuth2 is not available here", 0))
        body, headers = endpoint.client_credentials(auth, secret)
        result, answer = await self.client.fetch(url, body, {**headers, "User-Agent": USER_AGENT})
        where = f"OAuth2 token request to {url}"
        if result.http_status is None:
            raise TokenFailed(_failed(result, f"{where} failed: {result.error}"))
        try:
            data = orjson.loads(answer)
        except orjson.JSONDecodeError:
            data = None
        if not result.ok:
            said = ""
            if isinstance(data, dict) and isinstance(data.get("error"), str):
                said = f": {data['error'][:100]}"
                if isinstance(data.get("error_description"), str):
                    said += f" ({data['error_description'][:200]})"
            raise TokenFailed(_failed(result, f"{where} answered HTTP {result.http_status}{said}"))
        token = data.get("access_token") if isinstance(data, dict) else None
        kind = data.get("token_type", "bearer") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token or endpoint.has_control(token):
            raise TokenFailed(_failed(result, f"{where}: the answer has no usable access_token"))
        if not isinstance(kind, str) or kind.lower() != "bearer":
            raise TokenFailed(_failed(result, f"{where}: token_type {kind!r} is not Bearer"))
        assert isinstance(data, dict)
        return token, endpoint.token_kept_until(self.now(), data.get("expires_in"))


def _interrupted(auth: EndpointAuth) -> TokenFailed:
    return TokenFailed(SendResult(None, f"OAuth2 token request to {auth.token_url} stopped", 0))


def _failed(result: SendResult, error: str) -> SendResult:
    """A token request's failure as the attempt's result: no answer from the endpoint."""
    return SendResult(None, error, result.duration_ms, "", None, result.egress_fault)


@dataclass(frozen=True, slots=True)
class Target:
    """Where an attempt goes and what the webhook adds to it."""

    webhook_id: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    auth: EndpointAuth | None = None


async def send(
    transport: Transport,
    tokens: Tokens | None,
    open_secret: Callable[[str], str],
    target: Target,
    body: bytes,
    signed: Mapping[str, str],
) -> tuple[SendResult, dict[str, str]]:
    """Send one attempt; its result, and its headers as the delivery log shows them
    (the credential of `auth` redacted). An OAuth2 endpoint that answers 401 gets the
    request once more, with a token fetched anew."""
    headers = dict(target.headers)
    shown = dict(headers)
    auth, token = target.auth, None
    secret = ""
    if auth is not None:
        secret = open_secret(auth.sealed)
        if auth.type == "oauth2":
            try:
                token = await _token(tokens, target, auth, secret, None)
            except TokenFailed as exc:
                return exc.result, {**shown, **signed}
        _authorize(headers, shown, endpoint.auth_header(auth, secret, token))
    headers.update(signed)
    shown.update(signed)
    result = await transport.post(target.url, body, headers)
    if result.http_status == 401 and auth is not None and token is not None:
        try:
            token = await _token(tokens, target, auth, secret, token)
        except TokenFailed as exc:
            return exc.result, shown
        _authorize(headers, shown, endpoint.auth_header(auth, secret, token))
        result = await transport.post(target.url, body, headers)
    return result, shown


async def _token(
    tokens: Tokens | None, target: Target, auth: EndpointAuth, secret: str, stale: str | None
) -> str:
    if tokens is None:
        raise TokenFailed(SendResult(None, "OAuth2 is not available here", 0))
    key = "\n".join(
        (
            target.webhook_id,
            auth.token_url or "",
            auth.client_id or "",
            auth.scope or "",
            auth.sealed,
        )
    )
    return await tokens.token(key, auth, secret, stale=stale)


def _authorize(headers: dict[str, str], shown: dict[str, str], header: tuple[str, str]) -> None:
    name, value = header
    for existing in [n for n in headers if n.lower() == name.lower()]:
        del headers[existing]
        shown.pop(existing, None)
    headers[name] = value
    shown[name] = endpoint.redacted(name, value)


def open_secrets(sealer: Sealer, sealed: str, old: tuple[OldSecret, ...], now_ms: int) -> list[str]:
    """The current secret and the rotated-out ones still in their grace period, opened."""
    return [sealer.open(sealed)] + [sealer.open(o.sealed) for o in old if o.until > now_ms]


def signed_headers(
    secrets: list[str], body: bytes, delivery_id: str, event_type: str, now_ms: int
) -> dict[str, str]:
    """The headers of one attempt, signed now; the same for deliveries and test sends."""
    return signing.delivery_headers(
        secrets=secrets,
        body=body,
        delivery_id=delivery_id,
        event_type=event_type,
        timestamp_s=now_ms // 1000,
        user_agent=USER_AGENT,
    )


def default_jitter() -> float:
    return random.uniform(-1.0, 1.0)
