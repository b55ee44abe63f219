"""`Authorization: Bearer <JWT>` → the tenant the request acts for.

Algorithms come from configuration, never from the token: HS256 with
`WEBHOOKD_JWT_SECRET`; RS256/ES256/EdDSA (chosen by the key's type) with
`WEBHOOKD_JWT_PUBLIC_KEY`; RS256/ES256 keys from `WEBHOOKD_JWKS_URL`. `exp` is
required; `nbf`/`iat` honoured with `WEBHOOKD_JWT_LEEWAY`; issuer and audience
enforced when configured. The tenant is the claim `WEBHOOKD_TENANT_CLAIM`.
"""

import asyncio
from typing import Annotated, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from webhookd.api import responses
from webhookd.config import Settings
from webhookd.errors import Invalid, Unauthenticated

MAX_TOKEN_BYTES = 8 * 1024
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
        self.claim = settings.tenant_claim
        self._jwks: jwt.PyJWKClient | None = None
        self._key: Any = None
        if settings.jwt_secret is not None:
            self._key, self.algorithms = settings.jwt_secret.get_secret_value(), ["HS256"]
        elif settings.jwt_public_key is not None:
            self._key, self.algorithms = _public_key_algorithms(settings.jwt_public_key)
        elif settings.jwks_url is not None:
            self._jwks = jwt.PyJWKClient(settings.jwks_url, cache_keys=True, lifespan=300)
            self.algorithms = ["RS256", "ES256"]
        else:
            raise Invalid(
                "No JWT key configured: set WEBHOOKD_JWT_SECRET, WEBHOOKD_JWT_PUBLIC_KEY "
                "or WEBHOOKD_JWKS_URL"
            )

    async def tenant(self, token: str) -> str:
        if len(token) > MAX_TOKEN_BYTES:
            raise Unauthenticated("Invalid token: larger than 8 KiB.")
        key = self._key
        try:
            if self._jwks is not None:
                key = (await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)).key
            claims = jwt.decode(
                token,
                key,
                algorithms=self.algorithms,
                issuer=self.issuer,
                audience=self.audience,
                leeway=self.leeway,
                options={"require": ["exp"], "verify_aud": self.audience is not None},
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"Invalid token: {exc}.".replace("..", ".")) from None
        tenant = claims.get(self.claim)
        if not isinstance(tenant, str) or not tenant or len(tenant) > 255 or not _encodable(tenant):
            raise Unauthenticated(
                f"Invalid token: the '{self.claim}' claim must be a string naming the tenant."
            )
        return tenant


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class RequireTenant:
    """ASGI middleware: every `/dashboard` request is authenticated before anything else,
    its body included, is read. The tenant lands in `request.state.tenant`."""

    def __init__(self, app: ASGIApp, authenticator: Authenticator) -> None:
        self.app = app
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/dashboard"):
            await self.app(scope, receive, send)
            return
        header = Headers(scope=scope).get("authorization", "")
        scheme, _, token = header.partition(" ")
        try:
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthenticated(
                    "Missing or malformed Authorization header: send 'Authorization: Bearer <JWT>'."
                )
            tenant = await self.authenticator.tenant(token.strip())
        except Unauthenticated as exc:
            answer = responses.error(401, exc.message, {"WWW-Authenticate": "Bearer"})
            await answer(scope, receive, send)
            return
        scope.setdefault("state", {})["tenant"] = tenant
        await self.app(scope, receive, send)


_bearer = HTTPBearer(auto_error=False, description="A JWT naming the tenant.")


async def current_tenant(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The tenant RequireTenant authenticated (the parameter documents the scheme)."""
    tenant: str = request.state.tenant
    return tenant


Tenant = Annotated[str, Depends(current_tenant)]
