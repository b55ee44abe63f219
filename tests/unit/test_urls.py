"""Which webhook URLs are accepted at creation."""

import pytest

from webhookd.domain import urls


@pytest.mark.parametrize(
    "url",
    [
        "https://your-app.com/webhooks/pacspace",
        "http://127.0.0.1:9000/hook?x=1",
        "https://example.com:8443/a%20b@c",
        "https://[2001:db8::1]/x",
        "https://xn--bcher-kva.example/",
        "https://e.com/" + "a" * (2048 - 14),
    ],
)
def test_accepted(url: str) -> None:
    urls.check(url)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("", "http"),
        ("example.com/hook", "http"),
        ("//example.com/hook", "http"),
        ("ftp://example.com", "http"),
        ("javascript:alert(1)", "http"),
        ("https://", "host"),
        ("https://:443/x", "host"),
        ("https://e.com:0/", "port 0"),
        ("https://e.com:70000/", "not a valid URL"),
        ("https://[::1/", "not a valid URL"),
        ("https://e.com/a b", "spaces"),
        ("https://e.com/\n", "control"),
        ("https://bücher.example/", "punycode"),
        ("https://e.com/#frag", "fragment"),
        ("https://e.com/" + "a" * 2035, "2048"),
        ("http://evil.example\\@good.example/", "not a valid URL"),  # parsers disagree on host
        ("http://[v1.fe]/", "IPv6 address in"),
        ("https://user:pw@example.com/", "credentials"),
        ("https://user@example.com/", "credentials"),
        ("http://[127.0.0.1]/", "IPv6 address|not a valid URL"),
    ],
)
def test_rejected_with_a_reason(url: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        urls.check(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://a..b/hook",
        "http://.../",
        "https://-bad.example/",
        "https://x_y.example/",
        "http://a.example.com../x",
    ],
)
def test_hosts_that_cannot_be_resolved_are_rejected(url: str) -> None:
    with pytest.raises(ValueError, match="not a valid host name"):
        urls.check(url)


def test_a_trailing_dot_does_not_hide_an_ip_literal() -> None:
    """127.0.0.1. is 127.0.0.1: the literal check at creation must see it as an address."""
    from webhookd.domain import network

    assert str(network.literal_address("127.0.0.1.")) == "127.0.0.1"
    assert str(network.literal_address("0x7f.1.")) == "127.0.0.1"
    assert network.literal_address("example.com.") is None
