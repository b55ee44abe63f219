"""The sender turns every outcome into a result: it never raises, never stalls a delivery."""

from collections.abc import AsyncIterator

import pytest

from tests.conftest import WAIT, Receiver
from webhookd.delivery.sender import Sender
from webhookd.domain import network
from webhookd.testing import free_port


@pytest.fixture
async def sender() -> AsyncIterator[Sender]:
    sender = Sender(timeout=WAIT, policy=network.Policy(allow_private=True))
    await sender.start()
    yield sender
    await sender.close()


async def test_a_url_the_http_stack_cannot_use_is_a_failed_attempt(sender: Sender) -> None:
    result = await sender.post("http://a..b/hook", b"{}", {})
    assert result.http_status is None
    assert result.error is not None
    assert "could not resolve a..b" in result.error


async def test_refused_connection_says_so_in_words(sender: Sender) -> None:
    result = await sender.post(f"http://127.0.0.1:{free_port()}/", b"{}", {})
    assert result.error is not None
    assert result.error.endswith("(Connection refused)")


async def test_answer_status_excerpt_and_retry_after(sender: Sender) -> None:
    with Receiver(lambda _: (429, b"slow down", {"Retry-After": "7"})) as receiver:
        result = await sender.post(receiver.url, b'{"a":1}', {"X-Test": "1"})
        [request] = receiver.requests
    assert (result.http_status, result.response_excerpt, result.retry_after) == (
        429,
        "slow down",
        "7",
    )
    assert request.body == b'{"a":1}'
    assert request.headers["x-test"] == "1"
    assert request.headers["accept-encoding"] == "identity"


async def test_an_answer_with_nul_bytes_is_kept_as_storable_text(sender: Sender) -> None:
    """PostgreSQL text cannot hold U+0000: a receiver's NUL must not make its attempt (and
    every other result settled with it) impossible to record."""
    with Receiver(lambda _: (500, b"oops\x00\x00 tail")) as receiver:
        result = await sender.post(receiver.url, b"{}", {})
    assert result.response_excerpt == "oops\ufffd\ufffd tail"
