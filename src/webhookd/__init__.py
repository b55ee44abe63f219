"""webhookd: webhook management and delivery service."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("webhookd")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["__version__"]
