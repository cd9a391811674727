from __future__ import annotations

from datetime import datetime

from pydantic import EmailStr, Field, model_validator

from okno.channels.email.models import Receiving, Security
from okno.schemas import Id, InputModel, OutputModel

Host = Field(default=None, min_length=1, max_length=255, pattern=r"^[A-Za-z0-9.\-:\[\]]+$")


class MailboxCreate(InputModel):
    address: EmailStr
    display_name: str = Field(default="", max_length=200)
    team_id: Id | None = None
    receiving: Receiving = Receiving.smtp
    imap_host: str | None = Host
    imap_port: int | None = Field(default=None, ge=1, le=65535)
    imap_security: Security = Security.tls
    imap_username: str | None = Field(default=None, max_length=320)
    imap_password: str | None = Field(default=None, max_length=1000)
    imap_folder: str = Field(default="INBOX", min_length=1, max_length=200)
    smtp_host: str | None = Host
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_security: Security = Security.starttls
    smtp_username: str | None = Field(default=None, max_length=320)
    smtp_password: str | None = Field(default=None, max_length=1000)

    @model_validator(mode="after")
    def _imap_needs_a_server(self) -> MailboxCreate:
        if self.receiving == Receiving.imap and not self.imap_host:
            raise ValueError("receiving by IMAP needs imap_host")
        return self


class MailboxUpdate(MailboxCreate):
    """All settings at once, as the admin form sends them. Passwords are write-only: an empty
    one keeps the stored password; ``clear_*_password`` removes it."""

    is_active: bool = True
    clear_imap_password: bool = False
    clear_smtp_password: bool = False


# The settings stored as given (addresses are normalised, passwords sealed): one list for every writer.
SETTINGS = tuple(name for name in MailboxCreate.model_fields if name != "address" and not name.endswith("_password"))


class MailboxRead(OutputModel):
    id: int
    address: str
    display_name: str
    team_id: int | None
    receiving: Receiving
    imap_host: str | None
    imap_port: int | None
    imap_security: Security
    imap_username: str | None
    imap_folder: str
    smtp_host: str | None
    smtp_port: int | None
    smtp_security: Security
    smtp_username: str | None
    is_active: bool
    created_at: datetime
    last_fetch_at: datetime | None
    last_fetch_error: str | None
