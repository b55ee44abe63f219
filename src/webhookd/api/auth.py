"""`Authorization: Bearer <JWT>` → the tenant the request acts for.

Algorithms come from configuration, never from the token: HS256 with
`WEBHOOKD_JWT_SECRET`; RS256/ES256/EdDSA (chosen by the key's type) with
`WEBHOOKD_JWT_PUBLIC_KEY`; RS256/ES256 keys from `WEBHOOKD_JWKS_URL`. `exp` is
required; `nbf`/`iat` honoured with `WEBHOOKD_JWT_LEEWAY`; issuer and audience
enforced when configured. The tenant is the claim `WEBHOOKD_TENANT_CLAIM`.
"""

import asyncio
import time
from typing import Annotated, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

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
        if not isinstance(tenant, str) or not tenant or len(tenant) > 255:
            raise Unauthenticated(
                f"Invalid token: the '{self.claim}' claim must be a string naming the tenant."
            )
        return tenant

    def mint(self, tenant: str, ttl_seconds: int, now: float | None = None) -> str:
        """A token for `tenant` (HS256 configurations only: the CLI's `token` command)."""
        if self.algorithms != ["HS256"]:
            raise Invalid(
                "Minting tokens needs WEBHOOKD_JWT_SECRET (HS256); this server verifies "
                "tokens from your identity provider instead."
            )
        issued = int(time.time() if now is None else now)
        claims: dict[str, Any] = {self.claim: tenant, "iat": issued, "exp": issued + ttl_seconds}
        if self.issuer:
            claims["iss"] = self.issuer
        if self.audience:
            claims["aud"] = self.audience
        return jwt.encode(claims, self._key, algorithm="HS256")


_bearer = HTTPBearer(auto_error=False, description="A JWT naming the tenant.")


async def current_tenant(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    if credentials is None:
        raise Unauthenticated(
            "Missing or malformed Authorization header: send 'Authorization: Bearer <JWT>'."
        )
    authenticator: Authenticator = request.app.state.authenticator
    return await authenticator.tenant(credentials.credentials)


Tenant = Annotated[str, Depends(current_tenant)]
