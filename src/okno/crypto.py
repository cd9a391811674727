"""Encrypting stored credentials (mailbox passwords) with the installation's secret key.

Fernet (AES-128-CBC with HMAC-SHA256, from the ``cryptography`` library) under a key derived
from ``OKNO_SECRET_KEY`` with HKDF, so the secret itself never encrypts anything directly and
other uses of it get other keys. Changing the secret key makes stored credentials unreadable:
they must be entered again.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from okno.errors import Invalid

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# The key of ``Session.info`` holding a callable that returns the installation's secret key
# (put there by the runtime through ``Database.session_info``).
SECRET_KEY_INFO = "okno.secret_key"


class Sealer:
    def __init__(self, secret_key: str, *, purpose: bytes = b"okno stored credentials") -> None:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret_key.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def unseal(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode()
        except InvalidToken as exc:
            raise Invalid(
                "A stored credential cannot be read with this installation's secret key; enter it again.",
                code="credential_unreadable",
            ) from exc


def sealer_for(session: Session, *, purpose: bytes = b"okno stored credentials") -> Sealer:
    """A sealer under the secret key of the installation the session belongs to."""
    source: Callable[[], str] | None = session.info.get(SECRET_KEY_INFO)
    if source is None:
        raise RuntimeError("this session has no secret key: build it through okno.runtime.Runtime")
    return Sealer(source(), purpose=purpose)
