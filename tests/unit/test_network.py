"""The range table, address by address."""

import ipaddress

import pytest

from webhookd.domain import network

CLOSED = network.Policy()
OPEN = network.Policy(allow_private=True)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "127.255.255.254", "0.0.0.0", "10.1.2.3", "172.16.0.1", "172.31.255.255",
        "192.168.1.1", "100.64.0.1", "100.127.255.254", "192.0.0.8", "192.0.2.1", "198.18.0.1",
        "198.51.100.7", "203.0.113.9", "224.0.0.1", "239.255.255.250", "240.0.0.1",
        "255.255.255.255", "::", "::1", "fc00::1", "fd12:3456::1", "fec0::1", "ff02::1",
        "2001:db8::1", "2001::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "100::1",
        "::ffff:10.0.0.1", "::ffff:127.0.0.1", "64:ff9b::7f00:1", "2002:c0a8:101::1",
        "::7f00:1", "64:ff9b:1::1", "::ffff:0:7f00:1", "::ffff:0:a00:1", "::ffff:0:0:7f00:1",
    ],
)  # fmt: skip
def test_blocked_by_default_and_opened_by_allow_private(address: str) -> None:
    ip = ipaddress.ip_address(address)
    assert network.blocked(ip, CLOSED) is not None
    assert network.blocked(ip, OPEN) is None


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254", "169.254.0.1", "fe80::1", "168.63.129.16", "100.100.100.200",
        "fd00:ec2::254", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1",
        "::ffff:0:a9fe:a9fe",
    ],
)  # fmt: skip
def test_always_blocked(address: str) -> None:
    assert network.blocked(ipaddress.ip_address(address), OPEN) is not None


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "2a00:1450::1",
        "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",  # wrappers of public IPv4
    ],
)  # fmt: skip
def test_public_addresses_pass(address: str) -> None:
    assert network.blocked(ipaddress.ip_address(address), CLOSED) is None


def test_allowed_cidrs_open_only_their_range() -> None:
    policy = network.Policy(allowed=network.parse_cidrs("10.1.0.0/16"))
    assert network.blocked(ipaddress.ip_address("10.1.2.3"), policy) is None
    assert network.blocked(ipaddress.ip_address("10.2.0.1"), policy) is not None
    assert network.blocked(ipaddress.ip_address("169.254.169.254"), policy) is not None


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"), ("0x7f000001", "127.0.0.1"), ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"), ("[::1]", "::1"), ("10.0.0.1", "10.0.0.1"),
    ],
)  # fmt: skip
def test_literal_spellings(host: str, address: str) -> None:
    assert network.literal_address(host) == ipaddress.ip_address(address)


@pytest.mark.parametrize("host", ["example.com", "1e100.net", "deadbeef.example", ""])
def test_names_are_not_literals(host: str) -> None:
    assert network.literal_address(host) is None


def test_refusals_read_as_english() -> None:
    why = network.blocked(ipaddress.ip_address("0.0.0.0"), CLOSED)
    assert why is not None
    assert "in an unspecified range" in why
