"""The HTTP front of `webhookd serve` under attack: oversized headers, slow and idle
clients, too many connections. Each waits for what the server does, with no timing
assertion (figures of how fast it stays live are in `make bench`)."""

import socket
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from tests import local_http as httpx
from tests.conftest import INGEST_KEY, JWT_SECRET, SECRET_KEY
from tests.e2e.conftest import Served, cli_env


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return cli_env(
        tmp_path, WEBHOOKD_JWT_SECRET=JWT_SECRET, WEBHOOKD_INGEST_KEY=INGEST_KEY,
        WEBHOOKD_SECRET_KEY=SECRET_KEY, **extra,
    )  # fmt: skip


@contextmanager
def _connection(served: Served) -> Iterator[socket.socket]:
    host, port = served.base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        yield sock


def _read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_64_kib_header_is_431_and_the_connection_closed(
    tmp_path: Path, serve: Callable[..., Served]
) -> None:
    served = serve(_env(tmp_path))
    with _connection(served) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n")
        answer = _read_all(sock)  # returns only once the server has closed it
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert b'"statusCode":431' in answer


def test_too_many_header_fields_are_431(tmp_path: Path, serve: Callable[..., Served]) -> None:
    served = serve(_env(tmp_path))
    fields = b"".join(b"X-F%d: 1\r\n" % n for n in range(101))
    with _connection(served) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\n")
        assert _read_all(sock).startswith(b"HTTP/1.1 431 ")


def test_half_a_request_line_is_closed_after_the_header_deadline(
    tmp_path: Path, serve: Callable[..., Served]
) -> None:
    served = serve(_env(tmp_path, WEBHOOKD_HEADER_TIMEOUT="1"))
    with _connection(served) as sock:
        sock.sendall(b"GET /heal")
        assert _read_all(sock).startswith(b"HTTP/1.1 408 ")
    with _connection(served) as sock:  # and one that sends nothing at all
        assert _read_all(sock).startswith(b"HTTP/1.1 408 ")


def test_a_large_legitimate_body_still_passes(tmp_path: Path, serve: Callable[..., Served]) -> None:
    served = serve(_env(tmp_path))
    body = {"tenantId": "t", "event": "verification.completed", "data": {"x": "y" * 200_000}}
    answer = httpx.post(f"{served.base}/events", json=body, headers={"X-Api-Key": INGEST_KEY})
    assert answer.status_code == 202, answer.text


def test_1000_idle_connections_leave_healthz_answering(
    tmp_path: Path, serve: Callable[..., Served]
) -> None:
    served = serve(_env(tmp_path))
    with ExitStack() as idle:
        for _ in range(1000):
            idle.enter_context(_connection(served))
        assert httpx.get(f"{served.base}/healthz", timeout=60).status_code == 200


def test_past_the_connection_limit_a_new_connection_gets_503(
    tmp_path: Path, serve: Callable[..., Served]
) -> None:
    served = serve(_env(tmp_path, WEBHOOKD_MAX_CONNECTIONS="20"))
    with ExitStack() as idle:
        for _ in range(20):
            idle.enter_context(_connection(served))
        with _connection(served) as extra:
            assert _read_all(extra).startswith(b"HTTP/1.1 503 ")
    # Once they are closed, the server takes connections again.
    assert httpx.get(f"{served.base}/healthz", timeout=60).status_code == 200
    assert "WEBHOOKD_MAX_CONNECTIONS" in served.output()


def test_a_body_that_trickles_or_stalls_is_closed(
    tmp_path: Path, serve: Callable[..., Served]
) -> None:
    served = serve(_env(tmp_path, WEBHOOKD_BODY_TIMEOUT="3"))
    head = (
        b"POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"X-Api-Key: " + INGEST_KEY.encode() + b"\r\nContent-Length: 100000\r\n\r\n"
    )
    with _connection(served) as sock:  # stalls after 10 bytes: the body deadline
        sock.sendall(head + b'{"tenantI')
        assert _read_all(sock).startswith(b"HTTP/1.1 408 ")
    slow = serve(_env(tmp_path, WEBHOOKD_BODY_TIMEOUT="60"))
    with _connection(slow) as sock:  # a byte every 0.2 s: under 1 KiB/s after 5 s
        sock.sendall(head)
        sock.settimeout(0.2)
        answer = b""
        for _ in range(300):  # at most 60 s
            try:
                sock.sendall(b" ")
                answer = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            break
        assert answer.startswith(b"HTTP/1.1 408 "), answer
