"""The admin page of the spam filter: switch it, set the threshold, keep the rules.

Administrators only (the service checks it). The page also lists the built-in signals with their
weights, so an admin sees what a score is made of before writing a rule against it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from okno.accounts import queries as accounts_queries
from okno.accounts.permissions import Actor
from okno.channels.spam import service, signals
from okno.channels.spam.schemas import SpamRuleIn, SpamRuleUpdate, SpamSettingsUpdate
from okno.channels.spam.scoring import RuleAction, RuleField, RuleMatch
from okno.errors import Invalid
from okno.schemas import Id
from okno.tickets import queries as ticket_queries
from okno.web import forms
from okno.web.i18n import N_
from okno.web.pages import Page, StaffPage

router = APIRouter(include_in_schema=False)

RULE_ERRORS = {
    "field": N_("Choose what the rule looks at."),
    "match": N_("Choose how it compares."),
    "value": N_("Write what to look for (up to 500 characters)."),
    "action": N_("Choose what the rule does."),
    "weight": N_("A score rule needs a weight between -100 and 100, other than 0."),
    "note": N_("A note has at most 200 characters."),
}
NEW_RULE = {"field": "sender", "match": "contains", "value": "", "action": "score", "weight": "1", "note": ""}
SETTINGS_ERRORS = {"threshold": N_("The threshold is a number above 0, at most 1000.")}


def _number(text: str) -> str | None:
    """A decimal as typed (a comma is a decimal point too), or None for an empty field."""
    return text.replace(",", ".").strip() or None


def _rule_values(form: FormData) -> dict[str, Any]:
    return {
        "field": forms.text(form, "field"),
        "match": forms.text(form, "match"),
        "value": forms.text(form, "value"),
        "action": forms.text(form, "action"),
        "weight": forms.text(form, "weight"),
        "note": forms.text(form, "note"),
    }


def _rule_input(values: dict[str, Any]) -> dict[str, Any]:
    scores = values["action"] == RuleAction.score
    return {**values, "weight": (_number(values["weight"]) or "0") if scores else "0"}


def _errors(page: Page, error: ValidationError | Invalid, messages: dict[str, str]) -> dict[str, str]:
    if isinstance(error, Invalid):
        field = error.details[0]["field"] if error.details else "form"
        if field == "value" and error.details:
            # The pattern's own problem (not valid, too slow) says more than a general hint.
            return {"value": page.gettext(str(error.details[0]["reason"]))}
        return {field if field in messages else "form": page.gettext(messages.get(field, forms.CHECK_FORM))}
    return forms.field_errors(page, error, messages)


def _overview(session: Session, actor: Actor) -> dict[str, Any]:
    rules = service.list_rules(session, actor)
    return {
        "settings": service.current_settings(session),
        "rules": rules,
        "creators": accounts_queries.user_names(session, {r.created_by_id for r in rules if r.created_by_id}),
        "tickets": ticket_queries.ticket_titles(session, actor, {r.ticket_id for r in rules if r.ticket_id}),
        "builtin": signals.WEIGHTS,
        "max_phrases": signals.MAX_PHRASES,
    }


async def _page(page: Page, status: int = 200, **context: Any) -> Response:
    overview = await forms.run(page, False, _overview, page.actor)
    context.setdefault("settings_values", None)
    context.setdefault("settings_errors", {})
    context.setdefault("values", NEW_RULE)
    return forms.render_admin(
        page, "admin/spam.html", status, admin_key="spam", rule=None, **_choices(), **overview, **context
    )


def _choices() -> dict[str, Any]:
    return {"fields": list(RuleField), "matches": list(RuleMatch), "actions": list(RuleAction)}


@router.get("/admin/spam")
async def spam_page(page: StaffPage, done: str | None = None) -> Response:
    return await _page(page, done=done)


@router.post("/admin/spam/settings")
async def save_settings(page: StaffPage) -> Response:
    form = await forms.read_form(page)
    threshold = forms.text(form, "threshold")
    values = {"enabled": form.get("enabled") == "on", "threshold": threshold}
    try:
        changes = SpamSettingsUpdate.model_validate({**values, "threshold": _number(threshold) or ""})
        await forms.run(page, True, service.update_settings, page.actor, changes=changes)
    except ValidationError as error:
        errors = _errors(page, error, SETTINGS_ERRORS)
        return await _page(page, 422, settings_values=values, settings_errors=errors)
    return RedirectResponse("/admin/spam?done=settings", status_code=303)


def _timeout(page: Page) -> float:
    return float(page.request.app.state.runtime.settings.rule_regex_timeout_ms) / 1000


@router.post("/admin/spam/rules")
async def create_rule(page: StaffPage) -> Response:
    form = await forms.read_form(page)
    values = _rule_values(form)
    try:
        data = SpamRuleIn.model_validate(_rule_input(values))
        await forms.run(page, True, service.create_rule, page.actor, data=data, regex_timeout=_timeout(page))
    except (ValidationError, Invalid) as error:
        return await _page(page, 422, values=values, errors=_errors(page, error, RULE_ERRORS))
    return RedirectResponse("/admin/spam?done=created#rules", status_code=303)


async def _rule_page(page: Page, rule_id: int, status: int = 200, **context: Any) -> Response:
    rule = await forms.run(page, False, service.get_rule, page.actor, rule_id)
    context.setdefault(
        "values",
        {
            "field": rule.field,
            "match": rule.match,
            "value": rule.value,
            "action": rule.action,
            "weight": f"{rule.weight:g}",
            "note": rule.note,
        },
    )
    return forms.render_admin(
        page, "admin/spam_rule.html", status, admin_key="spam", rule=rule, **_choices(), **context
    )


@router.get("/admin/spam/rules/{rule_id:int}")
async def rule_page(page: StaffPage, rule_id: Id, done: str | None = None) -> Response:
    return await _rule_page(page, rule_id, done=done)


@router.post("/admin/spam/rules/{rule_id:int}")
async def update_rule(page: StaffPage, rule_id: Id) -> Response:
    form = await forms.read_form(page)
    values = _rule_values(form)
    try:
        changes = SpamRuleUpdate.model_validate(_rule_input(values))
        await forms.run(
            page, True, service.update_rule, page.actor, rule_id, changes=changes, regex_timeout=_timeout(page)
        )
    except (ValidationError, Invalid) as error:
        return await _rule_page(page, rule_id, 422, values=values, errors=_errors(page, error, RULE_ERRORS))
    return RedirectResponse(f"/admin/spam/rules/{rule_id}?done=saved", status_code=303)


@router.post("/admin/spam/rules/{rule_id:int}/delete")
async def delete_rule(page: StaffPage, rule_id: Id) -> Response:
    await forms.read_form(page)
    await forms.run(page, True, service.delete_rule, page.actor, rule_id)
    return RedirectResponse("/admin/spam?done=deleted#rules", status_code=303)
