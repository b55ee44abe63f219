"""The store contract suite runs unchanged against every engine in ENGINES."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from webhookd.store.base import Store
from webhookd.store.sqlite import SQLiteStore

ENGINES = ["sqlite"]  # PostgreSQL joins here with its engine


@pytest.fixture(params=ENGINES)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    engine: Store = SQLiteStore(tmp_path / "contract.db")
    await engine.open()
    yield engine
    await engine.close()
