"""An application's own PostgreSQL database for the producer outbox tests: a fresh
database per test (the outbox's schema has a fixed name, webhookd_outbox, so tests
running side by side cannot share one), dropped afterwards."""

import asyncio
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests import postgres
from webhookd.outbox import schema

pg_schema = postgres.pg_schema


def database_url(name: str) -> str:
    return urlunsplit(urlsplit(postgres.URL)._replace(path=f"/{name}"))


@pytest.fixture
def app_db() -> Iterator[str]:
    """The URL of an empty database of the application's, without the outbox."""
    postgres.require()
    name = f"webhookd_app_{secrets.token_hex(5)}"
    postgres.admin(f"CREATE DATABASE {name}")
    try:
        yield database_url(name)
    finally:
        postgres.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def outbox_db(app_db: str) -> str:
    """The URL of an application's database with the outbox installed."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, schema.install(app_db)).result()
    return app_db
