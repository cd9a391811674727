"""Encrypting stored credentials (mailbox passwords) with the installation's secret key.

Fernet (AES-128-CBC with HMAC-SHA256, from the ``cryptography`` library) under a key derived
from ``OKNO_SECRET_KEY`` with HKDF, so the secret itself never encrypts anything directly and
other uses of it get other keys. Changing the secret key makes stored credentials unreadable:
they must be entered again.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from okno.errors import Invalid


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
