"""One test body for both clients: `Either` calls a sync client's method as it is and
awaits an async client's, so a scenario runs, unchanged, against each."""

import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from webhookd.client import AsyncClient, AsyncDashboardClient, Client, DashboardClient

FLAVORS = ["sync", "async"]


class Either:
    def __init__(self, client: Any) -> None:
        self.client = client

    async def __call__(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """`client.name(*args, **kwargs)`'s value; an iterator's items as a list."""
        result = getattr(self.client, name)(*args, **kwargs)
        if inspect.isawaitable(result):
            return await result
        if isinstance(result, AsyncIterator):
            return [item async for item in result]
        if isinstance(result, Iterator):
            return list(result)
        return result

    async def close(self) -> None:
        if isinstance(self.client, AsyncClient | AsyncDashboardClient):
            await self.client.aclose()
        else:
            self.client.close()


def dashboard(flavor: str, base: str, token: Any, **options: Any) -> Either:
    kind: Callable[..., Any] = DashboardClient if flavor == "sync" else AsyncDashboardClient
    return Either(kind(base, token, **options))


def publisher(flavor: str, base: str, key: str, **options: Any) -> Either:
    kind: Callable[..., Any] = Client if flavor == "sync" else AsyncClient
    return Either(kind(base, key, **options))
