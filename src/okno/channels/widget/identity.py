"""Visitor identities signed by the site: pure rules, no session.

A site that knows who its visitor is (a signed-in shop customer) lets the widget say so, and
proves it with the widget's identity secret, which only the site's server and Okno know:

    signature = hex(HMAC-SHA256(key=secret, message=email))

``secret`` is the identity secret exactly as shown on the widget's admin page (ASCII text,
used as its UTF-8 bytes); ``message`` is the visitor's email address as UTF-8, exactly as the
site passes it to the widget: not trimmed and not lower-cased, so both sides sign the same
bytes. The signature is 64 hexadecimal digits (either case). The visitor's name is not
signed: it is shown as the site gives it and never used to find a customer.
"""

from __future__ import annotations

import hashlib
import hmac
import string

_HEX = frozenset(string.hexdigits)


def sign_identity(secret: bytes, *, email: str) -> str:
    """What the site's server computes; here for tests and documentation examples."""
    return hmac.new(secret, email.encode("utf-8"), hashlib.sha256).hexdigest()


def verify_identity(secret: bytes, *, email: str, name: str | None, signature: str) -> bool:
    """Whether ``signature`` is the site's signature of ``email`` (constant-time comparison).

    ``name`` is accepted for the caller's convenience and deliberately not covered.
    """
    del name  # not signed: see the module's docstring
    if not secret or not email or len(signature) != 64 or not _HEX.issuperset(signature):
        return False
    expected = sign_identity(secret, email=email)
    return hmac.compare_digest(expected.encode("ascii"), signature.lower().encode("ascii"))
