from __future__ import annotations

from datetime import datetime
from zoneinfo import available_timezones

from pydantic import EmailStr, Field, field_validator

from okno.accounts.models import PresenceStatus, Role
from okno.schemas import InputModel, OutputModel

LOCALES = ("en", "ru")


def _check_time_zone(value: str | None) -> str | None:
    if value is not None and value not in available_timezones():
        raise ValueError("unknown time zone; use an IANA name such as Europe/Moscow")
    return value


class UserCreate(InputModel):
    email: EmailStr
    name: str = Field(min_length=1, max_length=200)
    role: Role = Role.agent
    password: str | None = Field(default=None, min_length=10, max_length=200)
    team_ids: list[int] = Field(default_factory=list)
    limited_to_teams: bool = False
    languages: list[str] = Field(default_factory=list, max_length=20)
    skills: list[str] = Field(default_factory=list, max_length=50)
    locale: str = Field(default="en", pattern="^(en|ru)$")
    time_zone: str = "UTC"
    customer_id: int | None = None

    _tz = field_validator("time_zone")(_check_time_zone)


class UserUpdate(InputModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    password: str | None = Field(default=None, min_length=10, max_length=200)
    team_ids: list[int] | None = None
    limited_to_teams: bool | None = None
    languages: list[str] | None = Field(default=None, max_length=20)
    skills: list[str] | None = Field(default=None, max_length=50)
    locale: str | None = Field(default=None, pattern="^(en|ru)$")
    time_zone: str | None = None
    is_active: bool | None = None

    _tz = field_validator("time_zone")(_check_time_zone)


# What users may change on their own account; everything else needs an administrator.
SELF_EDITABLE = {"name", "password", "languages", "locale", "time_zone"}


class TeamRef(OutputModel):
    id: int
    name: str


class UserRead(OutputModel):
    id: int
    email: str
    name: str
    role: Role
    is_active: bool
    teams: list[TeamRef]
    limited_to_teams: bool
    languages: list[str]
    skills: list[str]
    locale: str
    time_zone: str
    customer_id: int | None
    created_at: datetime
    deactivated_at: datetime | None


class TeamCreate(InputModel):
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=2000)


class TeamUpdate(InputModel):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=2000)


class TeamRead(OutputModel):
    id: int
    name: str
    description: str
    created_at: datetime


class TokenCreate(InputModel):
    email: EmailStr
    password: str = Field(min_length=1, max_length=200)
    name: str = Field(default="", max_length=120)


class TokenIssued(OutputModel):
    token: str = Field(description="Shown once; only its hash is stored.")
    token_id: int
    user_id: int


class PresenceSet(InputModel):
    status: PresenceStatus


class PresenceRead(OutputModel):
    user_id: int
    name: str
    status: PresenceStatus
    since: datetime | None
