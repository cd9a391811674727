"""JSON routes for tickets, their messages, events, attachments, tags and custom fields."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request, UploadFile
from fastapi.responses import FileResponse, Response
from pydantic import AwareDatetime
from starlette.concurrency import run_in_threadpool

from okno.accounts.permissions import Actor
from okno.automation.sla import queries as sla_queries
from okno.channels.spam import service as spam_service
from okno.channels.spam.schemas import SpamMark
from okno.customers.models import Plan
from okno.db import utcnow
from okno.http.deps import BearerCredentials, CurrentActor, DbSession, RuntimeDep, actor_from, unit_of_work
from okno.http.idempotency import Idempotency, IdempotencyDep, IdempotencyKeyHeader, checked_key
from okno.schemas import Id
from okno.tickets import access, attachments, changes, fields, queries, service
from okno.tickets.models import Attachment, Channel, Priority, Ticket, TicketStatus
from okno.tickets.schemas import (
    AttachmentRead,
    CustomFieldCreate,
    CustomFieldRead,
    CustomFieldUpdate,
    EventRead,
    MergeRequest,
    MessageCreate,
    MessageRead,
    TagCreate,
    TagRead,
    TicketCreate,
    TicketPage,
    TicketRead,
    TicketUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["tickets"])


def _reads(session: DbSession, actor: Actor, tickets: list[Ticket]) -> list[TicketRead]:
    """Ticket schemas; for staff with their SLA clocks (one more query for the whole page)."""
    reads = queries.to_reads(session, tickets)
    if actor.is_staff:
        clocks = sla_queries.clocks(session, [r.id for r in reads], now=utcnow(session))
        for read in reads:
            read.sla = clocks[read.id]
    else:
        for read in reads:
            read.spam_at = None  # the spam folder is the desk's business
    return reads


def _read_one(session: DbSession, ticket_id: int, actor: CurrentActor) -> TicketRead:
    return _reads(session, actor, [access.get_ticket(session, actor, ticket_id)])[0]


@router.post("/tickets", status_code=201, response_model=TicketRead, summary="Open a ticket")
def create_ticket(body: TicketCreate, session: DbSession, actor: CurrentActor, idempotency: IdempotencyDep) -> Response:
    def produce() -> TicketRead:
        read = queries.to_reads(session, [service.create_ticket(session, actor, data=body)])[0]
        if actor.is_staff:
            read.sla = []  # its reaction job works its targets out once this commits: none yet
        return read

    return idempotency.respond(201, produce)


@router.get("/tickets", response_model=TicketPage, summary="List tickets the caller may see")
def list_tickets(
    session: DbSession,
    actor: CurrentActor,
    status: Annotated[list[TicketStatus] | None, Query(description="Repeat for several.")] = None,
    assignee_id: Id | None = None,
    unassigned: bool = False,
    team_id: Annotated[list[Id] | None, Query()] = None,
    tag: str | None = None,
    customer_id: Id | None = None,
    channel: Channel | None = None,
    updated_since: Annotated[
        AwareDatetime | None, Query(description="An instant with its offset, e.g. 2026-03-01T09:00:00Z.")
    ] = None,
    priority: Annotated[list[Priority] | None, Query(description="Repeat for several.")] = None,
    customer_plan: Annotated[
        Plan | None, Query(description="The plan the customer had when the ticket opened.")
    ] = None,
    q: Annotated[str | None, Query(max_length=200, description="Words in the subject or messages, or #number.")] = None,
    sla_due_before: Annotated[
        AwareDatetime | None,
        Query(description="Only tickets with a running SLA target due by then (breached ones included)."),
    ] = None,
    spam: Annotated[
        bool, Query(description="Staff: the spam folder's tickets instead of the others (customers: ignored).")
    ] = False,
    sort: Annotated[
        str,
        Query(
            description="One of last_activity_at, created_at, updated_at, number, priority (then last activity), "
            "waiting_since (tickets nobody waits on last), sla_due_at (the SLA target due soonest first; tickets "
            "with none last); - for descending."
        ),
    ] = queries.DEFAULT_SORT,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: str | None = None,
) -> TicketPage:
    filters = queries.TicketFilters(
        status=status,
        assignee_id=assignee_id,
        unassigned=unassigned,
        team_id=team_id,
        tag=tag,
        customer_id=customer_id,
        channel=channel,
        updated_since=updated_since,
        q=q,
        priority=priority,
        customer_plan=customer_plan.value if customer_plan else None,
        sla_due_before=sla_due_before,
        spam=spam,
    )
    rows, next_cursor = queries.list_tickets(session, actor, filters, sort=sort, limit=limit, cursor=cursor)
    return TicketPage(items=_reads(session, actor, rows), next_cursor=next_cursor)


@router.get("/tickets/{ticket_id}", response_model=TicketRead)
def get_ticket(ticket_id: Id, session: DbSession, actor: CurrentActor) -> TicketRead:
    return _read_one(session, ticket_id, actor)


@router.patch("/tickets/{ticket_id}", response_model=TicketRead, summary="Change status, priority, owner, tags, fields")
def update_ticket(ticket_id: Id, body: TicketUpdate, session: DbSession, actor: CurrentActor) -> TicketRead:
    return _reads(session, actor, [changes.update_ticket(session, actor, ticket_id, changes=body)])[0]


@router.post(
    "/tickets/{ticket_id}/merge",
    status_code=200,
    response_model=TicketRead,
    summary="Merge into another ticket",
)
def merge_ticket(
    ticket_id: Id, body: MergeRequest, session: DbSession, actor: CurrentActor, idempotency: IdempotencyDep
) -> Response:
    def produce() -> TicketRead:
        target = changes.merge(
            session,
            actor,
            ticket_id,
            target_id=body.target_ticket_id,
            confirm_different_customers=body.confirm_different_customers,
        )
        return _reads(session, actor, [target])[0]

    return idempotency.respond(200, produce)


@router.post(
    "/tickets/{ticket_id}/spam",
    status_code=200,
    response_model=TicketRead,
    summary="Move a ticket into the spam folder",
    description="Agents who may change the ticket. It leaves the inbox views and its assignee; with "
    "`block_sender` the customer's address is blocked too (their next new mail goes to spam at once). "
    "A ticket already in spam stays as it is.",
)
def mark_spam(
    ticket_id: Id,
    session: DbSession,
    actor: CurrentActor,
    idempotency: IdempotencyDep,
    body: SpamMark | None = None,
) -> Response:
    block = body is not None and body.block_sender
    return idempotency.respond(
        200, lambda: _reads(session, actor, [spam_service.mark(session, actor, ticket_id, block_sender=block)])[0]
    )


@router.delete(
    "/tickets/{ticket_id}/spam",
    response_model=TicketRead,
    summary="Not spam: back to the inbox",
    description="Routing and the SLA clock take it from then on (the time in spam does not count); a block on "
    "its customer's address is lifted. No acknowledgement is sent late.",
)
def unmark_spam(ticket_id: Id, session: DbSession, actor: CurrentActor) -> TicketRead:
    return _reads(session, actor, [spam_service.unmark(session, actor, ticket_id)])[0]


@router.post(
    "/tickets/{ticket_id}/messages",
    status_code=201,
    response_model=MessageRead,
    summary="Reply, write an internal note, or (as a customer) answer",
)
def add_message(
    ticket_id: Id, body: MessageCreate, session: DbSession, actor: CurrentActor, idempotency: IdempotencyDep
) -> Response:
    def produce() -> MessageRead:
        posted = service.add_message(session, actor, ticket_id, data=body)
        message = queries.list_messages(session, actor, posted.ticket, after_id=posted.message.id - 1, limit=1)[0]
        return queries.message_read(message)

    return idempotency.respond(201, produce)


@router.get("/tickets/{ticket_id}/messages", response_model=list[MessageRead])
def list_messages(
    ticket_id: Id,
    session: DbSession,
    actor: CurrentActor,
    after_id: Id | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[MessageRead]:
    ticket = access.get_ticket(session, actor, ticket_id)
    return [
        queries.message_read(m) for m in queries.list_messages(session, actor, ticket, after_id=after_id, limit=limit)
    ]


@router.get("/tickets/{ticket_id}/events", response_model=list[EventRead], summary="The ticket's history")
def list_events(
    ticket_id: Id,
    session: DbSession,
    actor: CurrentActor,
    after_id: Id | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[EventRead]:
    ticket = access.get_ticket(session, actor, ticket_id)
    rows = queries.list_events(session, actor, ticket, after_id=after_id, limit=limit)
    return [EventRead.model_validate(e) for e in rows]


@router.post(
    "/attachments",
    status_code=201,
    response_model=AttachmentRead,
    summary="Upload a file to attach",
    description="Send the file as multipart/form-data (`file`); attach it with `attachment_ids` on a message.",
)
async def upload_attachment(
    file: UploadFile,
    request: Request,
    runtime: RuntimeDep,
    credentials: BearerCredentials,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    async with unit_of_work(runtime, writes=False) as session:
        actor = await run_in_threadpool(actor_from, session, credentials)
    # The bytes are copied and synced before the write transaction starts: on SQLite, holding
    # the write lock through a 25 MiB copy would stall every other writer.
    limit = runtime.settings.max_attachment_bytes
    stored = await run_in_threadpool(lambda: runtime.storage.put(file.file, max_bytes=limit))
    # An upload is not held in memory to be hashed: its size stands for its body.
    fingerprint = request.headers.get("content-length", "").encode()
    async with unit_of_work(runtime, writes=True) as session:
        idempotency = Idempotency(request, session, actor.principal, checked_key(idempotency_key), fingerprint)

        def produce() -> AttachmentRead:
            row = attachments.record_upload(
                session,
                actor,
                stored,
                filename=file.filename or "attachment",
                content_type=file.content_type or "application/octet-stream",
            )
            return queries.attachment_read(row)

        return await run_in_threadpool(idempotency.respond, 201, produce)


@router.get("/attachments/{attachment_id}", summary="Download an attachment", response_class=FileResponse)
def download_attachment(
    attachment_id: str, session: DbSession, actor: CurrentActor, runtime: RuntimeDep, inline: bool = False
) -> FileResponse:
    row, path = attachments.for_download(session, actor, runtime.storage, attachment_id)
    return attachment_response(row, path, inline=inline)


def attachment_response(row: Attachment, path: Path, *, inline: bool) -> FileResponse:
    """A download; inline only for proven raster images, sandboxed. Shared with the workspace's route."""
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"}
    if inline and row.inline_image_type:
        headers["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'"
        return FileResponse(
            path,
            media_type=row.inline_image_type,
            headers=headers,
            filename=row.filename,
            content_disposition_type="inline",
        )
    return FileResponse(path, media_type="application/octet-stream", headers=headers, filename=row.filename)


@router.get("/tags", response_model=list[TagRead], tags=["tags"])
def list_tags(session: DbSession, actor: CurrentActor) -> list[TagRead]:
    return [TagRead.model_validate(t) for t in fields.list_tags(session, actor)]


@router.post("/tags", status_code=201, response_model=TagRead, tags=["tags"])
def create_tag(body: TagCreate, session: DbSession, actor: CurrentActor, idempotency: IdempotencyDep) -> Response:
    return idempotency.respond(201, lambda: TagRead.model_validate(fields.create_tag(session, actor, name=body.name)))


@router.patch("/tags/{tag_id}", response_model=TagRead, tags=["tags"], summary="Rename a tag")
def rename_tag(tag_id: Id, body: TagCreate, session: DbSession, actor: CurrentActor) -> TagRead:
    return TagRead.model_validate(fields.rename_tag(session, actor, tag_id, name=body.name))


@router.delete("/tags/{tag_id}", status_code=204, tags=["tags"])
def delete_tag(tag_id: Id, session: DbSession, actor: CurrentActor) -> Response:
    fields.delete_tag(session, actor, tag_id)
    return Response(status_code=204)


@router.get("/custom-fields", response_model=list[CustomFieldRead], tags=["custom fields"])
def list_custom_fields(session: DbSession, actor: CurrentActor) -> list[CustomFieldRead]:
    return [CustomFieldRead.model_validate(d) for d in fields.list_custom_fields(session, actor)]


@router.post("/custom-fields", status_code=201, response_model=CustomFieldRead, tags=["custom fields"])
def create_custom_field(
    body: CustomFieldCreate, session: DbSession, actor: CurrentActor, idempotency: IdempotencyDep
) -> Response:
    return idempotency.respond(
        201, lambda: CustomFieldRead.model_validate(fields.create_custom_field(session, actor, data=body))
    )


@router.patch(
    "/custom-fields/{field_id}",
    response_model=CustomFieldRead,
    tags=["custom fields"],
    summary="Change a custom field's label, options, or active state",
    description="The key and type are fixed. An option that tickets still hold cannot be removed (409).",
)
def update_custom_field(
    field_id: Id, body: CustomFieldUpdate, session: DbSession, actor: CurrentActor
) -> CustomFieldRead:
    return CustomFieldRead.model_validate(fields.update_custom_field(session, actor, field_id, changes=body))


@router.delete(
    "/custom-fields/{field_id}",
    status_code=204,
    tags=["custom fields"],
    summary="Delete an unused custom field",
    description="A field that tickets hold values of is refused (409): deactivate it instead.",
)
def delete_custom_field(field_id: Id, session: DbSession, actor: CurrentActor) -> Response:
    fields.delete_custom_field(session, actor, field_id)
    return Response(status_code=204)
