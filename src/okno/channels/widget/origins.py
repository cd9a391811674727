"""Web origins as the widget's allow-list holds them: pure rules, no session.

An origin is ``scheme://host[:port]`` exactly as a browser sends it in the ``Origin`` header:
scheme and host in lower case, the default port (80 for http, 443 for https) left out, no
path, query, fragment or user name. The allow-list stores origins in that form and a request's
origin is put in the same form before the exact comparison, so ``https://Shop.example:443``
typed by an admin matches what browsers send for ``https://shop.example``.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_origin(value: str) -> str:
    """The canonical form of ``value``; ``ValueError`` says what is wrong with it."""
    text = value.strip()
    if not text:
        raise ValueError("empty origin")
    if any(c.isspace() for c in text):
        raise ValueError("an origin has no spaces")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ValueError("not a valid origin") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError("an origin starts with http:// or https://")
    if not parts.hostname or parts.username is not None or parts.password is not None:
        raise ValueError("an origin needs a host name")
    if parts.path or parts.query or parts.fragment or text.endswith(("?", "#")):
        raise ValueError("an origin has no path, not even '/': scheme://host[:port]")
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def is_allowed(allowed: Iterable[str], origin: str | None) -> bool:
    """Whether a request's ``Origin`` is on the (normalised) allow-list.

    A missing origin and the opaque ``null`` origin (sandboxed frames, ``file:`` pages) are never
    on it.
    """
    if origin is None or origin.strip().lower() in {"", "null"}:
        return False
    try:
        wanted = normalise_origin(origin)
    except ValueError:
        return False
    return wanted in set(allowed)
