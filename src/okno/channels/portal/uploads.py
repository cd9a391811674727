"""Reading the portal's multipart forms: text fields and a few files, each within the size limit.

Files are written (and synced) to storage before the transaction that records them; if that
transaction never commits, the orphan sweep removes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from okno.channels.portal.pages import PortalPage, check_csrf
from okno.channels.portal.service import MAX_FILES, Upload
from okno.errors import TooLarge
from okno.runtime import Runtime


@dataclass
class PostedForm:
    values: dict[str, str]
    files: list[UploadFile] = field(default_factory=list)


async def read(page: PortalPage, names: tuple[str, ...]) -> PostedForm:
    """The form's text fields (trimmed) and chosen files, after its CSRF token is checked."""
    form: FormData = await page.request.form(max_files=MAX_FILES + 1, max_fields=50)
    token = form.get("csrf_token")
    check_csrf(page, token if isinstance(token, str) else None)
    values = {}
    for name in names:
        value = form.get(name)
        values[name] = value.strip() if isinstance(value, str) else ""
    files = [f for f in form.getlist("attachments") if isinstance(f, UploadFile) and f.filename]
    return PostedForm(values, files)


async def store(page: PortalPage, files: list[UploadFile], errors: dict[str, str]) -> list[Upload]:
    """Stores the files; a file over the limit (or too many files) is an error next to the field."""
    runtime: Runtime = page.request.app.state.runtime
    limit = runtime.settings.max_attachment_bytes
    if len(files) > MAX_FILES:
        errors["attachments"] = page.gettext("Attach at most %(count)s files.", count=MAX_FILES)
        return []
    stored: list[Upload] = []
    for upload in files:
        try:
            kept = await run_in_threadpool(runtime.storage.put, upload.file, max_bytes=limit)
        except TooLarge:
            errors["attachments"] = page.gettext(
                "%(name)s is too large: files can be at most %(limit)s.",
                name=upload.filename or "",
                limit=page.formatter.size(limit),
            )
            return []
        stored.append(Upload(kept, upload.filename or "attachment", upload.content_type or "application/octet-stream"))
    return stored
