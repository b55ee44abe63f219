"""Signatures a receiver checks.

The seed's header: `X-PacSpace-Signature: sha256=<hex HMAC-SHA256>`, keyed by the
whole secret string (`whsec_...`) as UTF-8, over the exact body bytes sent.
"""

import hashlib
import hmac

SIGNATURE_HEADER = "X-PacSpace-Signature"


def sign(secret: str, body: bytes) -> str:
    """The `X-PacSpace-Signature` value for `body`."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, body: bytes, signature: str) -> bool:
    """Constant-time check of an `X-PacSpace-Signature` value."""
    return hmac.compare_digest(sign(secret, body).encode(), signature.encode("utf-8", "replace"))


def delivery_headers(
    *,
    secret: str,
    body: bytes,
    delivery_id: str,
    event_type: str,
    timestamp_s: int,
    user_agent: str,
) -> dict[str, str]:
    """Every header a delivery carries. The same delivery id is sent on every retry."""
    return {
        "Content-Type": "application/json",
        "User-Agent": user_agent,
        "X-PacSpace-Event": event_type,
        "X-PacSpace-Delivery": delivery_id,
        "X-PacSpace-Timestamp": str(timestamp_s),
        SIGNATURE_HEADER: sign(secret, body),
    }
