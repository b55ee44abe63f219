"""Minting Dashboard tokens for development and scripts (HS256 configurations only).

In production the platform's own identity provider issues tokens; webhookd only
verifies them (api/auth.py). `webhookd token` and the dev banner use this.
"""

import time
from typing import Any

import jwt

from webhookd.config import Settings
from webhookd.errors import Invalid

MAX_TTL_SECONDS = 365 * 86400
MAX_TENANT_LENGTH = 255


def mint(settings: Settings, tenant: str, ttl_seconds: int, now: float | None = None) -> str:
    """A JWT naming `tenant` in the configured claim, valid for `ttl_seconds`."""
    if settings.jwt_secret is None:
        raise Invalid(
            "Minting tokens needs WEBHOOKD_JWT_SECRET (HS256); this server verifies tokens "
            "from your identity provider instead."
        )
    if not tenant or len(tenant) > MAX_TENANT_LENGTH or not tenant.isprintable():
        raise Invalid(f"tenant must be 1 to {MAX_TENANT_LENGTH} printable characters")
    if not 0 < ttl_seconds <= MAX_TTL_SECONDS:
        raise Invalid("ttl must be between 1 second and 365 days")
    if settings.jwt_max_lifetime and ttl_seconds > settings.jwt_max_lifetime:
        raise Invalid(
            f"ttl is longer than this server accepts (WEBHOOKD_JWT_MAX_LIFETIME, "
            f"{settings.jwt_max_lifetime:g} s): use a shorter ttl, or raise that setting"
        )
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        settings.tenant_claim: tenant,
        "iat": issued,
        "exp": issued + ttl_seconds,
    }
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")
