"""httpx for the processes a test starts on 127.0.0.1, with the suite's generous timeout:
httpx's own default (5 s) is short for a server on a loaded machine. Tests import it as
`httpx`; anything else they need from httpx, add here."""

from typing import Any

import httpx2
from httpx2 import Response, TransportError

from tests.conftest import WAIT

__all__ = ["Client", "Response", "TransportError", "get", "patch", "post"]


def get(url: str, **kwargs: Any) -> Response:
    return httpx2.get(url, **{"timeout": WAIT, **kwargs})


def post(url: str, **kwargs: Any) -> Response:
    return httpx2.post(url, **{"timeout": WAIT, **kwargs})


def patch(url: str, **kwargs: Any) -> Response:
    return httpx2.patch(url, **{"timeout": WAIT, **kwargs})


def Client(**kwargs: Any) -> httpx2.Client:  # named as the class it stands in for
    return httpx2.Client(**{"timeout": WAIT, **kwargs})
