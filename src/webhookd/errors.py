"""The exceptions webhookd raises, all under one root.

    WebhookdError          anything webhookd raises on purpose
    ├── Invalid            the input breaks a rule (HTTP 400)
    ├── Unauthenticated    no, or a bad, credential (HTTP 401)
    ├── NotFound           no such thing for this tenant (HTTP 404, never 403)
    ├── Conflict           the state forbids it (HTTP 409)
    ├── Throttled          too many requests; retry after a while (HTTP 429)
    ├── Blocked            a destination refused by policy (HTTP 400)
    └── Unavailable        a dependency is down; retry later (HTTP 503)

The core raises these; `api/responses.py` alone turns them into HTTP answers.
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


class Throttled(WebhookdError):
    """Too many requests for this tenant or key; `retry_after` seconds until the next."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Blocked(WebhookdError):
    """A destination is refused by the network policy."""


class Unavailable(WebhookdError):
    """A dependency (the database) cannot be reached right now."""
