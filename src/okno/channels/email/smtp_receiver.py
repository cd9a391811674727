"""Okno's own SMTP and LMTP receivers, for setups whose mail server forwards mail to the help desk.

A recipient is accepted only once the raw mail is committed (``intake.store_many``); if that
fails the answer is 451, a temporary failure, so the sending server keeps the mail and tries again
later: nothing it accepted is lost. Recipients that are not an active mailbox are refused at RCPT
time (550), so Okno is never an open relay. Runs once per installation, beside the web processes
(``okno serve`` starts it when ``OKNO_SMTP_RECEIVER_PORT`` or ``OKNO_LMTP_RECEIVER_PORT`` is set).

SMTP answers the end of DATA once for the whole mail, so every mailbox it was sent to is stored
in one transaction: all or none. LMTP (RFC 2033) answers once per accepted recipient, in RCPT
order, so each recipient is a delivery of its own, and one mailbox's failure makes the sending
server retry that recipient alone.

Group commit: the deliveries whose data arrives while a transaction is committing wait for it and
are then stored together, in one transaction of a few statements (``intake.store_many``, up to
``GROUP_MAX`` deliveries), each answered after that commit. A lone delivery is stored at once;
under load one transaction serves many mails instead of each paying its own round trips and
commit. Should the group's transaction fail, each delivery is stored alone, so one the database
refuses gets its 451 and the others their 250.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, AnyStr, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SMTPSession
from sqlalchemy.orm import Session

from okno.channels.email import intake, mailboxes
from okno.db import Database

log = logging.getLogger(__name__)

Protocol = Literal["smtp", "lmtp"]

ACCEPTED = "250 2.0.0 Message accepted for delivery"
TEMPORARY_FAILURE = "451 4.3.0 Temporary failure; please try again later"
NO_SUCH_MAILBOX = "550 5.1.1 No such mailbox here"


GROUP_MAX = 50


@dataclass
class _Arrived:
    recipients: list[str]
    raw: bytes
    envelope_from: str | None
    stored: asyncio.Future[list[int]]  # the inbound ids, once committed


class MailboxHandler:
    """The aiosmtpd handler for both protocols: the server it is called from says which."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._arrived: list[_Arrived] = []
        self._storing: asyncio.Task[None] | None = None

    def _is_mailbox(self, address: str) -> bool:
        with self.db.read() as session:
            return mailboxes.for_recipient(session, address) is not None

    def _store(self, session: Session, group: list[_Arrived]) -> list[list[int]]:
        """Every mailbox each mail was sent to, in the caller's transaction (so all are stored, or none)."""
        mailbox_ids: dict[str, int | None] = {}
        targets = []
        for mail in group:
            for address in mail.recipients:
                if address not in mailbox_ids:
                    mailbox = mailboxes.for_recipient(session, address)
                    mailbox_ids[address] = mailbox.id if mailbox is not None else None
            found = {mailbox_ids[address] for address in mail.recipients}
            targets.append(sorted(mailbox_id for mailbox_id in found if mailbox_id is not None))
        copies = [
            intake.Received(mailbox_id, mail.raw, "smtp", mail.envelope_from)
            for mail, mailbox_ids_of_mail in zip(group, targets, strict=True)
            for mailbox_id in mailbox_ids_of_mail
        ]
        stored = iter(intake.store_many(session, copies))
        return [[next(stored).inbound_id for _ in mailbox_ids_of_mail] for mailbox_ids_of_mail in targets]

    def _store_group(self, group: list[_Arrived]) -> list[list[int] | Exception]:
        """One transaction for the group; if it fails, one for each mail, each with its own outcome."""
        if len(group) > 1:
            try:
                with self.db.write() as session:
                    stored: list[list[int] | Exception] = list(self._store(session, group))
                return stored
            except Exception:
                log.warning("storing %s mails together failed; storing each alone", len(group), exc_info=True)
        outcomes: list[list[int] | Exception] = []
        for mail in group:
            try:
                with self.db.write() as session:
                    outcomes += self._store(session, [mail])
            except Exception as exc:
                outcomes.append(exc)
        return outcomes

    async def _store_arrived(self) -> None:
        while self._arrived:
            group, self._arrived = self._arrived[:GROUP_MAX], self._arrived[GROUP_MAX:]
            try:
                outcomes = await asyncio.to_thread(self._store_group, group)
            except Exception as exc:  # the thread could not run (shutting down): nothing was stored
                outcomes = [exc] * len(group)
            for mail, outcome in zip(group, outcomes, strict=True):
                if mail.stored.cancelled():
                    continue  # the client left before its answer; a committed mail is found again on its retry
                if isinstance(outcome, Exception):
                    mail.stored.set_exception(outcome)
                else:
                    mail.stored.set_result(outcome)

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
        # Queued together, the recipients' deliveries share a group commit yet keep their own outcomes.
        replies = await asyncio.gather(
            *(self._deliver([address], raw, envelope.mail_from) for address in envelope.rcpt_tos)
        )
        # aiosmtpd writes the text as it is, so each line goes out as a reply of its own.
        return "\r\n".join(replies)

    async def _deliver(self, recipients: list[str], raw: bytes, envelope_from: str | None) -> str:
        mail = _Arrived(recipients, raw, envelope_from, asyncio.get_running_loop().create_future())
        self._arrived.append(mail)
        if self._storing is None or self._storing.done():
            self._storing = asyncio.create_task(self._store_arrived())
        try:
            stored = await mail.stored
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
