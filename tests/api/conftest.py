"""Fixtures for API tests that run on both engines."""

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import postgres
from tests.conftest import AppFactory

pg_migrated, _migrated_schema = postgres.pg_migrated, postgres._migrated_schema
Start = Callable[..., TestClient]


@pytest.fixture(params=["sqlite", "postgres"])
def start(request: pytest.FixtureRequest) -> Start:
    """`app_factory` on the engine of the test's parameter."""
    if request.param == "sqlite":
        factory: AppFactory = request.getfixturevalue("app_factory")
        return factory
    # The schema first: it is emptied after the apps on it have stopped.
    schema = request.getfixturevalue("pg_migrated")
    app_factory: AppFactory = request.getfixturevalue("app_factory")

    def on_postgres(**overrides: Any) -> TestClient:
        return app_factory(database_url=postgres.URL, database_schema=schema, **overrides)

    return on_postgres
