"""A real forwarding HTTP proxy on 127.0.0.1 for tests: CONNECT tunnels and absolute-form
requests, each counted, on its own asyncio loop in a thread (so an app's loop, or the
test's, can use it). It can demand credentials (407) or refuse everything (403)."""

import asyncio
import base64
import contextlib
import threading
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit


class ForwardProxy:
    def __init__(self, *, credentials: tuple[str, str] | None = None, refuse: bool = False) -> None:
        self.credentials = credentials
        self.refuse = refuse
        self.lines: list[str] = []  # each request line it was given, in order
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self._thread.start()
        self._ready.wait()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", 0)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        self._server.close()
        for task in asyncio.all_tasks(self._loop):
            task.cancel()
        with contextlib.suppress(Exception):
            self._loop.run_until_complete(asyncio.sleep(0))
        self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        request_line, fields = lines[0], [line for line in lines[1:] if line]
        self.lines.append(request_line)
        method, target, version = request_line.split(" ", 2)
        headers = {name.strip().lower(): value.strip() for name, _, value in
                   (field.partition(":") for field in fields)}  # fmt: skip
        if self.refuse:
            await self._answer(writer, 403, "Forbidden")
            return
        if self.credentials is not None:
            expected = base64.b64encode(":".join(self.credentials).encode()).decode()
            if headers.get("proxy-authorization") != f"Basic {expected}":
                await self._answer(writer, 407, "Proxy Authentication Required")
                return
        try:
            if method == "CONNECT":
                host, _, port = target.rpartition(":")
                up_reader, up_writer = await asyncio.open_connection(host.strip("[]"), int(port))
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
            else:
                parts = urlsplit(target)
                up_reader, up_writer = await asyncio.open_connection(
                    parts.hostname, parts.port or 80
                )
                path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
                kept = [
                    f for f in fields
                    if f.split(":", 1)[0].strip().lower()
                    not in ("proxy-authorization", "proxy-connection", "connection")
                ]  # fmt: skip
                rewritten = [f"{method} {path} {version}", *kept, "Connection: close", "", ""]
                up_writer.write("\r\n".join(rewritten).encode("latin-1"))
        except OSError:
            await self._answer(writer, 502, "Bad Gateway")
            return
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    @staticmethod
    async def _answer(writer: asyncio.StreamWriter, status: int, reason: str) -> None:
        writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\n\r\n".encode())
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()
