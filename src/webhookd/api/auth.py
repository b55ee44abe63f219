"""`Authorization: Bearer <JWT>` → the tenant the request acts for.

Algorithms come from configuration, never from the token: HS256 with
`WEBHOOKD_JWT_SECRET`; RS256/ES256/EdDSA (chosen by the key's type) with
`WEBHOOKD_JWT_PUBLIC_KEY`; RS256/ES256 keys from `WEBHOOKD_JWKS_URL`. `exp` is
required; `nbf`/`iat` honoured with `WEBHOOKD_JWT_LEEWAY`; issuer and audience
enforced when configured. The tenant is the claim `WEBHOOKD_TENANT_CLAIM`.
"""

import asyncio
import hmac
import json
import logging
import math
import time
import urllib.request
from typing import Annotated, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import Headers
from starlette.types import Scope

from webhookd.api import responses
from webhookd.config import Settings
from webhookd.domain import ratelimit
from webhookd.errors import Invalid, Unauthenticated

MAX_TOKEN_BYTES = 8 * 1024
INGEST_PATHS = ("/events", "/events/batch")
log = logging.getLogger("webhookd.auth")
_EC_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}


def _public_key_algorithms(pem: str) -> tuple[Any, list[str]]:
    try:
        key = serialization.load_pem_public_key(pem.replace("\\n", "\n").encode())
    except ValueError as exc:
        raise Invalid(f"WEBHOOKD_JWT_PUBLIC_KEY is not a PEM public key ({exc})") from None
    if isinstance(key, rsa.RSAPublicKey):
        return key, ["RS256"]
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name in _EC_ALGORITHMS:
        return key, [_EC_ALGORITHMS[key.curve.name]]
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key, ["EdDSA"]
    raise Invalid("WEBHOOKD_JWT_PUBLIC_KEY must be an RSA, EC (P-256/384/521) or Ed25519 key")


class Authenticator:
    def __init__(self, settings: Settings) -> None:
        self.issuer = settings.jwt_issuer
        self.audience = settings.jwt_audience
        self.leeway = settings.jwt_leeway
        self.max_lifetime = settings.jwt_max_lifetime
        self.claim = settings.tenant_claim
        self._jwks: JwksKeys | None = None
        self._key: Any = None
        if settings.jwt_secret is not None:
            self._key, self.algorithms = settings.jwt_secret.get_secret_value(), ["HS256"]
        elif settings.jwt_public_key is not None:
            self._key, self.algorithms = _public_key_algorithms(settings.jwt_public_key)
        elif settings.jwks_url is not None:
            self._jwks = JwksKeys(settings.jwks_url)
            self.algorithms = ["RS256", "ES256"]
        else:
            raise Invalid(
                "No JWT key configured: set WEBHOOKD_JWT_SECRET, WEBHOOKD_JWT_PUBLIC_KEY "
                "or WEBHOOKD_JWKS_URL"
            )

    async def identify(self, token: str) -> tuple[str, str]:
        """(tenant, actor): the actor is the token's `sub` when it is a string, for the
        audit log (with a tenant claim other than `sub`, it names the person)."""
        if len(token) > MAX_TOKEN_BYTES:
            raise Unauthenticated("Invalid token: larger than 8 KiB.")
        key = self._key
        try:
            if self._jwks is not None:
                key = await self._jwks.key_for(token)
            claims = jwt.decode(
                token,
                key,
                algorithms=self.algorithms,
                issuer=self.issuer,
                audience=self.audience,
                leeway=self.leeway,
                options={"require": ["exp"], "verify_aud": self.audience is not None},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("Invalid token: it has expired; get a new one.") from None
        except jwt.DecodeError as exc:
            if isinstance(exc, jwt.InvalidSignatureError):
                raise Unauthenticated("Invalid token: the signature does not match.") from None
            raise Unauthenticated(
                "Invalid token: not a well-formed JWT (three base64url parts joined by dots); "
                "check that the whole token was copied."
            ) from None
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"Invalid token: {exc}.".replace("..", ".")) from None
        self._check_times(claims)
        tenant = claims.get(self.claim)
        if not isinstance(tenant, str) or not tenant or len(tenant) > 255 or not _encodable(tenant):
            raise Unauthenticated(
                f"Invalid token: the '{self.claim}' claim must be a string naming the tenant."
            )
        subject = claims.get("sub")
        actor = subject if isinstance(subject, str) and subject and _encodable(subject) else tenant
        return tenant, actor[:255]

    def _check_times(self, claims: dict[str, Any]) -> None:
        """`exp`, `nbf` and `iat` are JSON numbers (PyJWT also takes numeric strings), and
        a token lives no longer than `WEBHOOKD_JWT_MAX_LIFETIME`: a leaked token with
        `exp` in the year 3000 would never stop working."""
        for name in ("exp", "nbf", "iat"):
            value = claims.get(name)
            if name in claims and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise Unauthenticated(
                    f"Invalid token: the '{name}' claim must be a number of seconds since "
                    "1970, not a string."
                    if isinstance(value, str)
                    else f"Invalid token: the '{name}' claim must be a number of seconds."
                )
        if not self.max_lifetime:
            return
        exp, now = claims["exp"], time.time()
        iat = claims.get("iat", now)
        if max(exp - iat, exp - now) > self.max_lifetime + self.leeway:
            raise Unauthenticated(
                "Invalid token: it is valid for longer than this server allows "
                f"(WEBHOOKD_JWT_MAX_LIFETIME, {self.max_lifetime / 3600:g} h); "
                "issue shorter-lived tokens."
            )


def _encodable(text: str) -> bool:
    """Text every store can keep: UTF-8 without NUL (PostgreSQL text cannot hold one)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


class TenantCheck:
    """Every `/dashboard` request is authenticated before anything else, its body
    included, is read (api/gate.py). The tenant lands in `request.state.tenant`."""

    def __init__(self, authenticator: Authenticator, limit: ratelimit.Limit) -> None:
        self.authenticator = authenticator
        self.buckets = ratelimit.Buckets(limit)

    async def check(self, scope: Scope) -> JSONResponse | None:
        """The refusal to send (401, 429), or None with the tenant and actor in the
        request's state."""
        header = Headers(scope=scope).get("authorization", "")
        scheme, _, token = header.partition(" ")
        try:
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthenticated(
                    "Missing or malformed Authorization header: send 'Authorization: Bearer <JWT>'."
                )
            tenant, actor = await self.authenticator.identify(token.strip())
        except Unauthenticated as exc:
            return responses.error(401, exc.message, {"WWW-Authenticate": "Bearer"})
        wait = self.buckets.take(tenant, time.monotonic())
        if wait:
            return _throttled("Too many requests for this tenant", wait)
        state = scope.setdefault("state", {})
        state["tenant"], state["actor"] = tenant, actor
        return None


class IngestCheck:
    """`POST /events` and `POST /events/batch` show the ingest key (`X-Api-Key`) before
    the body is read or parsed (api/gate.py), and are rate limited per key (a batch is
    one request: its body limit bounds what one request may cost)."""

    def __init__(self, key: str | None, limit: ratelimit.Limit) -> None:
        self.key = None if key is None else key.encode()
        self.buckets = ratelimit.Buckets(limit)

    def check(self, scope: Scope) -> JSONResponse | None:
        """The refusal to send (401, 429), or None."""
        shown = Headers(scope=scope).get("x-api-key")
        if self.key is None:
            return responses.error(
                401, "Event ingestion is off: set WEBHOOKD_INGEST_KEY on the server."
            )
        if shown is None or not hmac.compare_digest(shown.encode(), self.key):
            return responses.error(401, "Missing or wrong X-Api-Key header: send the ingest key.")
        wait = self.buckets.take("ingest", time.monotonic())
        if wait:
            return _throttled("Too many events for this ingest key", wait)
        return None


def _throttled(what: str, wait: float) -> JSONResponse:
    seconds = str(max(1, math.ceil(wait)))
    return responses.error(429, f"{what}; retry in {seconds} s.", {"Retry-After": seconds})


class JwksKeys:
    """Signing keys from the configured JWKS URL, and from nowhere else.

    A token's own `jku`, `x5u` or `x5c` headers are never followed; its `kid` only picks
    among the keys this URL published. Keys are cached for `LIFESPAN` seconds; a `kid`
    not in the cache triggers a refetch at most once per `REFRESH_EVERY` seconds, so a
    stream of tokens with made-up kids cannot turn webhookd into a load generator.
    """

    LIFESPAN = 300.0
    REFRESH_EVERY = 30.0

    def __init__(self, url: str) -> None:
        self.url = url
        self._keys: dict[str, Any] = {}
        self._fetched_at = -math.inf
        self._lock = asyncio.Lock()

    async def key_for(self, token: str) -> Any:
        kid = jwt.get_unverified_header(token).get("kid")
        if not isinstance(kid, str) or not kid:
            raise jwt.InvalidTokenError("the token names no key (kid)")
        stale = time.monotonic() - self._fetched_at > self.LIFESPAN
        if kid not in self._keys or stale:
            await self._refresh()
        key = self._keys.get(kid)
        if key is None:
            raise jwt.InvalidTokenError("unknown key id")
        return key

    async def _refresh(self) -> None:
        async with self._lock:
            if time.monotonic() - self._fetched_at < self.REFRESH_EVERY:
                return
            self._fetched_at = time.monotonic()
            try:
                data = await asyncio.to_thread(self._fetch)
                keys = jwt.PyJWKSet.from_dict(data).keys
            except (OSError, ValueError, jwt.PyJWTError) as exc:
                log.warning(
                    "cannot refresh JWKS from %s (%s); keeping %d cached keys",
                    self.url,
                    exc,
                    len(self._keys),
                )
                return
            self._keys = {k.key_id: k.key for k in keys if k.key_id}

    def _fetch(self) -> Any:
        # http(s) only: config.py checks the scheme of WEBHOOKD_JWKS_URL
        request = urllib.request.Request(self.url, headers={"Accept": "application/json"})  # noqa: S310
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=5) as answer:
            return json.loads(answer.read(1_000_000))


_bearer = HTTPBearer(auto_error=False, description="A JWT naming the tenant.")


async def current_tenant(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The tenant RequireTenant authenticated (the parameter documents the scheme)."""
    tenant: str = request.state.tenant
    return tenant


Tenant = Annotated[str, Depends(current_tenant)]


async def current_actor(request: Request) -> str:
    """Who the token names, for the audit log."""
    actor: str = request.state.actor
    return actor


Actor = Annotated[str, Depends(current_actor)]
