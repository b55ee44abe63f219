"""What a webhook URL must look like before webhookd will store it."""

import ipaddress
import re
from urllib.parse import urlsplit

import yarl

MAX_URL_LENGTH = 2048


def check(url: str) -> None:
    """Raise ValueError, saying what is wrong, unless `url` is an absolute http(s) URL."""
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"url must be at most {MAX_URL_LENGTH} characters")
    if not url.isascii() or not url.isprintable() or any(ch.isspace() for ch in url):
        raise ValueError(
            "url must be ASCII without spaces or control characters; "
            "percent-encode other characters and write international domains in punycode"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
        sent = yarl.URL(url)  # how the sender will read it
    except ValueError as exc:
        raise ValueError(f"url is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError("url must be an absolute http:// or https:// URL")
    if not parts.hostname:
        raise ValueError("url must name a host, as in https://your-app.com/webhooks")
    _check_authority(parts.netloc, parts.hostname, sent.raw_host)
    if port == 0:
        raise ValueError("url must not use port 0")
    if parts.fragment:
        raise ValueError("url must not contain a #fragment (it is never sent to the server)")


def _check_authority(netloc: str, host: str, host_as_sent: str | None) -> None:
    if "@" in netloc:
        raise ValueError(
            "url must not contain credentials (user:password@): they would be stored and "
            "shown in plain text; authenticate deliveries by their signature instead"
        )
    if "[" in netloc and not _is_ipv6(host):
        raise ValueError("url may put only an IPv6 address in [brackets]")
    _check_host(host)
    if host_as_sent is None or _normal(host_as_sent) != _normal(host):
        raise ValueError("url is ambiguous: its host reads differently to different parsers")


def _check_host(host: str) -> None:
    """A DNS name of non-empty labels (letters, digits, hyphens), or an IP address."""
    try:
        ipaddress.ip_address(host)
        return
    except ValueError:
        pass
    labels = (host[:-1] if host.endswith(".") else host).split(".")  # one root dot at most
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise ValueError(f"url host {host[:100]!r} is not a valid host name")


def _is_ipv6(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 6
    except ValueError:
        return False


def _normal(host: str) -> str:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host.lower()


_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)", re.IGNORECASE)
