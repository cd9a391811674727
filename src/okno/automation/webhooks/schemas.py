from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, field_validator

from okno.automation.webhooks.addresses import address_problem, literal_address, url_problem
from okno.automation.webhooks.models import DeliveryStatus
from okno.schemas import InputModel, OutputModel
from okno.tickets.events import EventKind

EVENT_KINDS = tuple(kind.value for kind in EventKind)


def _valid_url(url: str) -> str:
    problem = url_problem(url)
    if problem is not None:
        raise ValueError(problem)
    return url


def private_literal(url: str) -> str | None:
    """Why a URL's host, when written as an IP address, needs the private-network permission."""
    address = literal_address(urlsplit(url).hostname or "")
    problem = address_problem(address) if address is not None else None
    return f"{address} is a {problem} address: allow private networks to use it" if problem else None


Url = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_valid_url)]
Secret = Annotated[str, Field(min_length=16, max_length=200, pattern=r"^[\x21-\x7e]+$")]


def _known_kinds(kinds: list[str]) -> list[str]:
    unknown = [k for k in kinds if k not in EVENT_KINDS]
    if unknown:
        raise ValueError(f"unknown event kinds: {', '.join(unknown)}; known: {', '.join(EVENT_KINDS)}")
    return sorted(set(kinds), key=EVENT_KINDS.index)


class SubscriptionCreate(InputModel):
    name: str = Field(min_length=1, max_length=200)
    url: Url
    # Empty: every kind of ticket event.
    event_kinds: list[str] = Field(default_factory=list)
    enabled: bool = True
    allow_private_network: bool = False
    # Printable ASCII, at least 16 characters; generated when not given.
    secret: Secret | None = None

    _kinds = field_validator("event_kinds")(_known_kinds)


class SubscriptionUpdate(InputModel):
    """Only the fields sent change (the secret changes through rotation)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    url: Url | None = None
    event_kinds: list[str] | None = None
    enabled: bool | None = None
    allow_private_network: bool | None = None

    @field_validator("event_kinds")
    @classmethod
    def _kinds(cls, kinds: list[str] | None) -> list[str] | None:
        return None if kinds is None else _known_kinds(kinds)


class SecretRotate(InputModel):
    secret: Secret | None = None


class DeliveryRead(OutputModel):
    id: int
    subscription_id: int
    event_uid: str
    event_type: str
    ticket_id: int | None
    status: DeliveryStatus
    attempts: int
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    response_status: int | None
    response_excerpt: str | None
    error: str | None
    address: str | None
    duration_ms: int | None
    redelivery_of_id: int | None
    created_at: datetime
    delivered_at: datetime | None


class SubscriptionRead(OutputModel):
    id: int
    name: str
    url: str
    event_kinds: list[str]
    enabled: bool
    allow_private_network: bool
    created_at: datetime
    updated_at: datetime
    last_delivery: DeliveryRead | None = None


class SubscriptionCreated(SubscriptionRead):
    secret: str = Field(description="Shown only in this answer; it signs every delivery.")


class SecretRead(OutputModel):
    secret: str


class DeliveryPage(OutputModel):
    items: list[DeliveryRead]
