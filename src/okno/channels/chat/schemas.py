from __future__ import annotations

from pydantic import EmailStr, Field

from okno.schemas import InputModel


class SignedIdentity(InputModel):
    """Who the site says its visitor is, signed with the widget's secret (see channels.widget.identity)."""

    email: str = Field(min_length=3, max_length=320)
    name: str = Field(default="", max_length=200)
    signature: str = Field(min_length=1, max_length=200)


class VisitorCreate(InputModel):
    name: str = Field(default="", max_length=200)
    identity: SignedIdentity | None = None


class EmailCodeRequest(InputModel):
    email: EmailStr
    locale: str = Field(default="en", max_length=10)


class EmailCodeConfirm(InputModel):
    code: str = Field(min_length=1, max_length=20)


class TranscriptRequest(InputModel):
    email: EmailStr | None = None
    locale: str = Field(default="en", max_length=10)
