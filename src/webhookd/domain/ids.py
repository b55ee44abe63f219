"""Identifiers: a type prefix, then 26 Crockford base32 characters.

The first 10 characters encode the creation time in milliseconds and the last 16
are random (80 bits), like a ULID, so ids sort by creation time: cursor pagination
and "newest first" need nothing more than the id. Ids made together in one millisecond
(a batch's events and deliveries) come from `ascending`, so they sort in the order they
were made too. Secrets are different: they are
`whsec_` + standard base64 of 32 random bytes, the format Standard Webhooks
libraries decode.
"""

import base64
import secrets
from collections.abc import Callable

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
WEBHOOK = "wh"
EVENT = "evt"
DELIVERY = "dlv"
AUDIT = "aud"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret


def new_id(
    prefix: str, now_ms: int, random_bytes: Callable[[int], bytes] = secrets.token_bytes
) -> str:
    """A time-ordered id such as `wh_01jx4k3c2v8f7r6n5m4k3j2h1g`."""
    return _encode(prefix, _time_bits(now_ms) | int.from_bytes(random_bytes(10), "big"))


def ascending(
    prefix: str, random_bytes: Callable[[int], bytes] = secrets.token_bytes
) -> Callable[[int], str]:
    """A maker of ids that sort in the order it makes them, so items made together keep
    their order (a batch's events, their deliveries). Each is a fresh id, or, when that
    would not sort after the last one (the same millisecond), the last one plus a random
    step of 1 to 2^32: ids stay unpredictable. Random parts start below 2^79, so steps
    never carry into the time bits."""
    last = -1

    def make(now_ms: int) -> str:
        nonlocal last
        drawn = random_bytes(14)  # one draw: a batch makes a thousand of these
        step = 1 + int.from_bytes(drawn[10:], "big")
        fresh = _time_bits(now_ms) | int.from_bytes(drawn[:10], "big") >> 1
        last = max(fresh, last + step)
        return _encode(prefix, last)

    return make


def least(prefix: str, now_ms: int) -> str:
    """The least id of type `prefix` made at `now_ms`: every id made then or later (by
    `new_id`, `ascending` or `after`, which only ever move up) sorts at or after it."""
    return _encode(prefix, _time_bits(now_ms))


def after(last: str | None, made: str) -> str:
    """`made`, or when it does not sort after `last` (an id of the same type), `last`
    plus a random step of 1 to 2^32: the next id of a sequence that must keep its order
    whatever the clock says."""
    if last is None or made > last:
        return made
    prefix, _, body = last.partition("_")
    step = 1 + int.from_bytes(secrets.token_bytes(4), "big")
    return _encode(prefix, _decode(body) + step)


def _decode(body: str) -> int:
    value = 0
    for char in body:
        value = value * 32 + _ALPHABET.index(char)
    return value


def _time_bits(now_ms: int) -> int:
    return (now_ms & ((1 << 48) - 1)) << 80


_PAIRS = [first + second for first in _ALPHABET for second in _ALPHABET]  # 10 bits each


def _encode(prefix: str, value: int) -> str:
    pairs = []
    for _ in range(13):  # 26 characters, two at a time (a third of the time of one by one)
        pairs.append(_PAIRS[value & 1023])
        value >>= 10
    return f"{prefix}_{''.join(reversed(pairs))}"


def new_secret(random_bytes: Callable[[int], bytes] = secrets.token_bytes) -> str:
    """A signing secret: `whsec_` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(random_bytes(32)).decode("ascii")


def is_valid(value: str, prefix: str) -> bool:
    """Whether `value` could be an id of the given type (a check before any lookup)."""
    body = value.removeprefix(prefix + "_")
    return len(body) == 26 and len(value) == len(prefix) + 27 and all(c in _ALPHABET for c in body)
