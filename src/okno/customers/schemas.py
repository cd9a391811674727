from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import EmailStr, Field

from okno.customers.models import IdentityKind, Plan
from okno.schemas import Id, InputModel, OutputModel


class IdentityIn(InputModel):
    kind: IdentityKind
    value: str = Field(min_length=1, max_length=320)


class IdentityRead(OutputModel):
    id: int
    kind: IdentityKind
    value: str


class CustomerCreate(InputModel):
    name: str = Field(default="", max_length=200)
    email: EmailStr | None = None
    identities: list[IdentityIn] = Field(default_factory=list, max_length=50)
    organization_id: Id | None = None
    plan: Plan | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


class CustomerUpdate(InputModel):
    name: str | None = Field(default=None, max_length=200)
    organization_id: Id | None = None
    plan: Plan | None = None
    attributes: dict[str, Any] | None = None
    add_identities: list[IdentityIn] = Field(default_factory=list, max_length=50)


class CustomerRead(OutputModel):
    id: int
    name: str
    email: str | None
    organization_id: int | None
    plan: Plan | None
    effective_plan: Plan
    attributes: dict[str, Any]
    identities: list[IdentityRead]
    merged_into_id: int | None = Field(
        default=None, description="Set when this record was merged into another one (the same person)."
    )
    created_at: datetime
    updated_at: datetime


class CustomerPage(OutputModel):
    items: list[CustomerRead]
    next_cursor: str | None


class OrganizationCreate(InputModel):
    name: str = Field(min_length=1, max_length=200)
    domains: list[str] = Field(default_factory=list, max_length=50)
    plan: Plan = Plan.free
    shared_tickets: bool = False
    attributes: dict[str, Any] = Field(default_factory=dict)


class OrganizationUpdate(InputModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    domains: list[str] | None = Field(default=None, max_length=50)
    plan: Plan | None = None
    shared_tickets: bool | None = None
    attributes: dict[str, Any] | None = None


class OrganizationRead(OutputModel):
    id: int
    name: str
    domains: list[str]
    plan: Plan
    shared_tickets: bool
    attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class NoteCreate(InputModel):
    body: str = Field(min_length=1, max_length=20_000)


class NoteRead(OutputModel):
    id: int
    customer_id: int
    author_id: int
    body: str
    created_at: datetime
    updated_at: datetime
    edited_at: datetime | None = None
    edited_by_id: int | None = None


class NoteRevisionRead(OutputModel):
    """A note's earlier text: who wrote it and when, and who replaced it and when."""

    id: int
    note_id: int
    body: str
    written_by_id: int
    written_at: datetime
    replaced_by_id: int
    replaced_at: datetime


class CustomerMergeRequest(InputModel):
    into_id: Id = Field(description="The customer record that stays; this one is merged into it.")


class CustomerMergeResult(OutputModel):
    customer: CustomerRead
    merged_id: int
    moved_ticket_count: int
    moved_identity_count: int
    moved_note_count: int
