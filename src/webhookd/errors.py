"""The exceptions webhookd raises, all under one root.

    WebhookdError          anything webhookd raises on purpose
    ├── Invalid            the input breaks a rule (HTTP 400)
    ├── Unauthenticated    no, or a bad, credential (HTTP 401)
    ├── NotFound           no such thing for this tenant (HTTP 404, never 403)
    ├── Conflict           the state forbids it (HTTP 409)
    │   └── KeyReused      an idempotency key already names other content; which item
    ├── Blocked            a destination refused by policy (HTTP 400)
    ├── Unavailable        a dependency is down; retry later (HTTP 503)
    └── WebhookVerificationError   (also a ValueError) a receiver's check of a delivery
        ├── MissingSignature         no signature header, or one of its companions missing
        ├── BadSignature             no signature matches any given secret, or it is malformed
        ├── TimestampOutOfTolerance  `webhook-timestamp` too old or too far in the future
        └── InvalidPayload           signed correctly, but the body is not a JSON object

The core raises the first six; `api/responses.py` alone turns them into HTTP answers.
The verification errors are raised on the receiving side only, by `webhookd.verify`.
Messages are written for the person who sent the request: say what is wrong and
what to do next, and never include a secret.
"""


class WebhookdError(Exception):
    """Root of every exception webhookd raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Invalid(WebhookdError):
    """The input breaks a validation rule."""


class Unauthenticated(WebhookdError):
    """The request carries no valid credential."""


class NotFound(WebhookdError):
    """The thing does not exist, or belongs to another tenant."""


class Conflict(WebhookdError):
    """The current state does not allow the operation."""


class KeyReused(Conflict):
    """An idempotency key names an earlier event with other content. `index`: the
    publish's item it was given with (0 for a single event), so a batch can name it."""

    def __init__(self, index: int, window_ms: int) -> None:
        hours = window_ms / 3_600_000
        window = f"{hours:g} h" if hours >= 1 else f"{window_ms / 1000:g} s"
        super().__init__(
            f"This idempotency key was used in the last {window} for a different event or "
            "data; send a new key for a new event."
        )
        self.index = index


class Blocked(WebhookdError):
    """A destination is refused by the network policy."""


class Unavailable(WebhookdError):
    """A dependency (the database) cannot be reached right now."""


class WebhookVerificationError(WebhookdError, ValueError):
    """A delivery failed `webhookd.verify`: answer it 401 and do not act on it."""


class MissingSignature(WebhookVerificationError):
    """No signature header, or a Standard Webhooks signature without its id or timestamp."""


class BadSignature(WebhookVerificationError):
    """No signature matches any of the secrets given, or a header is malformed."""


class TimestampOutOfTolerance(WebhookVerificationError):
    """`webhook-timestamp` is further from now than the tolerance: stale, replayed or skewed."""


class InvalidPayload(WebhookVerificationError):
    """The signature is good but the body is not a JSON object."""
