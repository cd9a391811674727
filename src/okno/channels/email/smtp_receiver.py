"""Okno's own SMTP receiver, for setups whose mail server forwards mail to the help desk.

It answers 250 only once the raw mail is committed (``intake.store_raw``); if that fails it
answers 451, a temporary failure, so the sending server keeps the mail and tries again later:
nothing it accepted is lost. Recipients that are not an active mailbox are refused at RCPT
time (550), so Okno is never an open relay. Runs once per installation, beside the web
processes (``okno serve`` starts it when ``OKNO_SMTP_RECEIVER_PORT`` is set).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SMTPSession

from okno.channels.email import intake, mailboxes
from okno.db import Database

log = logging.getLogger(__name__)


class MailboxHandler:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _is_mailbox(self, address: str) -> bool:
        with self.db.read() as session:
            return mailboxes.for_recipient(session, address) is not None

    def _store(self, recipients: list[str], raw: bytes, envelope_from: str | None) -> list[int]:
        """One transaction for every mailbox the mail was sent to: all are stored, or none."""
        stored = []
        with self.db.write() as session:
            mailbox_ids = set()
            for address in recipients:
                mailbox = mailboxes.for_recipient(session, address)
                if mailbox is not None:
                    mailbox_ids.add(mailbox.id)
            for mailbox_id in sorted(mailbox_ids):
                result = intake.store_raw(
                    session, mailbox_id=mailbox_id, raw=raw, source="smtp", envelope_from=envelope_from
                )
                stored.append(result.inbound_id)
        return stored

    async def handle_RCPT(
        self, server: SMTP, session: SMTPSession, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        try:
            known = await asyncio.to_thread(self._is_mailbox, address)
        except Exception:
            log.exception("could not look up the mailbox for %s", address)
            return "451 4.3.0 Temporary failure; please try again later"
        if not known:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: SMTPSession, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        try:
            stored = await asyncio.to_thread(self._store, list(envelope.rcpt_tos), raw, envelope.mail_from)
        except Exception:
            log.exception("could not store a mail for %s", envelope.rcpt_tos)
            return "451 4.3.0 Temporary failure; please try again later"
        log.info("stored mail for %s as %s", envelope.rcpt_tos, stored)
        return "250 2.0.0 Message accepted for delivery"


class SMTPReceiver:
    """The receiver in its own thread and event loop."""

    def __init__(self, db: Database, *, host: str, port: int, max_message_bytes: int) -> None:
        self.controller = Controller(
            MailboxHandler(db),
            hostname=host,
            port=port,
            data_size_limit=max_message_bytes,
            # The raw bytes as sent: parsing decides about charsets, never the receiver.
            decode_data=False,
            ident="Okno",
        )

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def __enter__(self) -> SMTPReceiver:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
