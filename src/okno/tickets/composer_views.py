"""What the ticket page's composer calls while an agent writes: colleagues to @mention, file uploads,
and attachment downloads for signed-in browsers (the API's routes take bearer tokens only).
"""

from __future__ import annotations

from fastapi import APIRouter, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from okno.errors import TooLarge
from okno.http.deps import unit_of_work
from okno.schemas import Id
from okno.tickets import access, attachments, mentions, queries
from okno.tickets.api import attachment_response
from okno.web.pages import StaffPage, check_csrf

router = APIRouter(include_in_schema=False)


@router.get("/tickets/{ticket_id}/mentionable")
async def mentionable(page: StaffPage, ticket_id: Id, q: str = "") -> Response:
    """Colleagues to suggest after "@": only those who may open this ticket."""
    assert page.signed_in is not None
    actor = page.signed_in.actor

    def find(session: Session) -> list[tuple[int, str]]:
        ticket = access.get_ticket(session, actor, ticket_id)
        return mentions.candidates(session, actor, ticket, q[:100])

    async with unit_of_work(page.request.app.state.runtime, writes=False) as session:
        found = await run_in_threadpool(find, session)
    return JSONResponse({"items": [{"id": user_id, "name": name} for user_id, name in found]})


@router.post("/attachments")
async def upload(page: StaffPage, file: UploadFile) -> Response:
    """One file from the composer (sent with the X-CSRF-Token header); its id goes with the message."""
    check_csrf(page, None)
    assert page.signed_in is not None
    runtime = page.request.app.state.runtime
    limit = runtime.settings.max_attachment_bytes
    # As in the API: the bytes are stored and synced before the write transaction begins.
    try:
        stored = await run_in_threadpool(lambda: runtime.storage.put(file.file, max_bytes=limit))
    except TooLarge:
        message = page.gettext(
            "%(name)s is too large: files can be at most %(limit)s.",
            name=file.filename or "",
            limit=page.formatter.size(limit),
        )
        return JSONResponse({"error": {"code": "too_large", "message": message}}, status_code=413)
    async with unit_of_work(runtime, writes=True) as session:
        row = await run_in_threadpool(
            attachments.record_upload,
            session,
            page.signed_in.actor,
            stored,
            filename=file.filename or "attachment",
            content_type=file.content_type or "application/octet-stream",
        )
        read = queries.attachment_read(row)
    return JSONResponse(
        {"id": read.id, "filename": read.filename, "size": read.size, "size_label": page.formatter.size(read.size)},
        status_code=201,
    )


@router.get("/attachments/{attachment_id}")
async def download(page: StaffPage, attachment_id: str, inline: bool = False) -> FileResponse:
    assert page.signed_in is not None
    runtime = page.request.app.state.runtime
    async with unit_of_work(runtime, writes=False) as session:
        row, path = await run_in_threadpool(
            attachments.for_download, session, page.signed_in.actor, runtime.storage, attachment_id
        )
    return attachment_response(row, path, inline=inline)
