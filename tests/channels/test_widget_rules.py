"""The widget's pure rules: origins as browsers send them, signed visitor identities."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from okno.channels.widget.identity import sign_identity, verify_identity
from okno.channels.widget.origins import is_allowed, normalise_origin


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("https://shop.example", "https://shop.example"),
        ("https://Shop.Example", "https://shop.example"),
        ("HTTPS://shop.example:443", "https://shop.example"),
        ("http://shop.example:80", "http://shop.example"),
        ("http://shop.example:443", "http://shop.example:443"),
        ("https://shop.example:8443", "https://shop.example:8443"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("  https://shop.example  ", "https://shop.example"),
        ("https://xn--e1afmkfd.xn--p1ai", "https://xn--e1afmkfd.xn--p1ai"),
    ],
)
def test_origins_are_stored_as_browsers_send_them(typed: str, stored: str) -> None:
    assert normalise_origin(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "shop.example",
        "ftp://shop.example",
        "https://",
        "https://shop.example/",
        "https://shop.example/page",
        "https://shop.example?x=1",
        "https://shop.example#top",
        "https://user@shop.example",
        "https://shop.example:99999",
        "https://shop .example",
        "javascript:alert(1)",
        "null",
    ],
)
def test_what_is_not_an_origin(typed: str) -> None:
    with pytest.raises(ValueError):
        normalise_origin(typed)


ALLOWED = ("https://shop.example", "http://127.0.0.1:8000")


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://shop.example", True),
        ("https://SHOP.example:443", True),
        ("http://127.0.0.1:8000", True),
        ("http://shop.example", False),  # another scheme is another origin
        ("https://shop.example:8443", False),
        ("https://www.shop.example", False),  # no sub-domains by implication
        ("https://shop.example.evil.test", False),
        ("http://127.0.0.1:8001", False),
        ("http://localhost:8000", False),
        (None, False),
        ("", False),
        ("null", False),
        ("https://shop.example/", False),
    ],
)
def test_only_listed_origins_are_allowed(origin: str | None, allowed: bool) -> None:
    assert is_allowed(ALLOWED, origin) is allowed


SECRET = b"wsec_example-secret"


def test_the_signature_is_hex_hmac_sha256_of_the_email() -> None:
    # Computed independently of the module: what a site's server does.
    expected = hmac.new(SECRET, b"anna@shop.example", hashlib.sha256).hexdigest()
    assert sign_identity(SECRET, email="anna@shop.example") == expected
    assert verify_identity(SECRET, email="anna@shop.example", name=None, signature=expected)
    assert verify_identity(SECRET, email="anna@shop.example", name="Anna", signature=expected.upper())


@pytest.mark.parametrize(
    ("email", "secret", "signature"),
    [
        ("Anna@shop.example", SECRET, sign_identity(SECRET, email="anna@shop.example")),  # other bytes
        ("anna@shop.example", b"another secret", sign_identity(SECRET, email="anna@shop.example")),
        ("anna@shop.example", SECRET, sign_identity(SECRET, email="anna@shop.example")[:-1]),
        ("anna@shop.example", SECRET, sign_identity(SECRET, email="anna@shop.example")[:-1] + "z"),
        ("anna@shop.example", SECRET, ""),
        ("", SECRET, sign_identity(SECRET, email="")),
        ("anna@shop.example", b"", sign_identity(b"", email="anna@shop.example")),
    ],
)
def test_what_does_not_verify(email: str, secret: bytes, signature: str) -> None:
    assert not verify_identity(secret, email=email, name=None, signature=signature)


def test_a_russian_address_is_signed_as_utf8() -> None:
    email = "анна@магазин.рф"
    expected = hmac.new(SECRET, email.encode("utf-8"), hashlib.sha256).hexdigest()
    assert verify_identity(SECRET, email=email, name="Анна", signature=expected)
