"""The read side of tickets: inbox lists with filters and keyset pagination, timelines.

Every query starts from ``permissions.visible_tickets`` so a list can never include a
ticket its reader may not open.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from okno.accounts.permissions import CUSTOMER_VISIBLE_EVENTS, Actor, visible_tickets
from okno.customers import queries as customers_queries
from okno.errors import Invalid
from okno.schemas import MAX_ID
from okno.tickets import access
from okno.tickets.models import (
    Attachment,
    Channel,
    Message,
    MessageKind,
    Priority,
    Tag,
    Ticket,
    TicketEvent,
    TicketStatus,
    TicketTag,
)
from okno.tickets.schemas import AttachmentRead, Author, MessageRead, TicketRead


@dataclass(frozen=True)
class SortKey:
    """One entry of the allow-list of sorts: the ordered columns before the id that breaks ties.

    ``attrs`` name the ticket attributes a cursor records. A ``nullable`` key (one column) puts
    tickets without a value last in either direction, and its keyset condition says so.
    """

    columns: tuple[Any, ...]
    attrs: tuple[str, ...]
    nullable: bool = False


SORTS: dict[str, SortKey] = {
    "last_activity_at": SortKey((Ticket.last_activity_at,), ("last_activity_at",)),
    "created_at": SortKey((Ticket.created_at,), ("created_at",)),
    "updated_at": SortKey((Ticket.updated_at,), ("updated_at",)),
    "number": SortKey((Ticket.number,), ("number",)),
    # Urgent first, then the most recently active: ties within a priority are the common case.
    "priority": SortKey((Ticket.priority_rank, Ticket.last_activity_at), ("priority_rank", "last_activity_at")),
    # Ascending: the customer who has waited longest first; tickets nobody waits on come last.
    "waiting_since": SortKey((Ticket.waiting_since,), ("waiting_since",), nullable=True),
    # Ascending: the SLA target due soonest (breached: longest ago) first; no running target last.
    "sla_due_at": SortKey((Ticket.sla_due_at,), ("sla_due_at",), nullable=True),
}
DEFAULT_SORT = "-last_activity_at"
# Timelines show these as the messages themselves, not as separate event lines.
EVENTS_SHOWN_AS_MESSAGES = frozenset({"message_received", "reply_sent", "note_added"})


@dataclass(frozen=True)
class TicketFilters:
    status: list[TicketStatus] | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    team_id: list[int] | None = None
    tag: str | None = None
    customer_id: int | None = None
    organization_id: int | None = None
    channel: Channel | None = None
    updated_since: datetime | None = None
    q: str | None = None
    priority: list[Priority] | None = None
    customer_plan: str | None = None
    sla_due_before: datetime | None = None  # a running SLA target due by then (or breached)
    # Staff see the spam folder apart: only its tickets with True, none of them otherwise. Customers
    # see their own tickets whether in spam or not: the folder is the desk's business.
    spam: bool = False


def parse_sort(sort: str) -> tuple[str, bool]:
    descending = sort.startswith("-")
    key = sort.lstrip("-+")
    if key not in SORTS:
        allowed = ", ".join(sorted(SORTS))
        raise Invalid(f"cannot sort by {key!r}; use one of {allowed} (prefix - for descending)", field="sort")
    return key, descending


def _encode_cursor(sort: str, values: list[Any], ticket_id: int) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    raw = json.dumps([sort, plain[0] if len(plain) == 1 else plain, ticket_id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _bigint(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and -MAX_ID <= value <= MAX_ID


def _decode_cursor(cursor: str, sort: str) -> tuple[list[Any], int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        cursor_sort, value, ticket_id = json.loads(base64.urlsafe_b64decode(padded))
        key, _desc = parse_sort(sort)
        spec = SORTS[key]
        if cursor_sort != sort or not _bigint(ticket_id):
            raise ValueError
        raw = [value] if len(spec.attrs) == 1 else value
        if not isinstance(raw, list) or len(raw) != len(spec.attrs):
            raise ValueError
        values: list[Any] = []
        for attr, item in zip(spec.attrs, raw, strict=True):
            if item is None and spec.nullable:
                values.append(None)
            elif attr.endswith(("_at", "_since")):
                instant = datetime.fromisoformat(item)
                if instant.tzinfo is None:
                    raise ValueError
                values.append(instant)
            elif _bigint(item):
                values.append(item)
            else:
                raise ValueError
        return values, ticket_id
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError, UnicodeDecodeError):
        raise Invalid("the cursor is malformed or belongs to another sort order", field="cursor") from None


def _after(spec: SortKey, descending: bool, values: list[Any], last_id: int) -> sa.ColumnElement[bool]:
    """The keyset condition: rows strictly after the cursor's (values..., id) in this order."""
    row = sa.tuple_(*spec.columns, Ticket.id)
    key = (*values, last_id)
    return row < key if descending else row > key


def _order(spec: SortKey, descending: bool) -> list[Any]:
    order = [c.desc() if descending else c.asc() for c in spec.columns]
    return [*order, Ticket.id.desc() if descending else Ticket.id.asc()]


def _page_nullable(
    session: Session,
    query: sa.Select[Ticket],
    spec: SortKey,
    descending: bool,
    after: tuple[list[Any], int] | None,
    limit: int,
    valued_only: bool = False,
) -> list[Ticket]:
    """A page of a sort whose key may be missing: rows with a value, in order, then those without, by id.

    Two plain keyset queries rather than one with ``OR key IS NULL``: that OR keeps the database
    from starting the index scan at the cursor, so every later page would rescan the earlier ones.
    The second query runs only on the page where the valued rows run out, and never when the
    filters ask for a value (``valued_only``): it could find nothing, but might read the whole table.
    """
    column = spec.columns[0]
    rows: list[Ticket] = []
    in_valueless = after is not None and after[0][0] is None
    if not in_valueless:
        valued = query.where(column.is_not(None))
        if after is not None:
            valued = valued.where(_after(spec, descending, after[0], after[1]))
        rows = access.with_lists(session, valued.order_by(*_order(spec, descending)).limit(limit + 1))
    if len(rows) <= limit and not valued_only:
        valueless = query.where(column.is_(None))
        if in_valueless:
            assert after is not None
            valueless = valueless.where(Ticket.id < after[1] if descending else Ticket.id > after[1])
        by_id = Ticket.id.desc() if descending else Ticket.id.asc()
        rows += access.with_lists(session, valueless.order_by(by_id).limit(limit + 1 - len(rows)))
    return rows


def filtered(actor: Actor, filters: TicketFilters, *narrower: TicketFilters) -> sa.Select[Ticket]:
    """Tickets the actor may see that match every given set of filters (a view, then a filter bar)."""
    query = sa.select(Ticket).where(visible_tickets(actor), Ticket.merged_into_id.is_(None))
    if actor.is_staff:
        in_spam = any(each.spam for each in (filters, *narrower))
        query = query.where(Ticket.spam_at.is_not(None) if in_spam else Ticket.spam_at.is_(None))
    for each in (filters, *narrower):
        query = _narrow(query, actor, each)
    return query


def _narrow(query: sa.Select[Ticket], actor: Actor, filters: TicketFilters) -> sa.Select[Ticket]:
    if filters.status:
        query = query.where(Ticket.status.in_([s.value for s in filters.status]))
    if filters.assignee_id is not None:
        query = query.where(Ticket.assignee_id == filters.assignee_id)
    if filters.unassigned:
        query = query.where(Ticket.assignee_id.is_(None))
    if filters.team_id:
        query = query.where(Ticket.team_id.in_(filters.team_id))
    if filters.customer_id is not None:
        query = query.where(Ticket.customer_id == filters.customer_id)
    if filters.organization_id is not None:
        query = query.where(Ticket.customer_id.in_(customers_queries.members_of(filters.organization_id)))
    if filters.channel is not None:
        query = query.where(Ticket.channel == filters.channel.value)
    if filters.priority:
        query = query.where(Ticket.priority.in_([p.value for p in filters.priority]))
    if filters.customer_plan is not None:
        query = query.where(Ticket.customer_plan == filters.customer_plan)
    if filters.sla_due_before is not None:
        query = query.where(Ticket.sla_due_at <= filters.sla_due_before)
    if filters.updated_since is not None:
        query = query.where(Ticket.updated_at >= filters.updated_since)
    if filters.tag:
        query = query.where(
            Ticket.id.in_(sa.select(TicketTag.ticket_id).join(Tag).where(Tag.name == filters.tag.lower()))
        )
    if filters.q:
        pattern = "%" + filters.q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        in_messages = sa.select(Message.ticket_id).where(sa.func.lower(Message.body_text).like(pattern, escape="\\"))
        if not actor.is_staff:
            in_messages = in_messages.where(Message.kind != MessageKind.note)
        number = int(filters.q.lstrip("#")) if filters.q.lstrip("#").isdigit() else None
        query = query.where(
            sa.or_(
                sa.func.lower(Ticket.subject).like(pattern, escape="\\"),
                Ticket.id.in_(in_messages),
                Ticket.number == number if number is not None else sa.false(),
            )
        )
    return query


def list_tickets(
    session: Session,
    actor: Actor,
    filters: TicketFilters,
    *,
    sort: str = DEFAULT_SORT,
    limit: int = 25,
    cursor: str | None = None,
    narrower: Sequence[TicketFilters] = (),
) -> tuple[list[Ticket], str | None]:
    key, descending = parse_sort(sort)
    spec = SORTS[key]
    query = filtered(actor, filters, *narrower)
    after = _decode_cursor(cursor, sort) if cursor else None
    if spec.nullable:
        valued_only = key == "sla_due_at" and any(f.sla_due_before for f in (filters, *narrower))
        rows = _page_nullable(session, query, spec, descending, after, limit, valued_only)
    else:
        if after is not None:
            query = query.where(_after(spec, descending, *after))
        rows = access.with_lists(session, query.order_by(*_order(spec, descending)).limit(limit + 1))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = _encode_cursor(sort, [getattr(last, attr) for attr in spec.attrs], last.id)
    return rows, next_cursor


def count_tickets(session: Session, actor: Actor, filters: TicketFilters) -> int:
    """How many tickets of a filter the actor may see (for small sets: a customer's, an organization's)."""
    query = filtered(actor, filters).with_only_columns(sa.func.count(Ticket.id)).order_by(None)
    return int(session.scalar(query) or 0)


_READ_FIELDS = (
    *("id", "number", "subject", "status", "priority", "channel", "team_id", "assignee_id", "customer_plan"),
    *("language", "custom_fields", "merged_into_id", "follow_up_of_id", "created_at", "updated_at"),
    *("last_activity_at", "status_changed_at", "solved_at", "closed_at", "waiting_since", "sla_due_at", "spam_at"),
)


def to_reads(session: Session, tickets: Sequence[Ticket]) -> list[TicketRead]:
    """Ticket schemas for a page of tickets, with their customers, in a fixed number of queries."""
    people = customers_queries.summaries(session, {t.customer_id for t in tickets})
    return [
        TicketRead.model_validate(
            {
                **{name: getattr(t, name) for name in _READ_FIELDS},
                "customer": {
                    "id": t.customer_id,
                    "name": people.get(t.customer_id, ("", None))[0],
                    "email": people.get(t.customer_id, ("", None))[1],
                },
                "tags": [tag.name for tag in t.tags],
                "participant_ids": [p.customer_id for p in t.participants],
            }
        )
        for t in tickets
    ]


def attachment_read(attachment: Attachment) -> AttachmentRead:
    return AttachmentRead(
        id=attachment.id,
        filename=attachment.filename,
        content_type=attachment.content_type,
        size=attachment.size,
        sha256=attachment.sha256,
        inline_image=attachment.inline_image_type is not None,
        url=f"/api/v1/attachments/{attachment.id}",
        created_at=attachment.created_at,
    )


def message_read(message: Message) -> MessageRead:
    author = (
        Author(type="user", id=message.author_user_id)
        if message.kind != MessageKind.inbound and message.author_user_id is not None
        else Author(type="customer", id=message.author_customer_id)
        if message.author_customer_id is not None
        else Author(type="system", id=None)
    )
    return MessageRead(
        id=message.id,
        ticket_id=message.ticket_id,
        kind=MessageKind(message.kind),
        channel=Channel(message.channel),
        author=author,
        body_text=message.body_text,
        body_html=message.body_html,
        language=message.language,
        external_id=message.external_id,
        delivery_status=message.delivery_status,
        delivery_error=message.delivery_error,
        read_at=message.read_at,
        attachments=[attachment_read(a) for a in message.attachments],
        created_at=message.created_at,
    )


def list_messages(session: Session, actor: Actor, ticket: Ticket, *, after_id: int | None, limit: int) -> list[Message]:
    query = (
        sa.select(Message)
        .where(Message.ticket_id == ticket.id)
        .options(selectinload(Message.attachments))
        .order_by(Message.created_at, Message.id)
        .limit(limit)
    )
    if not actor.is_staff:
        query = query.where(Message.kind != MessageKind.note)
    if after_id is not None:
        query = query.where(Message.id > after_id)
    return list(session.scalars(query))


def merged_ticket_ids(session: Session, ticket_id: int) -> list[int]:
    """The ticket and every ticket merged into it, directly or through others."""
    ids, frontier = [ticket_id], [ticket_id]
    while frontier:
        frontier = list(session.scalars(sa.select(Ticket.id).where(Ticket.merged_into_id.in_(frontier))))
        ids.extend(frontier)
    return ids


def list_events(
    session: Session, actor: Actor, ticket: Ticket, *, after_id: int | None, limit: int
) -> list[TicketEvent]:
    """The ticket's history, including that of tickets merged into it."""
    query = (
        sa.select(TicketEvent)
        .where(TicketEvent.ticket_id.in_(merged_ticket_ids(session, ticket.id)))
        .order_by(TicketEvent.id)
        .limit(limit)
    )
    if not actor.is_staff:
        query = query.where(TicketEvent.kind.in_(sorted(CUSTOMER_VISIBLE_EVENTS)))
    if after_id is not None:
        query = query.where(TicketEvent.id > after_id)
    return list(session.scalars(query))


@dataclass(frozen=True)
class TicketLink:
    id: int
    number: int
    subject: str
    status: str


def _links(session: Session, actor: Actor, condition: sa.ColumnElement[bool], limit: int = 50) -> list[TicketLink]:
    rows = session.execute(
        sa.select(Ticket.id, Ticket.number, Ticket.subject, Ticket.status)
        .where(visible_tickets(actor), condition)
        .order_by(Ticket.number)
        .limit(limit)
    )
    return [TicketLink(*row) for row in rows]


@dataclass(frozen=True)
class Related:
    """Tickets linked to one: the one it follows up, its follow-ups, and those merged into it."""

    previous: TicketLink | None
    follow_ups: list[TicketLink]
    merged_in: list[TicketLink]
    merged_into: TicketLink | None


def related(session: Session, actor: Actor, ticket: Ticket) -> Related:
    """Only tickets the reader may see are named; a link to one they may not see is left out."""
    previous = _links(session, actor, Ticket.id == ticket.follow_up_of_id) if ticket.follow_up_of_id else []
    merged_into = _links(session, actor, Ticket.id == ticket.merged_into_id) if ticket.merged_into_id else []
    return Related(
        previous=previous[0] if previous else None,
        follow_ups=_links(session, actor, Ticket.follow_up_of_id == ticket.id),
        merged_in=_links(session, actor, Ticket.merged_into_id == ticket.id),
        merged_into=merged_into[0] if merged_into else None,
    )


def merge_candidates(session: Session, actor: Actor, source: Ticket, q: str, *, limit: int = 20) -> list[Ticket]:
    """Tickets the source could be merged into: visible, not closed, not merged; by #number or words.

    With no search words, the customer's own other tickets come first: a duplicate is the usual case.
    """
    open_statuses: list[TicketStatus] = [s for s in TicketStatus if s != TicketStatus.closed]
    query = filtered(actor, TicketFilters(q=q or None, status=open_statuses)).where(Ticket.id != source.id)
    if not q:
        query = query.where(Ticket.customer_id == source.customer_id)
    query = query.order_by(Ticket.last_activity_at.desc(), Ticket.id.desc()).limit(limit)
    return access.with_lists(session, query)


def ticket_titles(session: Session, actor: Actor, ticket_ids: set[int]) -> dict[int, tuple[int, str]]:
    """(number, subject) of those of these tickets the reader may see."""
    if not ticket_ids:
        return {}
    rows = session.execute(
        sa.select(Ticket.id, Ticket.number, Ticket.subject).where(Ticket.id.in_(ticket_ids), visible_tickets(actor))
    )
    return {ticket_id: (number, subject) for ticket_id, number, subject in rows}


def message_ticket_id(session: Session, actor: Actor, message_id: int) -> int | None:
    """The ticket a message is on now (merging moves messages), if the reader may see it."""
    return session.scalar(
        sa.select(Message.ticket_id)
        .join(Ticket, Ticket.id == Message.ticket_id)
        .where(Message.id == message_id, visible_tickets(actor))
    )


def reply_for_delivery(session: Session, message_id: int) -> Message | None:
    """A public reply with its attachments, locked while a channel delivers it."""
    return session.scalars(
        sa.select(Message)
        .where(Message.id == message_id, Message.kind == MessageKind.reply)
        .options(selectinload(Message.attachments))
        .with_for_update(of=Message)
    ).first()


@dataclass(frozen=True)
class ReplyThread:
    """What a channel needs to send a reply where it belongs: the ticket, its people, its earlier ids."""

    ticket_id: int
    number: int
    subject: str
    team_id: int | None
    customer_id: int
    participant_ids: frozenset[int]
    # External ids (Message-IDs) of the conversation's earlier messages, newest first.
    earlier_ids: list[str]


def reply_thread(session: Session, message: Message, *, limit: int = 20) -> ReplyThread:
    ticket = session.get(Ticket, message.ticket_id, options=[selectinload(Ticket.participants)])
    assert ticket is not None
    earlier = session.scalars(
        sa.select(Message.external_id)
        .where(Message.ticket_id == ticket.id, Message.id < message.id, Message.external_id.is_not(None))
        .where(Message.kind != MessageKind.note)
        .order_by(Message.id.desc())
        .limit(limit)
    )
    return ReplyThread(
        ticket_id=ticket.id,
        number=ticket.number,
        subject=ticket.subject,
        team_id=ticket.team_id,
        customer_id=ticket.customer_id,
        participant_ids=frozenset(p.customer_id for p in ticket.participants),
        earlier_ids=[external_id for external_id in earlier if external_id],
    )
