"""Which addresses webhookd may send to: the SSRF policy, from an explicit range table.

A webhook sender POSTs wherever a tenant points it, from inside the platform's
network. Every address a URL resolves to is checked here before a connection is
made. Python's `is_private`/`is_global` are not used: they miss ranges (CGNAT,
benchmarking, NAT64, 6to4, Teredo) and change between versions. The table is this
module's, written out.

- Always blocked, whatever is configured: link-local (which holds cloud metadata at
  169.254.169.254) and the other known metadata addresses.
- Blocked unless `WEBHOOKD_ALLOW_PRIVATE_NETWORKS` or `WEBHOOKD_ALLOWED_CIDRS` opens
  them: loopback, private, shared (CGNAT), reserved, documentation, multicast and
  unspecified ranges.
- IPv6 forms that carry an IPv4 address (IPv4-mapped, IPv4-translated, IPv4-compatible,
  NAT64, 6to4)
  are judged by the IPv4 address inside as well; Teredo is blocked outright.
"""

import ipaddress
import socket
from dataclasses import dataclass

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _nets(*cidrs: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(cidr) for cidr in cidrs)


ALWAYS_BLOCKED: dict[str, tuple[Network, ...]] = {
    "link-local (cloud metadata)": _nets("169.254.0.0/16", "fe80::/10"),
    "cloud metadata": _nets(
        "168.63.129.16/32",  # Azure host services
        "100.100.100.200/32",  # Alibaba Cloud metadata
        "fd00:ec2::254/128",  # AWS metadata over IPv6
    ),
}
BLOCKED: dict[str, tuple[Network, ...]] = {
    "loopback": _nets("127.0.0.0/8", "::1/128"),
    "unspecified": _nets("0.0.0.0/8", "::/128"),
    "private": _nets("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "fec0::/10"),
    "shared address space (CGNAT)": _nets("100.64.0.0/10"),
    "reserved": _nets(
        "192.0.0.0/24",
        "192.88.99.0/24",
        "198.18.0.0/15",
        "240.0.0.0/4",
        "100::/64",
        "2001:10::/28",
        "2001:20::/28",
        "64:ff9b:1::/48",
        "::/8",  # IETF-reserved; its wrappers of IPv4 are judged by the address inside
    ),
    "documentation": _nets(
        "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", "3fff::/20"
    ),
    "multicast": _nets("224.0.0.0/4", "ff00::/8"),
    "Teredo tunnel": _nets("2001::/32"),
}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
_COMPATIBLE = ipaddress.ip_network("::/96")
_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # SIIT, RFC 2765


@dataclass(frozen=True, slots=True)
class Policy:
    allow_private: bool = False
    allowed: tuple[Network, ...] = ()
    require_https: bool = False


def parse_cidrs(spec: str) -> tuple[Network, ...]:
    """`WEBHOOKD_ALLOWED_CIDRS`: comma-separated networks such as 10.1.2.0/24."""
    try:
        return tuple(ipaddress.ip_network(p.strip()) for p in spec.split(",") if p.strip())
    except ValueError as exc:
        raise ValueError(f"not a list of networks ({exc})") from None


def embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, translated, compatible, NAT64,
    6to4)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or address in _TRANSLATED or (address in _COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _category(address: Address, table: dict[str, tuple[Network, ...]]) -> str | None:
    for name, networks in table.items():
        if any(address.version == net.version and address in net for net in networks):
            return name
    return None


def blocked(address: Address, policy: Policy) -> str | None:
    """Why `address` may not be contacted under `policy`, or None when it may."""
    inner = embedded_ipv4(address)
    for candidate in (address, inner):
        if candidate is None:
            continue
        always = _category(candidate, ALWAYS_BLOCKED)
        if always is not None:
            return f"{address} is in {_a(always)} range, which is never allowed"
    opened = policy.allow_private or any(
        address.version == net.version and address in net for net in policy.allowed
    )
    # An address that wraps an IPv4 address is judged by that address: the wrapper's own
    # range (::/8, 2002::/16, 64:ff9b::/96) says nothing about where packets go.
    candidate = address if inner is None else inner
    category = None if opened else _category(candidate, BLOCKED)
    if category is not None:
        return (
            f"{address} is in {_a(category)} range; allow it with "
            "WEBHOOKD_ALLOWED_CIDRS if it is yours"
        )
    return None


def _a(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def literal_address(host: str) -> Address | None:
    """The address a URL host spells out, including legacy IPv4 forms (127.1, 0x7f000001,
    2130706433, 0177.0.0.1) and a trailing dot (127.0.0.1.), or None for a DNS name."""
    text = host.strip("[]")
    if text.endswith(".") and not text.endswith(".."):
        text = text[:-1]  # "127.0.0.1." is the same address, written as a rooted name
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if text and all(c in "0123456789abcdefxABCDEFX." for c in text) and text[0].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None
