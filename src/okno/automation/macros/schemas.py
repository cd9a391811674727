"""Macros over the API: what may be written, and how they read back."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from okno.automation.macros import render
from okno.automation.macros.models import MacroScope
from okno.schemas import Id, InputModel, OutputModel
from okno.tickets.models import Priority, TicketStatus
from okno.tickets.schemas import TicketRead, normalise_tag

MAX_BODY = 20_000
MacroKind = Literal["reply", "note"]


def check_placeholders(body: str) -> str:
    unknown = render.unknown_placeholders(body)
    if unknown:
        names = ", ".join(render.syntax(name) for name in unknown)
        valid = ", ".join(render.syntax(name) for name in render.PLACEHOLDERS)
        raise ValueError(f"unknown placeholder {names}; use one of: {valid}")
    return body


def _tags(values: list[str]) -> list[str]:
    return sorted({normalise_tag(v) for v in values})


class MacroActions(InputModel):
    """What applying the macro changes on the ticket; every field left out leaves that property alone."""

    status: TicketStatus | None = None
    priority: Priority | None = None
    add_tags: list[str] = Field(default_factory=list, max_length=20)
    remove_tags: list[str] = Field(default_factory=list, max_length=20)
    assignee: Id | Literal["me", "nobody"] | None = Field(
        default=None, description='"me" (whoever applies the macro), "nobody" (unassign) or a user id.'
    )
    team_id: Id | None = None

    _normalise_tags = field_validator("add_tags", "remove_tags")(_tags)

    @field_validator("status")
    @classmethod
    def _not_new(cls, status: TicketStatus | None) -> TicketStatus | None:
        if status == TicketStatus.new:
            raise ValueError("a ticket cannot be set back to new")
        return status

    @model_validator(mode="after")
    def _no_tag_both_ways(self) -> MacroActions:
        both = sorted(set(self.add_tags) & set(self.remove_tags))
        if both:
            raise ValueError(f"a tag cannot be both added and removed: {', '.join(both)}")
        return self

    @property
    def empty(self) -> bool:
        return not self.stored()

    def stored(self) -> dict[str, Any]:
        """The actions as kept in the database: only what the macro changes."""
        return self.model_dump(mode="json", exclude_defaults=True)


class MacroCreate(InputModel):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(
        default="",
        max_length=MAX_BODY,
        description="The text, with placeholders such as {{customer.first_name}}. May be empty when "
        "the macro has actions.",
    )
    kind: MacroKind = Field(default="reply", description="A public reply or an internal note.")
    actions: MacroActions = Field(default_factory=MacroActions)
    scope: MacroScope = MacroScope.personal
    team_id: Id | None = Field(default=None, description="The team of a team macro.")
    active: bool = True

    _placeholders = field_validator("body")(check_placeholders)


class MacroUpdate(InputModel):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    body: str | None = Field(default=None, max_length=MAX_BODY)
    kind: MacroKind | None = None
    actions: MacroActions | None = Field(default=None, description="Replaces the macro's actions as a whole.")
    scope: MacroScope | None = None
    team_id: Id | None = None
    active: bool | None = None

    @field_validator("body")
    @classmethod
    def _placeholders(cls, body: str | None) -> str | None:
        return None if body is None else check_placeholders(body)


class MacroRead(OutputModel):
    id: int
    title: str
    body: str
    kind: MacroKind
    actions: MacroActions
    scope: MacroScope
    owner_id: int | None
    team_id: int | None
    active: bool
    usage_count: int
    last_used_at: datetime | None
    created_at: datetime
    updated_at: datetime


class MacroApply(InputModel):
    post: bool = Field(default=False, description="Also post the rendered text as the macro's reply or note.")


class MacroApplied(OutputModel):
    macro_id: int
    kind: MacroKind
    text: str = Field(description="The rendered text, for the composer (or as posted).")
    missing_placeholders: list[str] = Field(description="Placeholders that had no value and were left empty.")
    message_id: int | None = Field(description="The posted message, when post was true.")
    ticket: TicketRead
