"""Admin pages for the help desk's vocabulary: tags and custom ticket fields.

Administrators only. The rules (names, merging with history, which field may be deleted)
live in ``tickets.fields`` and ``tickets.changes``; these handlers read forms and show
refusals next to the field they concern.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from okno.accounts.permissions import Actor, require_admin
from okno.errors import Conflict, Invalid, NotFound
from okno.schemas import Id
from okno.tickets import changes, fields
from okno.tickets.models import FieldType
from okno.tickets.schemas import CustomFieldCreate, CustomFieldUpdate, TagCreate, normalise_tag
from okno.web import forms
from okno.web.i18n import N_
from okno.web.pages import Page, StaffPage

router = APIRouter(include_in_schema=False)
TAG_NAME = N_("Use letters, digits and - . : / + (up to 80 characters, no spaces).")
FIELD_ERRORS = {
    "key": N_("Use lower-case letters, digits and _, starting with a letter (up to 64)."),
    "label": N_("Enter a label of at most 200 characters."),
    "field_type": N_("Choose a type from the list."),
    "options": N_("Give each option on its own line, each once (up to 200 options)."),
}


# ---- tags ----


def _tags(session: Session, actor: Actor, q: str) -> dict[str, Any]:
    require_admin(actor)
    tags = fields.list_tags(session, actor)
    if q:
        tags = [t for t in tags if q.lower() in t.name]
    return {"tags": tags, "usage": fields.tag_usage(session), "q": q}


@router.get("/admin/tags")
async def tags_page(page: StaffPage, q: str = "", done: str | None = None, n: int = 0) -> Response:
    context = await forms.run(page, False, _tags, page.actor, q.strip()[:80])
    return forms.render_admin(page, "admin/tags.html", admin_key="tags", done=done, done_count=n, value="", **context)


@router.post("/admin/tags")
async def create_tag(page: StaffPage) -> Response:
    form = await forms.read_form(page)
    value = forms.text(form, "name")
    try:
        name = TagCreate(name=value).name
        await forms.run(page, True, fields.create_tag, page.actor, name=name)
    except ValidationError:
        error = page.gettext(TAG_NAME)
    except Conflict:
        error = page.gettext("This tag already exists.")
    else:
        return RedirectResponse("/admin/tags?done=created", status_code=303)
    context = await forms.run(page, False, _tags, page.actor, "")
    return forms.render_admin(
        page, "admin/tags.html", 422, admin_key="tags", value=value, errors={"name": error}, **context
    )


def _tag(session: Session, actor: Actor, tag_id: int) -> dict[str, Any]:
    require_admin(actor)
    tags = fields.list_tags(session, actor)
    tag = next((t for t in tags if t.id == tag_id), None)
    if tag is None:
        raise NotFound("Tag not found.")
    return {
        "tag": tag,
        "count": fields.tag_usage(session).get(tag.id, 0),
        "others": [t for t in tags if t.id != tag_id],
    }


async def _tag_page(page: Page, tag_id: int, status: int = 200, **extra: Any) -> Response:
    context = await forms.run(page, False, _tag, page.actor, tag_id)
    values = {"name": context["tag"].name, "target": "", **extra.pop("values", {})}
    return forms.render_admin(page, "admin/tag.html", status, admin_key="tags", values=values, **extra, **context)


@router.get("/admin/tags/{tag_id}")
async def tag_page(page: StaffPage, tag_id: Id, done: str | None = None) -> Response:
    return await _tag_page(page, tag_id, done=done)


@router.post("/admin/tags/{tag_id}")
async def rename_tag(page: StaffPage, tag_id: Id) -> Response:
    form = await forms.read_form(page)
    value = forms.text(form, "name")
    try:
        name = TagCreate(name=value).name
        await forms.run(page, True, fields.rename_tag, page.actor, tag_id, name=name)
    except ValidationError:
        error = page.gettext(TAG_NAME)
    except Conflict:
        error = page.gettext("A tag with this name exists. To combine the two, merge this tag into it.")
    else:
        return RedirectResponse(f"/admin/tags/{tag_id}?done=renamed", status_code=303)
    return await _tag_page(page, tag_id, 422, values={"name": value}, errors={"name": error})


def _merge(session: Session, actor: Actor, tag_id: int, target_name: str) -> int:
    try:
        target_name = normalise_tag(target_name)
    except ValueError:
        raise Invalid("no such tag", field="target_id") from None
    target = next((t for t in fields.list_tags(session, actor) if t.name == target_name), None)
    if target is None:
        raise Invalid("no such tag", field="target_id")
    return changes.merge_tags(session, actor, tag_id, target_id=target.id)


@router.post("/admin/tags/{tag_id}/merge")
async def merge_tag(page: StaffPage, tag_id: Id) -> Response:
    form = await forms.read_form(page)
    value = forms.text(form, "target")
    try:
        moved = await forms.run(page, True, _merge, page.actor, tag_id, value)
    except Invalid as refused:
        if refused.code == "merge_into_itself":
            error = page.gettext("Choose another tag: a tag cannot be merged into itself.")
        else:
            error = page.gettext("Choose an existing tag from the list.")
        return await _tag_page(page, tag_id, 422, values={"target": value}, errors={"target": error})
    return RedirectResponse(f"/admin/tags?done=merged&n={moved}", status_code=303)


@router.post("/admin/tags/{tag_id}/delete")
async def delete_tag(page: StaffPage, tag_id: Id) -> Response:
    await forms.read_form(page)
    try:
        await forms.run(page, True, fields.delete_tag, page.actor, tag_id)
    except Conflict:
        error = page.gettext("Tickets carry this tag. Merge it into another tag instead, or remove it from them.")
        return await _tag_page(page, tag_id, 409, errors={"delete": error})
    return RedirectResponse("/admin/tags?done=deleted", status_code=303)


# ---- custom fields ----


def _fields(session: Session, actor: Actor) -> dict[str, Any]:
    require_admin(actor)
    return {"definitions": fields.list_custom_fields(session, actor), "field_types": [t.value for t in FieldType]}


@router.get("/admin/custom-fields")
async def custom_fields_page(page: StaffPage, done: str | None = None) -> Response:
    context = await forms.run(page, False, _fields, page.actor)
    return forms.render_admin(page, "admin/custom_fields.html", admin_key="custom_fields", done=done, **context)


def _new_field_context(session: Session, actor: Actor) -> dict[str, Any]:
    require_admin(actor)
    return {"field_types": [t.value for t in FieldType]}


@router.get("/admin/custom-fields/new")
async def new_custom_field(page: StaffPage) -> Response:
    context = await forms.run(page, False, _new_field_context, page.actor)
    values = {"key": "", "label": "", "field_type": "text", "options": ""}
    return forms.render_admin(page, "admin/custom_field_new.html", admin_key="custom_fields", values=values, **context)


def _options(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


@router.post("/admin/custom-fields")
async def create_custom_field(page: StaffPage) -> Response:
    form = await forms.read_form(page)
    values = {k: forms.text(form, k) for k in ("key", "label", "field_type", "options")}
    options = _options(values["options"]) if values["field_type"] == FieldType.select else []
    try:
        data = CustomFieldCreate(
            key=values["key"], label=values["label"], field_type=values["field_type"], options=options
        )
        definition = await forms.run(page, True, fields.create_custom_field, page.actor, data=data)
    except ValidationError as error:
        errors = forms.field_errors(page, error, FIELD_ERRORS)
    except Conflict:
        errors = {"key": page.gettext("A field with this key exists (perhaps deactivated). Choose another key.")}
    except Invalid:
        errors = {"options": page.gettext("A list field needs at least one option.")}
    else:
        return RedirectResponse(f"/admin/custom-fields/{definition.id}?done=created", status_code=303)
    context = await forms.run(page, False, _new_field_context, page.actor)
    return forms.render_admin(
        page, "admin/custom_field_new.html", 422, admin_key="custom_fields", values=values, errors=errors, **context
    )


def _field(session: Session, actor: Actor, field_id: int) -> dict[str, Any]:
    require_admin(actor)
    definition = fields.get_custom_field(session, actor, field_id)
    return {"definition": definition, "usage": fields.custom_field_usage(session, definition)}


async def _field_page(page: Page, field_id: int, status: int = 200, **extra: Any) -> Response:
    context = await forms.run(page, False, _field, page.actor, field_id)
    definition = context["definition"]
    values = {"label": definition.label, "options": "\n".join(definition.options), **extra.pop("values", {})}
    return forms.render_admin(
        page, "admin/custom_field.html", status, admin_key="custom_fields", values=values, **extra, **context
    )


@router.get("/admin/custom-fields/{field_id}")
async def custom_field_page(page: StaffPage, field_id: Id, done: str | None = None) -> Response:
    return await _field_page(page, field_id, done=done)


@router.post("/admin/custom-fields/{field_id}")
async def save_custom_field(page: StaffPage, field_id: Id) -> Response:
    form = await forms.read_form(page)
    values = {"label": forms.text(form, "label"), "options": forms.text(form, "options")}
    try:
        update: dict[str, Any] = {"label": values["label"]}
        if "options" in form:
            update["options"] = _options(values["options"])
        changes_ = CustomFieldUpdate.model_validate(update)
        await forms.run(page, True, fields.update_custom_field, page.actor, field_id, changes=changes_)
    except ValidationError as error:
        errors = forms.field_errors(page, error, FIELD_ERRORS)
    except Conflict as refused:
        in_use = refused.details[0].get("options", []) if refused.details else []
        errors = {
            "options": page.gettext(
                "Tickets still hold these options, so they stay: %(options)s", options=", ".join(in_use)
            )
        }
    except Invalid:
        errors = {"options": page.gettext("A list field needs at least one option.")}
    else:
        return RedirectResponse(f"/admin/custom-fields/{field_id}?done=saved", status_code=303)
    return await _field_page(page, field_id, 422, values=values, errors=errors)


@router.post("/admin/custom-fields/{field_id}/active")
async def set_custom_field_active(page: StaffPage, field_id: Id) -> Response:
    form = await forms.read_form(page)
    active = forms.text(form, "active") == "true"
    update = CustomFieldUpdate(is_active=active)
    await forms.run(page, True, fields.update_custom_field, page.actor, field_id, changes=update)
    done = "activated" if active else "deactivated"
    return RedirectResponse(f"/admin/custom-fields/{field_id}?done={done}", status_code=303)


@router.post("/admin/custom-fields/{field_id}/delete")
async def delete_custom_field(page: StaffPage, field_id: Id) -> Response:
    await forms.read_form(page)
    try:
        await forms.run(page, True, fields.delete_custom_field, page.actor, field_id)
    except Conflict:
        error = page.gettext("Tickets hold values of this field, so it cannot be deleted. Deactivate it instead.")
        return await _field_page(page, field_id, 409, errors={"delete": error})
    return RedirectResponse("/admin/custom-fields?done=deleted", status_code=303)
