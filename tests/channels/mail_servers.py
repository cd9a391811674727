"""Real mail servers for the tests: an SMTP server (aiosmtpd) that keeps what it receives."""

from __future__ import annotations

import email
import email.policy
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SMTPSession

from tests.served import free_port


class Outbox:
    """What the outgoing SMTP server was handed: parsed mails and their envelope recipients."""

    def __init__(self) -> None:
        self.mails: list[tuple[list[str], EmailMessage]] = []
        self._lock = threading.Lock()
        self.refuse: set[str] = set()

    async def handle_RCPT(
        self, server: SMTP, session: SMTPSession, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: SMTPSession, envelope: Envelope) -> str:
        parsed = email.message_from_bytes(envelope.original_content or b"", policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self._lock:
            self.mails.append((list(envelope.rcpt_tos), parsed))
        return "250 2.0.0 Queued"

    def wait_for(self, count: int, timeout: float = 15) -> list[tuple[list[str], EmailMessage]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.mails) >= count:
                    return list(self.mails)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} mails, the SMTP server got {len(self.mails)}")


@contextmanager
def smtp_server() -> Iterator[tuple[int, Outbox]]:
    outbox = Outbox()
    controller = Controller(outbox, hostname="127.0.0.1", port=free_port(), decode_data=False)
    controller.start()
    try:
        yield controller.port, outbox
    finally:
        controller.stop()
