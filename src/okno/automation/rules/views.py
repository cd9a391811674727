"""The admin pages for rules: the ordered lists, the editor (rows added and changed with htmx), dry runs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from okno.accounts import queries as accounts_queries
from okno.accounts.permissions import Actor, require_admin
from okno.automation.macros import service as macros_service
from okno.automation.rules import editor, service
from okno.automation.rules.conditions import ConditionField, Trigger
from okno.automation.rules.models import Rule, RuleKind
from okno.automation.rules.schemas import ActionType, Conditions, RuleCreate, RuleUpdate, TimerState
from okno.automation.webhooks import service as webhooks_service
from okno.channels.email import mailboxes
from okno.customers import service as customers_service
from okno.customers.models import Plan
from okno.errors import Invalid
from okno.schemas import Id
from okno.tickets import fields
from okno.tickets import queries as ticket_queries
from okno.tickets.access import get_ticket
from okno.tickets.models import Channel, Priority, TicketStatus
from okno.web import forms
from okno.web.i18n import N_
from okno.web.pages import Page, StaffPage

router = APIRouter(include_in_schema=False)
DRY_RUN_SIZES = (50, 100, 200, 500)
CHECK_VALUE = N_("Check this value.")


def _kind(value: str) -> RuleKind:
    return RuleKind.timed if value == "timed" else RuleKind.trigger


def _choices(session: Session, actor: Actor) -> dict[str, Any]:
    """Everything the editor's lists offer."""
    require_admin(actor)
    macros = [m for m in macros_service.list_macros(session, actor, scope="all") if m.scope != "personal"]
    return {
        "condition_fields": [f.value for f in ConditionField],
        "action_types": [a.value for a in ActionType],
        "triggers": [t.value for t in Trigger],
        "timer_states": [s.value for s in TimerState],
        "units": list(editor.UNITS),
        "lists": {
            "channel": [c.value for c in Channel],
            "plan": [p.value for p in Plan],
            "priority": [p.value for p in Priority],
            "status": [s.value for s in TicketStatus],
            "hours": ["open", "closed"],
            "team": sorted(accounts_queries.team_names(session).items(), key=lambda item: item[1]),
            "user": [(user_id, name) for user_id, name, _teams in accounts_queries.assignable_users(session)],
            "mailbox": [(m.id, m.address) for m in mailboxes.list_mailboxes(session, actor)],
            "organization": [(o.id, o.name) for o in customers_service.list_organizations(session, actor)],
            "macro": [(m.id, m.title) for m in macros],
            "webhook": [(w.id, w.name or w.url) for w in webhooks_service.list_subscriptions(session, actor)],
            "custom_field": [d.key for d in fields.list_custom_fields(session, actor) if d.is_active],
        },
        "ops_for": editor.ops_for,
        "value_input": editor.value_input,
        "action_input": lambda kind: editor.ACTION_INPUTS.get(ActionType.__members__.get(kind, ActionType.acknowledge)),
        "dry_run_sizes": DRY_RUN_SIZES,
        "examples": ("{{customer.first_name}}", "{{ticket.number}}"),
    }


def _lists(session: Session, actor: Actor) -> dict[str, Any]:
    rules = service.list_rules(session, actor)
    return {
        "triggers_list": [r for r in rules if r.kind == RuleKind.trigger],
        "timed_list": [r for r in rules if r.kind == RuleKind.timed],
        "team_names": accounts_queries.team_names(session),
    }


@router.get("/admin/rules")
async def rules_page(page: StaffPage, done: str | None = None) -> Response:
    context = await forms.run(page, False, _lists, page.actor)
    return forms.render_admin(page, "admin/rules.html", admin_key="rules", done=done, **context)


def _editor(session: Session, actor: Actor, rule_id: int | None) -> dict[str, Any]:
    rule = service.get_rule(session, actor, rule_id) if rule_id is not None else None
    return {"rule": rule, **_choices(session, actor)}


async def _render(
    page: Page, rule_id: int | None, kind: RuleKind, form: editor.Form, status: int = 200, **extra: Any
) -> Response:
    context = await forms.run(page, False, _editor, page.actor, rule_id)
    return forms.render_admin(
        page, "admin/rule.html", status, admin_key="rules", kind=kind.value, form=form, **extra, **context
    )


@router.get("/admin/rules/new")
async def new_rule(page: StaffPage, kind: str = "trigger") -> Response:
    return await _render(page, None, _kind(kind), editor.new_form(_kind(kind).value))


def _asked(page: Page, prefix: str, name: str, default: str) -> str:
    """A redrawn row sends its own inputs (``all.3.kind``); a new row sends none."""
    return page.request.query_params.get(f"{prefix}.{name}") or default


@router.get("/admin/rules/condition-row")
async def condition_row(page: StaffPage, group: str, n: int) -> Response:
    """A fresh condition row, or one redrawn for the field just chosen (its comparisons and value input)."""
    group = "any" if group == "any" else "all"
    context = await forms.run(page, False, _choices, page.actor)
    kind = _asked(page, f"{group}.{n}", "kind", ConditionField.subject.value)
    ops = editor.ops_for(kind)
    op = _asked(page, f"{group}.{n}", "op", "")
    row = editor.Row(kind, op if op in ops else (ops[0] if ops else ""))
    return page.render("admin/_rule_row.html", row_kind="condition", group=group, n=n, row=row, errors={}, **context)


@router.get("/admin/rules/action-row")
async def action_row(page: StaffPage, n: int) -> Response:
    context = await forms.run(page, False, _choices, page.actor)
    row = editor.Row(_asked(page, f"action.{n}", "kind", ActionType.add_tags.value))
    return page.render("admin/_rule_row.html", row_kind="action", group="action", n=n, row=row, errors={}, **context)


@router.get("/admin/rules/nothing")
async def nothing(page: StaffPage) -> Response:
    """What a removed row is replaced by."""
    return HTMLResponse("")


def _messages(page: Page, details: list[dict[str, Any]]) -> dict[str, str]:
    shown = {}
    for key, reason in editor.row_errors(details).items():
        translated = page.gettext(reason)
        shown[key] = translated if translated != reason or page.locale == "en" else page.gettext(CHECK_VALUE)
    return shown


def _details(error: ValidationError | Invalid) -> list[dict[str, Any]]:
    if isinstance(error, Invalid):
        return list(error.details)
    return [{"field": ".".join(str(p) for p in e["loc"]), "reason": CHECK_VALUE} for e in error.errors()]


def _save(
    session: Session, actor: Actor, rule_id: int | None, kind: RuleKind, data: dict[str, Any], timeout: float
) -> Rule:
    if rule_id is None:
        return service.create_rule(
            session, actor, data=RuleCreate.model_validate({**data, "kind": kind.value}), regex_timeout=timeout
        )
    return service.update_rule(session, actor, rule_id, changes=RuleUpdate.model_validate(data), regex_timeout=timeout)


async def _posted(page: Page, rule_id: int | None, kind: RuleKind) -> Response:
    posted = await forms.read_form(page)
    form = editor.read(posted, [t for t in posted.getlist("trigger") if isinstance(t, str)])
    timeout = page.request.app.state.runtime.settings.rule_regex_timeout_ms / 1000
    try:
        rule = await forms.run(
            page, True, _save, page.actor, rule_id, kind, editor.payload(form, kind=kind.value), timeout
        )
    except (ValidationError, Invalid) as refused:
        errors = _messages(page, _details(refused))
        return await _render(page, rule_id, kind, form, 422, errors=errors)
    return RedirectResponse(f"/admin/rules/{rule.id}?done=saved", status_code=303)


@router.post("/admin/rules")
async def create_rule(page: StaffPage, kind: str = "trigger") -> Response:
    return await _posted(page, None, _kind(kind))


def _dry_run(session: Session, actor: Actor, form: editor.Form, last: int, timeout: float) -> dict[str, Any]:
    data = editor.payload(form, kind="trigger")
    result = service.dry_run(
        session,
        actor,
        groups=Conditions.model_validate(data["conditions"]),
        triggers=form.triggers or [Trigger.ticket_created.value],
        last=last,
        regex_timeout=timeout,
    )
    tickets = ticket_queries.to_reads(session, [get_ticket(session, actor, i) for i in result.matched_ids])
    return {"examined": result.examined, "matched": tickets}


@router.post("/admin/rules/dry-run")
async def dry_run(page: StaffPage) -> Response:
    """The editor's "Try on recent tickets": the conditions as they stand in the form, read-only."""
    posted = await forms.read_form(page)
    form = editor.read(posted, [t for t in posted.getlist("trigger") if isinstance(t, str)])
    last = int(forms.text(posted, "last")) if forms.text(posted, "last").isdigit() else 100
    timeout = page.request.app.state.runtime.settings.rule_regex_timeout_ms / 1000
    try:
        result = await forms.run(page, False, _dry_run, page.actor, form, last, timeout)
    except (ValidationError, Invalid) as refused:
        return page.render("admin/_rule_dry_run.html", errors=_messages(page, _details(refused)), result=None)
    return page.render("admin/_rule_dry_run.html", errors={}, result=result)


@router.get("/admin/rules/{rule_id}")
async def edit_rule(page: StaffPage, rule_id: Id, done: str | None = None) -> Response:
    rule = await forms.run(page, False, service.get_rule, page.actor, rule_id)
    return await _render(page, rule_id, RuleKind(rule.kind), editor.from_rule(rule), done=done)


@router.post("/admin/rules/{rule_id}")
async def update_rule(page: StaffPage, rule_id: Id) -> Response:
    rule = await forms.run(page, False, service.get_rule, page.actor, rule_id)
    return await _posted(page, rule_id, RuleKind(rule.kind))


@router.post("/admin/rules/{rule_id}/active")
async def set_active(page: StaffPage, rule_id: Id) -> Response:
    posted = await forms.read_form(page)
    await forms.run(page, True, service.set_active, page.actor, rule_id, active=forms.text(posted, "active") == "true")
    return RedirectResponse("/admin/rules?done=switched", status_code=303)


@router.post("/admin/rules/{rule_id}/move")
async def move_rule(page: StaffPage, rule_id: Id) -> Response:
    posted = await forms.read_form(page)
    await forms.run(page, True, service.move, page.actor, rule_id, by=-1 if forms.text(posted, "to") == "up" else 1)
    return RedirectResponse(f"/admin/rules#rule-{rule_id}", status_code=303)


@router.post("/admin/rules/{rule_id}/delete")
async def delete_rule(page: StaffPage, rule_id: Id) -> Response:
    await forms.read_form(page)
    await forms.run(page, True, service.delete_rule, page.actor, rule_id)
    return RedirectResponse("/admin/rules?done=deleted", status_code=303)
