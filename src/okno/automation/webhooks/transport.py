"""Sending one webhook request, safely: checked addresses, a pinned connection, hard limits.

The defence against server-side request forgery works on the address actually connected to:

1. The host is resolved here, once. Every address it resolves to is checked
   (``addresses.address_problem``); one private address is enough to refuse the whole host unless
   the subscription allows private networks. An IP written in the URL is checked the same way.
2. The connection then goes to one of exactly those checked addresses: ``PinnedBackend`` is the
   network backend of the HTTP client and ignores what the client would resolve. The request
   still names the original host (``Host`` header, TLS server name and certificate check), so a
   DNS answer that changes between the check and the connection (DNS rebinding) changes nothing.
3. Redirects are never followed (a 3xx answer is a failed delivery); no proxy from the
   environment is used; every read and write has a timeout and the whole exchange a deadline,
   so a slow receiver cannot hold a worker; at most ``max_response_bytes`` of the answer are read.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

import httpcore

from okno.automation.webhooks.addresses import IPAddress, address_problem, canonical, literal_address

Resolver = Callable[[str, int], list[str]]
EXCERPT_CHARS = 500


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class Refused(Exception):
    """The target is not allowed: never sent, and retrying will not help."""


@dataclass(frozen=True)
class Outcome:
    status_code: int | None = None  # the receiver's answer; None when there was none
    error: str | None = None  # why it failed; None when delivered
    body_excerpt: str = ""  # the start of the receiver's answer, for the delivery log
    retry: bool = False  # a later attempt may succeed
    refused: bool = False  # not sent at all: the target is not allowed
    address: str | None = None  # the address connected to
    duration_ms: int = 0

    @property
    def delivered(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


def checked_addresses(host: str, port: int, *, allow_private: bool, resolve: Resolver) -> list[IPAddress]:
    """The addresses to connect to, each one checked; ``Refused`` if any is not allowed."""
    literal = literal_address(host)
    found = [literal] if literal is not None else [ip_address(a.split("%", 1)[0]) for a in resolve(host, port)]
    if not found:
        raise socket.gaierror(f"{host} has no address")
    if not allow_private:
        for address in found:
            problem = address_problem(address)
            if problem is not None:
                shown = host if literal is not None else f"{host} resolves to {address}, which"
                raise Refused(f"{shown} is a {problem} address; allow private networks for this subscription to use it")
    return list(dict.fromkeys(canonical(a) for a in found))


class _DeadlineStream(httpcore.NetworkStream):
    """Every read and write waits at most until the exchange's deadline."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: float) -> None:
        self._inner = inner
        self._deadline = deadline

    def _timeout(self, timeout: float | None, error: type[Exception]) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise error("the receiver took too long")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._timeout(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._timeout(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, self._timeout(timeout, httpcore.ConnectTimeout))
        return _DeadlineStream(inner, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class PinnedBackend(httpcore.NetworkBackend):
    """Connects to the checked addresses of one host and nowhere else, whatever the client asks."""

    def __init__(self, host: str, port: int, addresses: list[IPAddress], deadline: float) -> None:
        self.host, self.port, self.addresses, self.deadline = host, port, addresses, deadline
        self.connected_to: str | None = None
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        if (host.strip("[]").lower(), port) != (self.host.strip("[]").lower(), self.port):
            raise httpcore.ConnectError(f"refusing to connect to {host}:{port}, not the checked host")
        failure: Exception | None = None
        for address in self.addresses:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise httpcore.ConnectTimeout("the receiver took too long")
            try:
                stream = self._inner.connect_tcp(
                    str(address), port, timeout=left if timeout is None else min(timeout, left)
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            self.connected_to = str(address)
            return _DeadlineStream(stream, self.deadline)
        assert failure is not None
        raise failure

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("webhooks do not use unix sockets")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    allow_private: bool,
    timeout_seconds: float,
    max_response_bytes: int,
    resolve: Resolver = system_resolver,
    ssl_context: ssl.SSLContext | None = None,
) -> Outcome:
    """POSTs ``body`` to ``url`` once and says how it went; never raises for network trouble."""
    started = time.monotonic()
    deadline = started + timeout_seconds

    def outcome(**values: Any) -> Outcome:
        return Outcome(duration_ms=int((time.monotonic() - started) * 1000), **values)

    parts = urlsplit(url)
    host = (parts.hostname or "").encode("idna").decode("ascii") if parts.hostname else ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = checked_addresses(host, port, allow_private=allow_private, resolve=resolve)
    except Refused as exc:
        return outcome(error=str(exc), refused=True)
    except (OSError, UnicodeError, ValueError) as exc:
        return outcome(error=f"cannot resolve {host}: {exc}", retry=True)
    backend = PinnedBackend(host, port, addresses, deadline)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    request_url = httpcore.URL(
        scheme=parts.scheme.encode(), host=host.encode(), port=parts.port, target=target.encode()
    )
    phase = min(5.0, timeout_seconds)
    extensions = {"timeout": {"connect": phase, "read": phase, "write": phase, "pool": phase}}
    try:
        with (
            httpcore.ConnectionPool(ssl_context=ssl_context, network_backend=backend, max_connections=1) as pool,
            pool.stream(
                "POST", request_url, headers=list(headers.items()), content=body, extensions=extensions
            ) as response,
        ):
            received = bytearray()
            for chunk in response.iter_stream():
                received += chunk
                if len(received) >= max_response_bytes:
                    break  # enough to show; the rest is never read
            status = response.status
    except httpcore.TimeoutException as exc:
        return outcome(error=f"timed out: {exc}", retry=True, address=backend.connected_to)
    except httpcore.ConnectError as exc:
        return outcome(error=f"cannot connect: {exc}", retry=True, address=backend.connected_to)
    except (httpcore.NetworkError, httpcore.ProtocolError) as exc:
        return outcome(error=f"connection failed: {exc}", retry=True, address=backend.connected_to)
    excerpt = bytes(received[:max_response_bytes]).decode("utf-8", "replace")[:EXCERPT_CHARS]
    values: dict[str, Any] = {"status_code": status, "body_excerpt": excerpt, "address": backend.connected_to}
    if 200 <= status < 300:
        return outcome(**values)
    if 300 <= status < 400:
        location = next((v.decode("latin-1") for k, v in response.headers if k.lower() == b"location"), "")
        return outcome(error=f"HTTP {status}: redirects are not followed (to {location or 'nowhere'})", **values)
    # Timeouts, rate limits and server errors pass; other client errors say the request is wrong.
    return outcome(error=f"HTTP {status}", retry=status in {408, 425, 429} or status >= 500, **values)
