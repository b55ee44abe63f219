"""Storage behind one interface (`base.Store`), chosen by `WEBHOOKD_DATABASE_URL`."""

from webhookd.config import Settings
from webhookd.errors import Invalid
from webhookd.store.base import Store


def from_settings(settings: Settings) -> Store:
    """The Store for the configured database (not opened yet)."""
    path = settings.sqlite_path
    if path is not None:
        from webhookd.store.sqlite import SQLiteStore

        return SQLiteStore(path)
    raise Invalid(
        "PostgreSQL is not supported by this version yet; use a sqlite:/// WEBHOOKD_DATABASE_URL"
    )
