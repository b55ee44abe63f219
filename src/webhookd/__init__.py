"""webhookd: webhook management and delivery service.

For receivers: `from webhookd import verify` checks a delivery's signature and returns
its payload; every way it can fail is a `WebhookVerificationError` (a `ValueError`).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("webhookd")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

from webhookd.errors import (  # after __version__, which submodules import
    BadSignature,
    InvalidPayload,
    MissingSignature,
    TimestampOutOfTolerance,
    WebhookVerificationError,
)
from webhookd.receiving import verify

__all__ = [
    "BadSignature",
    "InvalidPayload",
    "MissingSignature",
    "TimestampOutOfTolerance",
    "WebhookVerificationError",
    "__version__",
    "verify",
]
