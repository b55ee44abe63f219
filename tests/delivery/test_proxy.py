"""The egress proxy (WEBHOOKD_PROXY_URL): requests go through a real forwarding proxy on
127.0.0.1, the SSRF guard still judges the target before the proxy hears of it, and a
proxy that is down or refuses is the proxy's fault in words and in `egress_fault`."""

import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import WAIT, Receiver
from tests.proxy import ForwardProxy
from webhookd.delivery.sender import Proxy, Sender
from webhookd.domain import network
from webhookd.testing import free_port

OPEN = network.Policy(allow_private=True)


@asynccontextmanager
async def started(proxy: Proxy, policy: network.Policy = OPEN) -> AsyncIterator[Sender]:
    sender = Sender(WAIT, policy, proxy=proxy)
    await sender.start()
    try:
        yield sender
    finally:
        await sender.close()


def port_of(receiver: Receiver) -> int:
    return int(receiver.url.split(":")[2].split("/")[0])


async def test_a_delivery_goes_through_the_proxy_in_absolute_form() -> None:
    with ForwardProxy() as proxy, Receiver() as receiver:
        async with started(Proxy.parse(proxy.url)) as sender:
            result = await sender.post(receiver.url, b'{"a":1}', {"X-Test": "1"})
        [request] = receiver.requests
    assert result.http_status == 200, result.error
    assert proxy.lines == [f"POST {receiver.url} HTTP/1.1"]
    assert request.body == b'{"a":1}'
    assert request.headers["x-test"] == "1"


async def test_the_proxy_is_given_the_address_the_guard_checked_not_the_name() -> None:
    """A name is resolved and checked by webhookd; the proxy gets that address, so a DNS
    answer that changes before the proxy looks it up cannot take the request elsewhere.
    The Host header still carries the name."""
    with ForwardProxy() as proxy, Receiver() as receiver:
        port = port_of(receiver)
        async with started(Proxy.parse(proxy.url)) as sender:
            result = await sender.post(f"http://localhost:{port}/hook", b"{}", {})
        [request] = receiver.requests
    assert result.http_status == 200, result.error
    assert proxy.lines == [f"POST http://127.0.0.1:{port}/hook HTTP/1.1"]
    assert request.headers["host"] == f"localhost:{port}"


async def test_https_goes_through_a_connect_tunnel_to_the_checked_address() -> None:
    with ForwardProxy() as proxy, Receiver() as receiver:
        port = port_of(receiver)
        async with started(Proxy.parse(proxy.url)) as sender:
            # The receiver speaks plain HTTP, so TLS fails after the tunnel is made.
            result = await sender.post(f"https://localhost:{port}/hook", b"{}", {})
    assert proxy.lines == [f"CONNECT 127.0.0.1:{port} HTTP/1.1"]
    assert result.http_status is None
    assert not result.egress_fault  # the tunnel was made: what failed is the endpoint's


@pytest.mark.parametrize(
    "url",
    [
        lambda port: f"http://localhost:{port}/hook",  # a name: resolved and checked first
        lambda port: f"http://127.0.0.1:{port}/hook",  # a literal
        lambda port: f"https://localhost:{port}/hook",
    ],
)
async def test_a_private_target_is_refused_without_reaching_the_proxy(
    url: Callable[[int], str],
) -> None:
    with ForwardProxy() as proxy, Receiver() as receiver:
        async with started(Proxy.parse(proxy.url), network.Policy()) as sender:
            result = await sender.post(url(port_of(receiver)), b"{}", {})
        assert receiver.requests == []
    assert result.error is not None
    assert result.error.startswith("blocked:"), result.error
    assert "loopback" in result.error
    assert proxy.lines == []  # not one byte went to the proxy
    assert not result.egress_fault  # the endpoint's URL is at fault


async def test_hosts_in_no_proxy_are_reached_directly() -> None:
    with ForwardProxy() as proxy, Receiver() as receiver:
        async with started(Proxy.parse(proxy.url, "example.com, 127.0.0.1")) as sender:
            result = await sender.post(receiver.url, b"{}", {})
        assert len(receiver.requests) == 1
    assert result.http_status == 200
    assert proxy.lines == []


async def test_a_proxy_that_is_down_is_named_and_is_not_the_endpoints_fault() -> None:
    down = f"http://127.0.0.1:{free_port()}"
    with Receiver() as receiver:
        async with started(Proxy.parse(down)) as sender:
            result = await sender.post(receiver.url, b"{}", {})
        assert receiver.requests == []
    assert result.http_status is None
    assert result.egress_fault
    assert result.error is not None
    assert f"egress proxy {down} could not be reached" in result.error
    assert "Connection refused" in result.error


async def test_a_proxy_that_refuses_a_tunnel_is_named_and_is_not_the_endpoints_fault() -> None:
    """(Over plain http, a proxy's answer cannot be told from the endpoint's, but for a
    407: see the credentials test.)"""
    with ForwardProxy(refuse=True) as proxy, Receiver() as receiver:
        async with started(Proxy.parse(proxy.url)) as sender:
            result = await sender.post(f"https://127.0.0.1:{port_of(receiver)}/", b"{}", {})
        assert receiver.requests == []
    assert len(proxy.lines) == 1
    assert result.egress_fault
    assert result.error is not None
    assert f"egress proxy {proxy.url} refused" in result.error


@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_the_proxy_urls_credentials_are_sent_and_never_shown(scheme: str) -> None:
    with ForwardProxy(credentials=("egress", "s3cret-pass")) as proxy, Receiver() as receiver:
        port = port_of(receiver)
        good = Proxy.parse(f"http://egress:s3cret-pass@127.0.0.1:{proxy.port}")
        async with started(good) as sender:
            result = await sender.post(f"{scheme}://127.0.0.1:{port}/hook", b"{}", {})
        if scheme == "http":
            assert result.http_status == 200, result.error
        else:
            assert proxy.lines == [f"CONNECT 127.0.0.1:{port} HTTP/1.1"]  # then TLS fails
            assert not result.egress_fault
        bad = Proxy.parse(f"http://egress:wrong-pass@127.0.0.1:{proxy.port}")
        async with started(bad) as sender:
            refused = await sender.post(f"{scheme}://127.0.0.1:{port}/hook", b"{}", {})
    assert refused.egress_fault
    assert refused.error is not None
    assert "407" in refused.error
    assert "pass" not in refused.error  # the proxy is named without its credentials
    assert good.url == f"http://127.0.0.1:{proxy.port}"


@pytest.mark.parametrize(
    "spec",
    ["https://proxy:3128", "proxy:3128", "http://proxy", "http://proxy:3128/path", "socks5://p:1"],
)
def test_a_proxy_url_must_be_http_host_and_port(spec: str) -> None:
    with pytest.raises(ValueError, match="http://"):
        Proxy.parse(spec)


def _tls(name: str, tmp: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a certificate for `name` (self-signed), and a client context
    that trusts it."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp / f"{name}.pem", tmp / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client


@pytest.mark.parametrize(("certified", "ok"), [("localhost", True), ("elsewhere.test", False)])
async def test_https_through_the_tunnel_checks_the_certificate_of_the_urls_name(
    tmp_path: Path, certified: str, ok: bool
) -> None:
    """The proxy is asked for the checked address, yet TLS still checks the URL's name
    (SNI and the certificate): a certificate for another name is refused."""
    server, client = _tls(certified, tmp_path)
    with ForwardProxy() as proxy, Receiver() as receiver:
        raw = receiver._server.socket
        receiver._server.socket = server.wrap_socket(raw, server_side=True)
        port = port_of(receiver)
        sender = Sender(WAIT, OPEN, proxy=Proxy.parse(proxy.url), trust=client)
        await sender.start()
        try:
            result = await sender.post(f"https://localhost:{port}/hook", b"{}", {"X-T": "1"})
        finally:
            await sender.close()
        assert proxy.lines == [f"CONNECT 127.0.0.1:{port} HTTP/1.1"]
        if ok:
            assert result.http_status == 200, result.error
            [request] = receiver.requests
            assert request.headers["host"] == f"localhost:{port}"
        else:
            assert result.http_status is None
            assert result.error is not None
            assert "certificate" in result.error.lower(), result.error
            assert not result.egress_fault
