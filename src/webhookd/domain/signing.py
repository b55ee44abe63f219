"""Signatures a receiver checks. Two schemes on every delivery:

- the seed's `X-PacSpace-Signature: sha256=<hex HMAC-SHA256>`, keyed by the whole
  secret string (`whsec_...`) as UTF-8, over the exact body bytes sent;
- Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`):
  `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` keyed by the base64-decoded part of
  the secret after `whsec_`, so the official libraries verify it. It carries one
  signature per valid secret (space-separated) while a rotated secret is in its grace
  period; it also binds the timestamp, so a captured delivery cannot be replayed later.
"""

import base64
import hashlib
import hmac
from collections.abc import Sequence

SIGNATURE_HEADER = "X-PacSpace-Signature"


def sign(secret: str, body: bytes) -> str:
    """The `X-PacSpace-Signature` value for `body`."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, body: bytes, signature: str) -> bool:
    """Constant-time check of an `X-PacSpace-Signature` value."""
    return hmac.compare_digest(sign(secret, body).encode(), signature.encode("utf-8", "replace"))


def standard_signature(secret: str, delivery_id: str, timestamp_s: int, body: bytes) -> str:
    """One `v1,<base64>` Standard Webhooks signature."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    message = f"{delivery_id}.{timestamp_s}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def delivery_headers(
    *,
    secrets: Sequence[str],
    body: bytes,
    delivery_id: str,
    event_type: str,
    timestamp_s: int,
    user_agent: str,
) -> dict[str, str]:
    """Every header a delivery carries; `secrets` newest first (the seed's uses the newest).
    The same delivery id is sent on every retry."""
    return {
        "Content-Type": "application/json",
        "User-Agent": user_agent,
        "X-PacSpace-Event": event_type,
        "X-PacSpace-Delivery": delivery_id,
        "X-PacSpace-Timestamp": str(timestamp_s),
        SIGNATURE_HEADER: sign(secrets[0], body),
        "webhook-id": delivery_id,
        "webhook-timestamp": str(timestamp_s),
        "webhook-signature": " ".join(
            standard_signature(secret, delivery_id, timestamp_s, body) for secret in secrets
        ),
    }
