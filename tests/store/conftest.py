"""The store contract suite runs unchanged against every engine."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests import postgres
from webhookd.store.engine import Store
from webhookd.store.postgres import PostgresStore
from webhookd.store.sqlite import SQLiteStore

pg_schema, pg_migrated, _migrated_schema = (
    postgres.pg_schema,
    postgres.pg_migrated,
    postgres._migrated_schema,
)


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    engine: Store
    if request.param == "sqlite":
        engine = SQLiteStore(tmp_path / "contract.db")
    else:
        schema = request.getfixturevalue("pg_migrated")  # closed before it is emptied
        engine = PostgresStore(postgres.URL, schema=schema, pool_size=4)
    await engine.open()
    yield engine
    await engine.close()
