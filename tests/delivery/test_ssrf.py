"""The SSRF guard: a loopback canary that must never see a connection it was not meant to."""

import ipaddress
from collections.abc import Awaitable, Callable, Iterator

import pytest

from tests.conftest import Receiver
from webhookd.delivery.sender import Sender
from webhookd.domain import network

Lookup = Callable[[str, int], Awaitable[list[str]]]


def answers(*addresses: str) -> Lookup:
    async def lookup(host: str, port: int) -> list[str]:
        return list(addresses)

    return lookup


async def failing(host: str, port: int) -> list[str]:
    raise OSError("Name or service not known")


@pytest.fixture
def canary() -> Iterator[Receiver]:
    with Receiver() as receiver:
        yield receiver


async def send(url: str, policy: network.Policy, lookup: Lookup | None = None) -> str:
    sender = Sender(2.0, policy, lookup=lookup or answers("127.0.0.1"))
    await sender.start()
    try:
        result = await sender.post(url, b"{}", {})
    finally:
        await sender.close()
    assert result.http_status is None
    assert result.error is not None
    return result.error


def port_of(receiver: Receiver) -> int:
    return int(receiver.url.split(":")[2].split("/")[0])


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "2130706433",
        "0x7f000001",
        "0177.0.0.1",
        "127.1",
        "[::ffff:127.0.0.1]",
        "localhost",
    ],
)
async def test_loopback_in_any_spelling_is_blocked(canary: Receiver, host: str) -> None:
    error = await send(f"http://{host}:{port_of(canary)}/hook", network.Policy())
    assert error.startswith("blocked:")
    assert canary.requests == []


async def test_a_name_that_resolves_to_loopback_is_blocked(canary: Receiver) -> None:
    url = f"http://rebinding.example:{port_of(canary)}/hook"
    error = await send(url, network.Policy(), answers("127.0.0.1"))
    assert error.startswith("blocked: rebinding.example resolves to 127.0.0.1 is in a loopback")
    assert canary.requests == []


async def test_one_private_answer_among_public_ones_blocks_all(canary: Receiver) -> None:
    lookup = answers("93.184.216.34", "10.0.0.5", "127.0.0.1")
    error = await send(f"http://mixed.example:{port_of(canary)}/", network.Policy(), lookup)
    assert "10.0.0.5 is in a private range" in error
    assert canary.requests == []


async def test_a_failed_lookup_fails_closed(canary: Receiver) -> None:
    error = await send(f"http://nowhere.example:{port_of(canary)}/", network.Policy(), failing)
    assert "could not resolve nowhere.example" in error
    assert canary.requests == []


@pytest.mark.parametrize(
    ("url", "lookup"),
    [
        ("http://169.254.169.254/latest/meta-data/", None),
        ("http://metadata.example/", answers("169.254.169.254")),
        ("http://[fe80::1]/", None),
        ("http://nat64.example/", answers("64:ff9b::a9fe:a9fe")),
        ("http://[fd00:ec2::254]/", None),
    ],
)
async def test_metadata_and_link_local_stay_blocked_when_private_is_allowed(
    url: str, lookup: Lookup | None
) -> None:
    error = await send(url, network.Policy(allow_private=True), lookup)
    assert "never allowed" in error


async def test_allowed_cidrs_open_exactly_what_they_say(canary: Receiver) -> None:
    policy = network.Policy(allowed=(ipaddress.ip_network("127.0.0.0/8"),))
    sender = Sender(2.0, policy, lookup=answers("127.0.0.1"))
    await sender.start()
    try:
        ok = await sender.post(f"http://internal.example:{port_of(canary)}/", b"{}", {})
        refused = await sender.post(f"http://[::1]:{port_of(canary)}/", b"{}", {})
    finally:
        await sender.close()
    assert ok.http_status == 200
    assert len(canary.requests) == 1
    assert canary.requests[0].headers["host"] == f"internal.example:{port_of(canary)}"
    assert refused.error is not None
    assert refused.error.startswith("blocked:")


async def test_https_can_be_required(canary: Receiver) -> None:
    policy = network.Policy(allow_private=True, require_https=True)
    error = await send(canary.url, policy)
    assert "https is required" in error
    assert canary.requests == []


async def test_proxy_variables_are_ignored(
    canary: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port_of(canary)}")
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{port_of(canary)}")
    with Receiver() as target:
        sender = Sender(2.0, network.Policy(allow_private=True))
        await sender.start()
        try:
            result = await sender.post(target.url, b"{}", {})
        finally:
            await sender.close()
    assert result.http_status == 200
    assert canary.requests == []
