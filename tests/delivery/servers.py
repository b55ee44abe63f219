"""Misbehaving HTTP servers on 127.0.0.1 for attempt-limit tests."""

import select
import socket
import threading
from types import TracebackType

from tests.conftest import STOP_POLL


class RawServer:
    """Accepts connections and hands each socket to `behave` in its own thread."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(STOP_POLL)  # how soon the accept loop sees a stop
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.connections = 0
        self.active = 0
        self.most_active = 0  # the most connections open at once
        self.bytes_sent = 0
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}/hook"

    def behave(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with self._lock:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        try:
            self._converse(conn)
        finally:
            with self._lock:
                self.active -= 1

    def _converse(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            try:
                conn.recv(65536)  # the request (headers and the small body)
                self.behave(conn)
            except OSError:
                pass  # the client gave up: that is the point

    def send(self, conn: socket.socket, data: bytes) -> None:
        conn.sendall(data)
        self.bytes_sent += len(data)

    def __enter__(self) -> "RawServer":
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()
        self._sock.close()


def hung_up(conn: socket.socket, wait: float) -> bool:
    """Whether the client closed the connection, waiting up to `wait` seconds to see."""
    readable, _, _ = select.select([conn], [], [], wait)
    return bool(readable) and conn.recv(1, socket.MSG_PEEK) == b""


class Silent(RawServer):
    """Reads the request and never answers."""

    def behave(self, conn: socket.socket) -> None:
        while not self._stop.is_set() and not hung_up(conn, 0.05):
            pass


class Dripping(RawServer):
    """Answers 200 with a long body, one byte every 0.1 s."""

    def behave(self, conn: socket.socket) -> None:
        self.send(conn, b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        while not self._stop.is_set() and not hung_up(conn, 0.1):
            self.send(conn, b"x")


class Huge(RawServer):
    """Answers 200 with a 100 MB body, as fast as the client reads."""

    SIZE = 100 * 1024 * 1024

    def behave(self, conn: socket.socket) -> None:
        self.send(conn, f"HTTP/1.1 200 OK\r\nContent-Length: {self.SIZE}\r\n\r\n".encode())
        chunk = b"y" * 65536
        for _ in range(self.SIZE // len(chunk)):
            self.send(conn, chunk)
