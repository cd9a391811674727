"""Okno's own SMTP and LMTP receivers, for setups whose mail server forwards mail to the help desk.

A recipient is accepted only once the raw mail is committed (``intake.store_raw``); if that fails
the answer is 451, a temporary failure, so the sending server keeps the mail and tries again
later: nothing it accepted is lost. Recipients that are not an active mailbox are refused at RCPT
time (550), so Okno is never an open relay. Runs once per installation, beside the web processes
(``okno serve`` starts it when ``OKNO_SMTP_RECEIVER_PORT`` or ``OKNO_LMTP_RECEIVER_PORT`` is set).

SMTP answers the end of DATA once for the whole mail, so every mailbox it was sent to is stored
in one transaction: all or none. LMTP (RFC 2033) answers once per accepted recipient, in RCPT
order, so each recipient is stored in a transaction of its own and one mailbox's failure makes
the sending server retry that recipient alone.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, AnyStr, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SMTPSession

from okno.channels.email import intake, mailboxes
from okno.db import Database

log = logging.getLogger(__name__)

Protocol = Literal["smtp", "lmtp"]

ACCEPTED = "250 2.0.0 Message accepted for delivery"
TEMPORARY_FAILURE = "451 4.3.0 Temporary failure; please try again later"
NO_SUCH_MAILBOX = "550 5.1.1 No such mailbox here"


class MailboxHandler:
    """The aiosmtpd handler for both protocols: the server it is called from says which."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _is_mailbox(self, address: str) -> bool:
        with self.db.read() as session:
            return mailboxes.for_recipient(session, address) is not None

    def _store(self, recipients: list[str], raw: bytes, envelope_from: str | None) -> list[int]:
        """One transaction for every mailbox among the recipients: all are stored, or none."""
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

    async def handle_EHLO(
        self, server: SMTP, session: SMTPSession, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname  # a handler's EHLO hook takes this over from aiosmtpd
        if isinstance(server, LMTP):
            # RFC 2033 requires it; aiosmtpd reads commands one line at a time from a stream, so a
            # client may send MAIL, RCPT and DATA without waiting.
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RCPT(
        self, server: SMTP, session: SMTPSession, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        try:
            known = await asyncio.to_thread(self._is_mailbox, address)
        except Exception:
            log.exception("could not look up the mailbox for %s", address)
            return TEMPORARY_FAILURE
        if not known:
            return NO_SUCH_MAILBOX
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: SMTPSession, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if not isinstance(server, LMTP):
            return await self._deliver(list(envelope.rcpt_tos), raw, envelope.mail_from)
        replies = [await self._deliver([address], raw, envelope.mail_from) for address in envelope.rcpt_tos]
        # aiosmtpd writes the text as it is, so each line goes out as a reply of its own.
        return "\r\n".join(replies)

    async def _deliver(self, recipients: list[str], raw: bytes, envelope_from: str | None) -> str:
        try:
            stored = await asyncio.to_thread(self._store, recipients, raw, envelope_from)
        except Exception:
            log.exception("could not store a mail for %s", recipients)
            return TEMPORARY_FAILURE
        if not stored:
            return NO_SUCH_MAILBOX  # the mailbox was switched off between RCPT and the end of DATA
        log.info("stored mail for %s as %s", recipients, stored)
        return ACCEPTED


class PerRecipientLMTP(LMTP):
    """aiosmtpd's LMTP, with one reply per accepted recipient also when it refuses the mail itself.

    The handler answers each recipient; but a mail over the size limit or with an overlong line is
    refused by aiosmtpd with a single reply, which an LMTP client would take for the first
    recipient's and then wait for the others' (RFC 2033, section 4.2). That refusal is repeated.
    """

    _replies_due = 0

    async def smtp_DATA(self, arg: str) -> None:
        self._replies_due = 0
        try:
            await super().smtp_DATA(arg)
        finally:
            self._replies_due = 0

    async def push(self, status: AnyStr) -> None:
        text = status.decode() if isinstance(status, bytes) else status
        if text.startswith("354") and self.envelope is not None:
            self._replies_due = len(self.envelope.rcpt_tos)
        elif self._replies_due:
            due, self._replies_due = self._replies_due, 0
            if "\r\n" not in text:
                text = "\r\n".join([text] * due)
            await super().push(text)
            return
        await super().push(status)


class _ProtocolController(Controller):
    def __init__(self, handler: MailboxHandler, *, server_class: type[SMTP], **kwargs: Any) -> None:
        self.server_class = server_class
        super().__init__(handler, **kwargs)

    def factory(self) -> SMTP:
        return self.server_class(self.handler, **self.SMTP_kwargs)


class MailReceiver:
    """The receiver for one protocol, in its own thread and event loop."""

    def __init__(self, db: Database, *, protocol: Protocol, host: str, port: int, max_message_bytes: int) -> None:
        self.protocol = protocol
        self.controller = _ProtocolController(
            MailboxHandler(db),
            server_class=PerRecipientLMTP if protocol == "lmtp" else SMTP,
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

    def __enter__(self) -> MailReceiver:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
