from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import available_timezones

from pydantic import EmailStr, Field, field_validator

from okno.accounts.models import PresenceStatus, Role
from okno.schemas import Id, InputModel, OutputModel

LOCALES = ("en", "ru")
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")
SKILL = re.compile(r"^[\w][\w\-. +/]{0,59}$")


def _check_languages(values: list[str] | None) -> list[str] | None:
    """ISO 639 codes such as en, ru, de: lower-cased, each once, in the order given."""
    if values is None:
        return None
    codes = list(dict.fromkeys(v.strip().lower() for v in values if v.strip()))
    if bad := [c for c in codes if not LANGUAGE_CODE.match(c)]:
        raise ValueError(f"not a language code: {', '.join(bad)}; use codes such as en, ru, de")
    return codes


def _check_skills(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    skills = list(dict.fromkeys(" ".join(v.split()) for v in values if v.strip()))
    if bad := [s for s in skills if not SKILL.match(s)]:
        raise ValueError(f"not a skill name: {', '.join(bad)}; up to 60 letters, digits, spaces or - . + /")
    return skills


def _check_time_zone(value: str | None) -> str | None:
    if value is not None and value not in available_timezones():
        raise ValueError("unknown time zone; use an IANA name such as Europe/Moscow")
    return value


class UserCreate(InputModel):
    email: EmailStr
    name: str = Field(min_length=1, max_length=200)
    role: Role = Role.agent
    password: str | None = Field(default=None, min_length=10, max_length=200)
    team_ids: list[Id] = Field(default_factory=list)
    limited_to_teams: bool = False
    languages: list[str] = Field(default_factory=list, max_length=20)
    skills: list[str] = Field(default_factory=list, max_length=50)
    locale: str = Field(default="en", pattern="^(en|ru)$")
    time_zone: str = "UTC"
    customer_id: Id | None = None

    _tz = field_validator("time_zone")(_check_time_zone)
    _languages = field_validator("languages")(_check_languages)
    _skills = field_validator("skills")(_check_skills)


class UserInvite(InputModel):
    """A new staff member who chooses their own password through a single-use link."""

    email: EmailStr
    name: str = Field(min_length=1, max_length=200)
    role: Role = Role.agent
    team_ids: list[Id] = Field(default_factory=list)
    limited_to_teams: bool = False
    languages: list[str] = Field(default_factory=list, max_length=20)
    skills: list[str] = Field(default_factory=list, max_length=50)
    locale: str = Field(default="en", pattern="^(en|ru)$")

    _languages = field_validator("languages")(_check_languages)
    _skills = field_validator("skills")(_check_skills)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the name is empty")
        return value.strip()

    @field_validator("role")
    @classmethod
    def _staff(cls, value: Role) -> Role:
        if value == Role.customer:
            raise ValueError("invitations are for staff; customers sign in through the portal")
        return value


class UserUpdate(InputModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    password: str | None = Field(default=None, min_length=10, max_length=200)
    team_ids: list[Id] | None = None
    limited_to_teams: bool | None = None
    languages: list[str] | None = Field(default=None, max_length=20)
    skills: list[str] | None = Field(default=None, max_length=50)
    locale: str | None = Field(default=None, pattern="^(en|ru)$")
    time_zone: str | None = None
    is_active: bool | None = None

    _tz = field_validator("time_zone")(_check_time_zone)
    _languages = field_validator("languages")(_check_languages)
    _skills = field_validator("skills")(_check_skills)


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


class TeamMembers(InputModel):
    user_ids: list[Id] = Field(default_factory=list, max_length=1000)


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
