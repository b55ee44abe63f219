"""Identifiers: a type prefix, then 26 Crockford base32 characters.

The first 10 characters encode the creation time in milliseconds and the last 16
are random (80 bits), like a ULID, so ids sort by creation time: cursor pagination
and "newest first" need nothing more than the id. Secrets are different: they are
`whsec_` + standard base64 of 32 random bytes, the format Standard Webhooks
libraries decode.
"""

import base64
import functools
import os
import secrets
from collections.abc import Callable

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
# Every pair of characters, by the 10 bits they encode: an id is 13 lookups, not 26
# (a publish makes one per subscribed webhook, hundreds at once).
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]
WEBHOOK = "wh"
EVENT = "evt"
DELIVERY = "dlv"
AUDIT = "aud"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret


def new_id(prefix: str, now_ms: int, random_bytes: Callable[[int], bytes] = os.urandom) -> str:
    """A time-ordered id such as `wh_01jx4k3c2v8f7r6n5m4k3j2h1g`: 10 characters of the
    48-bit millisecond time, then 16 of 80 random bits."""
    r = int.from_bytes(random_bytes(10))
    p = _PAIRS
    return (
        f"{prefix}_{_time_part(now_ms)}{p[r >> 70]}{p[r >> 60 & 1023]}{p[r >> 50 & 1023]}"
        f"{p[r >> 40 & 1023]}{p[r >> 30 & 1023]}{p[r >> 20 & 1023]}{p[r >> 10 & 1023]}{p[r & 1023]}"
    )


@functools.lru_cache(maxsize=64)
def _time_part(now_ms: int) -> str:
    """The 48-bit millisecond time as 10 characters (the same for every id of a publish)."""
    t = now_ms & ((1 << 48) - 1)
    p = _PAIRS
    return f"{p[t >> 40]}{p[t >> 30 & 1023]}{p[t >> 20 & 1023]}{p[t >> 10 & 1023]}{p[t & 1023]}"


def new_secret(random_bytes: Callable[[int], bytes] = secrets.token_bytes) -> str:
    """A signing secret: `whsec_` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(random_bytes(32)).decode("ascii")


def is_valid(value: str, prefix: str) -> bool:
    """Whether `value` could be an id of the given type (a check before any lookup)."""
    body = value.removeprefix(prefix + "_")
    return len(body) == 26 and len(value) == len(prefix) + 27 and all(c in _ALPHABET for c in body)
