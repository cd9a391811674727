"""Password hashing (argon2id through argon2-cffi) and API token material."""

from __future__ import annotations

import functools
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
TOKEN_PREFIX = "okno_"


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this keeps a sign-in for an unknown address as slow as for a known one.

    Made at the first sign-in, not on import: every ``okno`` command would pay for the hashing.
    """
    return str(_hasher.hash(secrets.token_urlsafe(16)))


def hash_password(password: str) -> str:
    return str(_hasher.hash(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return bool(_hasher.verify(password_hash or _dummy_hash(), password)) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_api_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_api_token(token: str) -> str:
    """Tokens carry 256 random bits, so a fast hash is enough to make a stolen table useless."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
