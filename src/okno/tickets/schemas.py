from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import EmailStr, Field, field_validator, model_validator

from okno.automation.sla.schemas import SlaClockRead
from okno.customers.models import Plan
from okno.schemas import Id, InputModel, OutputModel
from okno.tickets.models import Channel, DeliveryStatus, MessageKind, Priority, TicketStatus, ViewScope

TAG_PATTERN = re.compile(r"^[\w][\w\-.:/+]{0,79}$")


def normalise_tag(name: str) -> str:
    tag = "-".join(name.strip().lower().split())
    if not TAG_PATTERN.match(tag):
        raise ValueError(f"{name!r} is not a valid tag (letters, digits, - . : / +; up to 80)")
    return tag


def _tags(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    return sorted({normalise_tag(v) for v in value})


class CustomerRef(InputModel):
    email: EmailStr
    name: str = Field(default="", max_length=200)


class MessageIn(InputModel):
    body: str = Field(default="", max_length=200_000)
    body_html: str | None = Field(default=None, max_length=1_000_000)
    attachment_ids: list[str] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _not_empty(self) -> MessageIn:
        if not self.body.strip() and not (self.body_html or "").strip() and not self.attachment_ids:
            raise ValueError("a message needs a body or an attachment")
        return self


class TicketCreate(InputModel):
    subject: str = Field(min_length=1, max_length=500)
    customer: CustomerRef | None = None
    customer_id: Id | None = None
    message: MessageIn
    channel: Channel = Channel.api
    priority: Priority = Priority.normal
    tags: list[str] = Field(default_factory=list, max_length=50)
    team_id: Id | None = None
    assignee_id: Id | None = None
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    cc: list[EmailStr] = Field(default_factory=list, max_length=50)
    outbound: bool = Field(
        default=False,
        description="Staff only: the first message is the agent's own message to the customer (an outbound "
        "ticket, recorded as a public reply; the ticket waits for the customer as pending), not the customer's words.",
    )

    _normalise_tags = field_validator("tags")(_tags)


class TicketUpdate(InputModel):
    subject: str | None = Field(default=None, min_length=1, max_length=500)
    status: TicketStatus | None = None
    priority: Priority | None = None
    assignee_id: Id | None = None
    team_id: Id | None = None
    tags: list[str] | None = Field(default=None, max_length=50)
    add_tags: list[str] | None = Field(default=None, max_length=50)
    remove_tags: list[str] | None = Field(default=None, max_length=50)
    custom_fields: dict[str, Any] | None = None
    customer_plan: Plan | None = Field(
        default=None,
        description="The plan the ticket is served under (the customer's when it opened); SLA targets follow it.",
    )

    _normalise_tags = field_validator("tags", "add_tags", "remove_tags")(_tags)


class MessageCreate(MessageIn):
    kind: MessageKind = MessageKind.reply
    status: TicketStatus | None = Field(default=None, description="Send and set the ticket's status at once.")
    seen_message_id: Id | None = Field(
        default=None,
        description="The newest message the writer had seen. A public reply is refused (409 replied_meanwhile) "
        "when a colleague has replied since, so the customer does not get two answers.",
    )
    mentioned_user_ids: list[Id] = Field(
        default_factory=list,
        max_length=20,
        description="Internal notes only: colleagues to notify. Each must be active staff who may open the ticket.",
    )

    @field_validator("kind")
    @classmethod
    def _no_inbound(cls, kind: MessageKind) -> MessageKind:
        if kind == MessageKind.inbound:
            raise ValueError("use 'reply' or 'note'; a customer's reply is recorded as inbound by itself")
        return kind


class MergeRequest(InputModel):
    target_ticket_id: Id
    confirm_different_customers: bool = False


class CustomerSummary(OutputModel):
    id: int
    name: str
    email: str | None


class TicketRead(OutputModel):
    id: int
    number: int
    subject: str
    status: TicketStatus
    priority: Priority
    channel: Channel
    team_id: int | None
    assignee_id: int | None
    customer: CustomerSummary
    customer_plan: str
    language: str | None
    tags: list[str]
    custom_fields: dict[str, Any]
    participant_ids: list[int]
    merged_into_id: int | None
    follow_up_of_id: int | None
    created_at: datetime
    updated_at: datetime
    last_activity_at: datetime
    status_changed_at: datetime | None = Field(
        default=None, description="Since when it is in its status: its last change of status, else its creation."
    )
    solved_at: datetime | None
    closed_at: datetime | None
    # When the customer's oldest unanswered message arrived; null when an agent has answered.
    waiting_since: datetime | None = None
    sla_due_at: datetime | None = Field(
        default=None, description="When its first running SLA target is due (past: breached); null when none runs."
    )
    sla: list[SlaClockRead] | None = Field(
        default=None,
        description="Staff only: its SLA targets (first response, resolution, the latest next response).",
    )
    spam_at: datetime | None = Field(
        default=None, description="Staff only: when it went into the spam folder; null when it is not spam."
    )


class TicketPage(OutputModel):
    items: list[TicketRead]
    next_cursor: str | None


class AttachmentRead(OutputModel):
    id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    inline_image: bool
    url: str
    created_at: datetime


class Author(OutputModel):
    type: str
    id: int | None


class MessageRead(OutputModel):
    id: int
    ticket_id: int
    kind: MessageKind
    channel: Channel
    author: Author
    body_text: str
    body_html: str
    language: str | None
    external_id: str | None = Field(description="The channel's id of the message: an email's Message-ID.")
    delivery_status: DeliveryStatus | None = Field(
        default=None, description="For public replies a channel delivers: queued, sent or failed."
    )
    delivery_error: str | None = Field(default=None, description="Why delivery failed, when it did.")
    read_at: datetime | None = Field(
        default=None,
        description="When the other side first read it, where the channel can tell (chat): a customer's "
        "message read by an agent, an agent's reply read by the customer.",
    )
    attachments: list[AttachmentRead]
    created_at: datetime


class EventRead(OutputModel):
    id: int
    ticket_id: int
    kind: str
    actor_type: str
    actor_id: int | None
    occurred_at: datetime
    recorded_at: datetime
    data: dict[str, Any]


class TagCreate(InputModel):
    name: str

    _normalise = field_validator("name")(normalise_tag)


class TagRead(OutputModel):
    id: int
    name: str
    created_at: datetime


def _options(value: list[str] | None) -> list[str] | None:
    """Choices of a select field: trimmed, none empty, none twice, each at most 200 characters."""
    if value is None:
        return None
    options = [" ".join(v.split()) for v in value]
    if any(not o for o in options):
        raise ValueError("an option is empty")
    if too_long := [o for o in options if len(o) > 200]:
        raise ValueError(f"options are at most 200 characters: {too_long[0][:40]}…")
    if repeated := sorted({o for o in options if options.count(o) > 1}):
        raise ValueError(f"options repeat: {', '.join(repeated)}")
    return options


class CustomFieldCreate(InputModel):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    label: str = Field(min_length=1, max_length=200)
    field_type: str = Field(pattern="^(text|number|boolean|date|select)$")
    options: list[str] = Field(default_factory=list, max_length=200)

    _options = field_validator("options")(_options)


class CustomFieldUpdate(InputModel):
    """The key and the type stay: tickets and the event log hold values under that key, of that type."""

    label: str | None = Field(default=None, min_length=1, max_length=200)
    options: list[str] | None = Field(default=None, max_length=200)
    is_active: bool | None = None

    _options = field_validator("options")(_options)


class CustomFieldRead(OutputModel):
    id: int
    key: str
    label: str
    field_type: str
    options: list[str]
    is_active: bool


ASSIGNEE_PATTERN = r"^(me|nobody|[1-9][0-9]{0,17})$"


class SavedViewFilters(InputModel):
    """What a saved view shows; every condition given must hold. ``assignee`` is "me" (whoever looks),
    "nobody" (unassigned) or a user id."""

    status: list[TicketStatus] = Field(default_factory=list, max_length=len(TicketStatus))
    team_id: Id | None = None
    assignee: str | None = Field(default=None, pattern=ASSIGNEE_PATTERN)
    tag: str | None = None
    channel: Channel | None = None
    priority: list[Priority] = Field(default_factory=list, max_length=len(Priority))
    customer_plan: Plan | None = None

    @field_validator("tag")
    @classmethod
    def _tag(cls, value: str | None) -> str | None:
        return normalise_tag(value) if value else None

    @field_validator("status", "priority")
    @classmethod
    def _distinct(cls, value: list[Any]) -> list[Any]:
        return sorted(set(value))


class SavedViewIn(InputModel):
    name: str = Field(min_length=1, max_length=80)
    scope: ViewScope = ViewScope.personal
    team_id: Id | None = None
    filters: SavedViewFilters = Field(default_factory=SavedViewFilters)
    sort: str = Field(default="-last_activity_at", max_length=40)
