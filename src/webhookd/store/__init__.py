"""Storage behind one interface (`engine.Store`), chosen by `WEBHOOKD_DATABASE_URL`."""

from webhookd.config import Settings
from webhookd.store.engine import Store


def from_settings(settings: Settings) -> Store:
    """The Store for the configured database (not opened yet)."""
    path = settings.sqlite_path
    if path is not None:
        from webhookd.store.sqlite import SQLiteStore

        return SQLiteStore(path)
    from webhookd.store.postgres import PostgresStore

    return PostgresStore(
        settings.database_url,
        pool_size=settings.database_pool_size,
        schema=settings.database_schema,
    )
