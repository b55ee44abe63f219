"""What sending needs, shared by the worker's deliveries and the service's test sends:
the Transport port (the guarded HTTP client implements it, `delivery/sender.py`), the
signed headers of one attempt, a webhook's secrets opened, and the retry jitter.
Neither the use cases nor the worker own these, so both import them from here.
"""

import random
from collections.abc import Mapping
from typing import Protocol

from webhookd import __version__
from webhookd.domain import signing
from webhookd.domain.models import OldSecret, SendResult
from webhookd.sealing import Sealer

USER_AGENT = f"webhookd/{__version__}"


class Transport(Protocol):
    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult: ...


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
