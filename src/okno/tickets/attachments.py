"""Attachments: upload before the message, link with it, download with the ticket's permissions.

Upload writes the file (synced) and an unlinked row; sending the message links it in the
message's transaction. Rows never linked, and files with no row at all (a transaction that
never committed), are swept after ``orphan_attachment_hours``.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts.permissions import Actor, visible_tickets
from okno.db import on_commit, utcnow
from okno.errors import Invalid, NotFound
from okno.storage import Storage, StoredFile
from okno.tickets.models import Attachment, Message, MessageKind, Ticket

_RASTER_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),
)


def sniff_raster_image(head: bytes) -> str | None:
    """The image type proven by the bytes themselves; SVG and anything else is not inline-safe."""
    for signature, offset, content_type in _RASTER_SIGNATURES:
        if head[offset : offset + len(signature)] == signature and (offset == 0 or head[:4] == b"RIFF"):
            return content_type
    return None


def safe_filename(name: str) -> str:
    base = Path(name.replace("\\", "/")).name.strip().strip(".")
    cleaned = "".join(ch for ch in base if ch.isprintable() and ch not in '<>:"|?*')
    return cleaned[:255] or "attachment"


def record_upload(
    session: Session, actor: Actor, stored: StoredFile, *, filename: str, content_type: str
) -> Attachment:
    """The row for a file already durable in storage (written before this transaction began)."""
    attachment = Attachment(
        id="att_" + secrets.token_urlsafe(24),
        filename=safe_filename(filename),
        content_type=(content_type or "application/octet-stream")[:255],
        size=stored.size,
        sha256=stored.sha256,
        storage_key=stored.key,
        inline_image_type=sniff_raster_image(stored.head),
        uploaded_by_user_id=None if actor.is_customer else actor.user_id,
        uploaded_by_customer_id=actor.customer_id if actor.is_customer else None,
        created_at=utcnow(session),
    )
    session.add(attachment)
    session.flush()
    return attachment


def link(session: Session, actor: Actor, message: Message, attachment_ids: list[str]) -> int:
    """Attaches the caller's own unlinked uploads to a new message."""
    if not attachment_ids:
        return 0
    wanted = list(dict.fromkeys(attachment_ids))
    owner = (
        Attachment.uploaded_by_customer_id == actor.customer_id
        if actor.is_customer
        else Attachment.uploaded_by_user_id == actor.user_id
    )
    found = list(
        session.scalars(sa.select(Attachment).where(Attachment.id.in_(wanted), Attachment.message_id.is_(None), owner))
    )
    if missing := sorted(set(wanted) - {a.id for a in found}):
        raise Invalid(f"unknown or already used attachment ids: {missing}", field="attachment_ids")
    for attachment in found:
        attachment.message_id = message.id
    return len(found)


def for_download(session: Session, actor: Actor, storage: Storage, attachment_id: str) -> tuple[Attachment, Path]:
    """The attachment and its file, if the caller may see the message it belongs to (else 404)."""
    row = session.execute(
        sa.select(Attachment, Message.kind)
        .outerjoin(Message, Message.id == Attachment.message_id)
        .outerjoin(Ticket, Ticket.id == Message.ticket_id)
        .where(Attachment.id == attachment_id)
        .where(
            sa.or_(
                sa.and_(Attachment.message_id.is_not(None), visible_tickets(actor)),
                # An upload not yet sent is visible to its uploader only.
                sa.and_(
                    Attachment.message_id.is_(None),
                    Attachment.uploaded_by_customer_id == actor.customer_id
                    if actor.is_customer
                    else Attachment.uploaded_by_user_id == actor.user_id,
                ),
            )
        )
    ).first()
    if row is None or (row[1] == MessageKind.note and not actor.is_staff):
        raise NotFound("Attachment not found.")
    attachment = row[0]
    return attachment, storage.path(attachment.storage_key)


def sweep_orphans(session: Session, storage: Storage, *, older_than_hours: float) -> int:
    """Removes uploads never linked to a message, and files whose row never committed."""
    cutoff = utcnow(session) - timedelta(hours=older_than_hours)
    orphans = list(
        session.scalars(sa.select(Attachment).where(Attachment.message_id.is_(None), Attachment.created_at < cutoff))
    )
    for attachment in orphans:
        session.delete(attachment)
    session.flush()
    # Files go only once the rows are gone for good; if this transaction rolls back, both stay.
    keys = [a.storage_key for a in orphans]

    def delete_files() -> None:
        for key in keys:
            storage.delete(key)

    on_commit(session, delete_files)
    # Files with no row at all: an upload whose transaction never committed.
    stale_keys = list(storage.keys_older_than(cutoff))
    known = set(session.scalars(sa.select(Attachment.storage_key).where(Attachment.storage_key.in_(stale_keys))))
    unreferenced = [key for key in stale_keys if key not in known and key not in keys]
    for key in unreferenced:
        storage.delete(key)
    return len(keys) + len(unreferenced)


def pending_uploads(session: Session, actor: Actor, attachment_ids: list[str]) -> list[Attachment]:
    """The caller's own uploads not yet sent with a message (a composer shown again keeps them)."""
    if not attachment_ids or actor.user_id is None:
        return []
    return list(
        session.scalars(
            sa.select(Attachment)
            .where(
                Attachment.id.in_(attachment_ids[:50]),
                Attachment.message_id.is_(None),
                Attachment.uploaded_by_user_id == actor.user_id,
            )
            .order_by(Attachment.created_at)
        )
    )
