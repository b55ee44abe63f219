"""The browser test starts `webhookd serve` the way the end-to-end tests do."""

from tests.e2e.conftest import serve, spawn

__all__ = ["serve", "spawn"]
