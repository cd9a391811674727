"""Admin pages for SLA policies: the ordered list, creating, editing, moving and deleting one.

Administrators only. The rules live in ``sla.service``; these handlers read the form, and show
refusals next to the field they concern, keeping what was typed.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from okno.accounts import queries as accounts_queries
from okno.accounts.permissions import Actor, require_admin
from okno.automation.sla import service
from okno.automation.sla.clock import TargetKind
from okno.automation.sla.schemas import SlaPolicyCreate, SlaPolicyRead, SlaPolicyUpdate
from okno.customers.models import Plan
from okno.errors import Invalid
from okno.schemas import Id
from okno.tickets.models import Channel, Priority
from okno.web import forms
from okno.web.i18n import N_
from okno.web.pages import Page, StaffPage

router = APIRouter(include_in_schema=False)
PRIORITY_COLUMNS = ("default", *(p.value for p in Priority))
CONDITION_FIELDS = ("priorities", "plans", "channels", "team_ids")
MESSAGES = {
    "name": N_("Enter a name of at most 120 characters that no other policy has."),
    "targets": N_("Give at least one target."),
    "target": N_("Enter whole minutes from 1 to 525600, or leave it empty."),
    "team_ids": N_("Choose teams from the list."),
    "form": forms.CHECK_FORM,
}


def target_field(kind: str, column: str) -> str:
    """The form field of one target's minutes for one priority column ("default" for any priority)."""
    return f"target-{kind}-{column}"


def _values(policy: SlaPolicyRead | None) -> dict[str, Any]:
    """The form's values for a policy (or the defaults of a new one)."""
    if policy is None:
        return {
            "name": "",
            "enabled": True,
            "business_hours": True,
            "pause_when_pending": True,
            **{name: [] for name in CONDITION_FIELDS},
            **{target_field(k, c): "" for k in TargetKind for c in PRIORITY_COLUMNS},
        }
    conditions = policy.conditions.model_dump(mode="json")
    values: dict[str, Any] = {
        "name": policy.name,
        "enabled": policy.enabled,
        "business_hours": policy.business_hours,
        "pause_when_pending": policy.pause_when_pending,
        **{name: [str(v) for v in conditions[name]] for name in CONDITION_FIELDS},
    }
    for kind in TargetKind:
        minutes = getattr(policy.targets, kind.value).model_dump()
        for column in PRIORITY_COLUMNS:
            value = minutes.get(column)
            values[target_field(kind, column)] = "" if value is None else str(value)
    return values


def _read_values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": forms.text(form, "name"),
        "enabled": forms.text(form, "enabled") == "true",
        "business_hours": forms.text(form, "business_hours") == "true",
        "pause_when_pending": forms.text(form, "pause_when_pending") == "true",
        **{name: [v for v in form.getlist(name) if isinstance(v, str) and v] for name in CONDITION_FIELDS},
    }
    for kind in TargetKind:
        for column in PRIORITY_COLUMNS:
            values[target_field(kind, column)] = forms.text(form, target_field(kind, column))
    return values


def _payload(values: dict[str, Any]) -> dict[str, Any]:
    targets = {
        kind.value: {
            column: values[target_field(kind, column)]
            for column in PRIORITY_COLUMNS
            if values[target_field(kind, column)] != ""
        }
        for kind in TargetKind
    }
    return {
        "name": values["name"],
        "enabled": values["enabled"],
        "business_hours": values["business_hours"],
        "pause_when_pending": values["pause_when_pending"],
        "conditions": {name: values[name] for name in CONDITION_FIELDS},
        "targets": targets,
    }


def _errors(page: Page, error: ValidationError) -> dict[str, str]:
    """One message per form field: a target's minutes by its own field, the rest by name."""
    found: dict[str, str] = {}
    for item in error.errors():
        loc = [str(part) for part in item["loc"]]
        if loc[:1] == ["targets"] and len(loc) >= 3:
            found[target_field(loc[1], loc[2])] = page.gettext(MESSAGES["target"])
        elif loc[:1] == ["targets"]:
            found["targets"] = page.gettext(MESSAGES["targets"])
        elif loc[:1] == ["conditions"] and len(loc) >= 2:
            found[loc[1]] = page.gettext(MESSAGES.get(loc[1], forms.CHECK_FORM))
        else:
            name = loc[0] if loc and loc[0] in MESSAGES else "form"
            found[name] = page.gettext(MESSAGES[name])
    return found


def _refusal(page: Page, refused: Invalid) -> dict[str, str]:
    field = refused.details[0].get("field", "") if refused.details else ""
    if field == "conditions.team_ids":
        return {"team_ids": page.gettext(MESSAGES["team_ids"])}
    if field == "name":
        return {"name": page.gettext("Another policy has this name. Choose another.")}
    return {"form": refused.message}


def _choices(session: Session, actor: Actor) -> dict[str, Any]:
    require_admin(actor)
    return {
        "priorities": [p.value for p in Priority],
        "plans": [p.value for p in Plan],
        "channels": [c.value for c in Channel],
        "team_names": accounts_queries.team_names(session),
        "target_kinds": [k.value for k in TargetKind],
        "priority_columns": PRIORITY_COLUMNS,
        "target_field": target_field,
    }


def _list(session: Session, actor: Actor) -> dict[str, Any]:
    require_admin(actor)
    found = [service.to_read(p) for p in service.list_policies(session, actor)]
    return {"policies": found, **_choices(session, actor)}


@router.get("/admin/sla")
async def policies_page(page: StaffPage, done: str | None = None) -> Response:
    context = await forms.run(page, False, _list, page.actor)
    return forms.render_admin(page, "admin/sla_policies.html", admin_key="sla", done=done, **context)


async def _form_page(
    page: Page, policy_id: int | None, status: int = 200, values: dict[str, Any] | None = None, **extra: Any
) -> Response:
    def load(session: Session) -> dict[str, Any]:
        context = _choices(session, page.actor)
        policy = service.to_read(service.get_policy(session, page.actor, policy_id)) if policy_id else None
        context["policy"] = policy
        context["count"] = len(service.list_policies(session, page.actor))
        context["values"] = values if values is not None else _values(policy)
        return context

    context = await forms.run(page, False, load)
    return forms.render_admin(page, "admin/sla_policy.html", status, admin_key="sla", **extra, **context)


@router.get("/admin/sla/new")
async def new_policy(page: StaffPage) -> Response:
    return await _form_page(page, None)


@router.post("/admin/sla")
async def create_policy(page: StaffPage) -> Response:
    form = await forms.read_form(page)
    values = _read_values(form)
    try:
        data = SlaPolicyCreate.model_validate(_payload(values))
        policy = await forms.run(page, True, service.create_policy, page.actor, data=data)
    except ValidationError as error:
        errors = _errors(page, error)
    except Invalid as refused:
        errors = _refusal(page, refused)
    else:
        return RedirectResponse(f"/admin/sla/{policy.id}?done=created", status_code=303)
    return await _form_page(page, None, 422, values=values, errors=errors)


@router.get("/admin/sla/{policy_id}")
async def policy_page(page: StaffPage, policy_id: Id, done: str | None = None) -> Response:
    return await _form_page(page, policy_id, done=done)


@router.post("/admin/sla/{policy_id}")
async def save_policy(page: StaffPage, policy_id: Id) -> Response:
    form = await forms.read_form(page)
    values = _read_values(form)
    try:
        # The form gives the whole policy: checked as a new one, so errors read the same on both pages.
        data = SlaPolicyCreate.model_validate(_payload(values))
        changes = SlaPolicyUpdate.model_validate(data.model_dump(exclude={"position"}))
        await forms.run(page, True, service.update_policy, page.actor, policy_id, changes=changes)
    except ValidationError as error:
        errors = _errors(page, error)
    except Invalid as refused:
        errors = _refusal(page, refused)
    else:
        return RedirectResponse(f"/admin/sla/{policy_id}?done=saved", status_code=303)
    return await _form_page(page, policy_id, 422, values=values, errors=errors)


@router.post("/admin/sla/{policy_id}/move")
async def move_policy(page: StaffPage, policy_id: Id) -> Response:
    form = await forms.read_form(page)
    position = forms.text(form, "position")
    if position.isdigit():
        await forms.run(page, True, service.move_policy, page.actor, policy_id, position=int(position))
    return RedirectResponse("/admin/sla?done=moved", status_code=303)


@router.post("/admin/sla/{policy_id}/delete")
async def delete_policy(page: StaffPage, policy_id: Id) -> Response:
    await forms.read_form(page)
    await forms.run(page, True, service.delete_policy, page.actor, policy_id)
    return RedirectResponse("/admin/sla?done=deleted", status_code=303)
