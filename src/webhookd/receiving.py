"""`webhookd.verify`: check a delivery on the receiving side, then hand back its payload.

Two signature schemes arrive on every delivery (see `domain/signing.py`):

- Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`). It binds
  the timestamp, so it also stops replays. When `webhook-signature` is present it
  decides: its signature must match and its timestamp must be within the tolerance.
- The seed's `X-PacSpace-Signature`. It covers no timestamp, so on its own it cannot
  stop a replay: it is accepted alone only with `allow_seed_only=True` (a sender that
  implements only the seed's contract). webhookd always sends both.

Secrets can be one string or several (during a rotation): any one matching passes.
"""

import binascii
import hmac
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from webhookd.domain import signing
from webhookd.errors import (
    BadSignature,
    InvalidPayload,
    MissingSignature,
    TimestampOutOfTolerance,
)

DEFAULT_TOLERANCE = timedelta(minutes=5)
SEED = "X-PacSpace-Signature"
STANDARD = "Standard Webhooks"


def verify(
    body: bytes,
    headers: Mapping[str, str],
    secret: str | Sequence[str],
    *,
    tolerance: timedelta = DEFAULT_TOLERANCE,
    now: datetime | None = None,
    allow_seed_only: bool = False,
) -> dict[str, Any]:
    """The delivery's JSON payload, once a signature on the raw `body` matches a secret.

    `headers` may use any case. `now` (an aware datetime) is for tests.

    Raises a `webhookd.errors.WebhookVerificationError` (a `ValueError`):
    `MissingSignature`, `BadSignature`, `TimestampOutOfTolerance` or `InvalidPayload`.
    """
    check_signature(
        body, headers, secret, tolerance=tolerance, now=now, allow_seed_only=allow_seed_only
    )
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        payload = None
    if not isinstance(payload, dict):
        raise InvalidPayload("the body is signed but is not a JSON object")
    return payload


def check_signature(
    body: bytes,
    headers: Mapping[str, str],
    secret: str | Sequence[str],
    *,
    tolerance: timedelta = DEFAULT_TOLERANCE,
    now: datetime | None = None,
    allow_seed_only: bool = False,
) -> str:
    """Check the signature only (not the payload); the name of the scheme that passed."""
    if not isinstance(body, bytes | bytearray | memoryview):
        raise TypeError(
            "pass the raw request body as bytes (FastAPI: await request.body(), "
            "Flask: request.get_data(), Django: request.body)"
        )
    secrets = [secret] if isinstance(secret, str) else list(secret)
    if not secrets or not all(isinstance(s, str) and s for s in secrets):
        raise TypeError("secret must be a whsec_… string or a non-empty list of them")
    raw = bytes(body)
    lowered = {name.lower(): value for name, value in headers.items()}
    if "webhook-signature" in lowered:
        _check_standard(raw, lowered, secrets, tolerance, now or datetime.now(UTC))
        return STANDARD
    seed = lowered.get(SEED.lower())
    if seed is None:
        raise MissingSignature(
            f"no {SEED} or webhook-signature header: is this request from webhookd? "
            "If it is, check that a proxy in front of you does not drop these headers"
        )
    if not allow_seed_only:
        # webhookd always sends both. A request with only the seed's header was stripped
        # of its timestamp binding: it could be a delivery captured and replayed.
        raise MissingSignature(
            f"{SEED} came without webhook-signature, so its age cannot be checked (a "
            "replay?); pass allow_seed_only=True only for a sender that sends no "
            "webhook-signature"
        )
    if not any(signing.verify(key, raw, seed.strip()) for key in secrets):
        raise BadSignature(_MISMATCH.format(header=SEED))
    return SEED


_MISMATCH = (
    "{header} does not match: check the secret (the whsec_… string the webhook was created "
    "with, or the new one after a rotation) and that you pass the raw request body, not "
    "re-serialized JSON"
)


def _check_standard(
    body: bytes, headers: dict[str, str], secrets: list[str], tolerance: timedelta, now: datetime
) -> None:
    missing = [name for name in ("webhook-id", "webhook-timestamp") if not headers.get(name)]
    if missing:
        raise MissingSignature(
            f"webhook-signature came without {' and '.join(missing)}: "
            "pass every request header to verify, not only the signature"
        )
    delivery_id, stamp = headers["webhook-id"], headers["webhook-timestamp"].strip()
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
        raise BadSignature(f"webhook-timestamp {stamp[:20]!r} is not Unix seconds")
    age = now.timestamp() - int(stamp)
    if abs(age) > tolerance.total_seconds():
        when = f"{age:.0f} s old" if age > 0 else f"{-age:.0f} s in the future"
        raise TimestampOutOfTolerance(
            f"webhook-timestamp is {when}, outside the tolerance of "
            f"{tolerance.total_seconds():.0f} s: a replayed delivery, or a clock off; "
            "check this machine's clock (NTP)"
        )
    given = [part.encode() for part in headers["webhook-signature"].split() if part.isascii()]
    for key in secrets:
        try:
            expected = signing.standard_signature(key, delivery_id, int(stamp), body).encode()
        except (binascii.Error, ValueError):
            continue  # not base64 after whsec_: cannot be a Standard Webhooks secret
        if any(hmac.compare_digest(expected, candidate) for candidate in given):
            return
    raise BadSignature(_MISMATCH.format(header="webhook-signature"))
