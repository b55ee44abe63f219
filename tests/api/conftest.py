"""Fixtures for API tests that run on both engines."""

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import postgres
from tests.conftest import AppFactory

pg_schema = postgres.pg_schema
Start = Callable[..., TestClient]


@pytest.fixture(params=["sqlite", "postgres"])
def start(request: pytest.FixtureRequest, app_factory: AppFactory) -> Start:
    """`app_factory` on the engine of the test's parameter."""
    if request.param == "sqlite":
        return app_factory
    schema = request.getfixturevalue("pg_schema")

    def on_postgres(**overrides: Any) -> TestClient:
        return app_factory(database_url=postgres.URL, database_schema=schema, **overrides)

    return on_postgres
