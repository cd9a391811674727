"""A light HTTP/1.1 client for the load loops: pooled keep-alive connections parsed by httptools.

The load generator shares the machine's CPUs with the server and the database, so every
millisecond of CPU it spends on a request is one the server does not get. httpx spent 4 to 5 ms
of CPU per request on a slow 2-core machine, a fifth of what the server spent on a ticket creation.
This client writes each request in one buffer and parses the answer with httptools (the C parser
uvicorn itself uses), for a small fraction of that. It speaks just what the loops need: one
request at a time per connection, bodies with Content-Length or chunked, no redirects, no TLS.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httptools


class ConnectionLost(Exception):
    """The server closed the connection before its answer was complete."""


@dataclass(frozen=True)
class Reply:
    method: str
    path: str
    status: int
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)


class _Connection:
    """One keep-alive connection; the parser's callbacks land on it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._chunks: list[bytes] = []
        self._complete = False

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)

    def on_message_complete(self) -> None:
        self._complete = True

    async def exchange(self, request: bytes) -> tuple[int, bytes, bool]:
        """(status, body, whether the connection may be used again)."""
        self._chunks, self._complete = [], False
        parser = httptools.HttpResponseParser(self)
        self.writer.write(request)
        while not self._complete:
            data = await self.reader.read(65536)
            if not data:
                raise ConnectionLost("the server closed the connection before answering")
            parser.feed_data(data)
        return parser.get_status_code(), b"".join(self._chunks), parser.should_keep_alive()

    @property
    def usable(self) -> bool:
        return not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        self.writer.close()


class Http1Pool:
    """Up to ``size`` connections to ``base``; a request beyond them waits for a free one."""

    def __init__(self, base: str, *, headers: dict[str, str], size: int, timeout: float = 60.0) -> None:
        address = urlsplit(base)
        self._host, self._port = address.hostname or "127.0.0.1", address.port or 80
        fixed = {"Host": address.netloc, "User-Agent": "okno-bench", **headers}
        self._fixed_headers = "".join(f"{name}: {value}\r\n" for name, value in fixed.items())
        self._slots = asyncio.Semaphore(size)
        self._idle: list[_Connection] = []
        self._timeout = timeout

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Reply:
        return await self.request("GET", f"{path}?{urlencode(params)}" if params else path)

    async def post(self, path: str, body: Any) -> Reply:
        return await self.request("POST", path, json.dumps(body).encode())

    async def request(self, method: str, path: str, body: bytes | None = None) -> Reply:
        head = f"{method} {path} HTTP/1.1\r\n{self._fixed_headers}"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        request = (head + "\r\n").encode() + (body or b"")
        async with self._slots:
            connection = await self._connection()
            try:
                async with asyncio.timeout(self._timeout):
                    status, answer, reusable = await connection.exchange(request)
            except BaseException:
                connection.close()
                raise
            if reusable:
                self._idle.append(connection)
            else:
                connection.close()
        return Reply(method, path.split("?", 1)[0], status, answer)

    async def _connection(self) -> _Connection:
        while self._idle:
            connection = self._idle.pop()
            if connection.usable:
                return connection
            connection.close()
        return _Connection(*await asyncio.open_connection(self._host, self._port))

    async def aclose(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle.clear()

    async def __aenter__(self) -> Http1Pool:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
