"""Rules over the API: their shape, and the checks that need no database (``problems``).

A condition is ``{"field", "op", "value"}``; the conditions are two groups, ``all`` (every one
must hold) and ``any`` (at least one, when there are any). An action is ``{"type", "value"}``.
Pydantic checks the shape; ``problems`` checks each value against its field or action and
returns every refusal with its path (``conditions.all.0.value``), so a form can show them all
at once. Checks that need the database (does the team exist?) are in ``service``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from okno.automation.macros import render
from okno.automation.rules.conditions import (
    ID_FIELDS,
    OPS,
    ConditionField,
    Op,
    Trigger,
    check_pattern,
)
from okno.automation.rules.models import RuleKind
from okno.customers.models import Plan
from okno.schemas import Id, InputModel, OutputModel, is_id
from okno.tickets.models import Channel, Priority, TicketStatus
from okno.tickets.schemas import normalise_tag
from okno.web.i18n import N_

MAX_TEXT = 20_000
MAX_ACTIONS = 20
MAX_CONDITIONS = 30
REPLY_LANGUAGES = ("default", "ru")


class ActionType(StrEnum):
    set_team = "set_team"
    set_assignee = "set_assignee"
    set_priority = "set_priority"
    set_status = "set_status"
    add_tags = "add_tags"
    remove_tags = "remove_tags"
    set_custom_field = "set_custom_field"
    send_reply = "send_reply"  # a public reply from a template (an auto-reply, a reminder)
    add_note = "add_note"
    apply_macro = "apply_macro"
    call_webhook = "call_webhook"  # one delivery to a webhook subscription (automation.webhooks)
    acknowledge = "acknowledge"  # the email acknowledgement of a new ticket (channels.email)
    notify_supervisors = "notify_supervisors"


class TimerState(StrEnum):
    pending = "pending"  # status pending since the last status change
    solved = "solved"  # status solved since it was solved
    unassigned = "unassigned"  # unfinished and without an assignee, since created or unassigned
    awaiting_reply = "awaiting_reply"  # the customer's oldest unanswered message (no agent reply since)


class Condition(InputModel):
    field: ConditionField
    op: Op
    value: Any = None


class Conditions(InputModel):
    all: list[Condition] = Field(default_factory=list, max_length=MAX_CONDITIONS)
    any: list[Condition] = Field(default_factory=list, max_length=MAX_CONDITIONS)


class Action(InputModel):
    type: ActionType
    value: Any = None


class Timer(InputModel):
    state: TimerState
    minutes: int = Field(ge=1, le=366 * 24 * 60, description="How long the ticket has been in the state.")
    business_time: bool = Field(
        default=False, description="Count only the team's business hours (its calendar), not calendar time."
    )


class RuleCreate(InputModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    kind: RuleKind = RuleKind.trigger
    active: bool = True
    triggers: list[Trigger] = Field(default_factory=list, description="Trigger rules: when they run.")
    timer: Timer | None = Field(default=None, description="Time-based rules: the state and how long.")
    conditions: Conditions = Field(default_factory=Conditions)
    actions: list[Action] = Field(min_length=1, max_length=MAX_ACTIONS)


class RuleUpdate(InputModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    active: bool | None = None
    triggers: list[Trigger] | None = None
    timer: Timer | None = None
    conditions: Conditions | None = None
    actions: list[Action] | None = Field(default=None, min_length=1, max_length=MAX_ACTIONS)


class RuleOrder(InputModel):
    rule_ids: list[Id] = Field(min_length=1, max_length=1000, description="The rules of one kind in their new order.")


class RuleRead(OutputModel):
    id: int
    kind: RuleKind
    name: str
    description: str
    position: int
    active: bool
    triggers: list[str]
    timer: dict[str, Any]
    conditions: dict[str, Any]
    actions: list[dict[str, Any]]
    system_key: str | None
    last_error: str | None
    last_error_at: datetime | None
    created_at: datetime
    updated_at: datetime


class DryRunMatch(OutputModel):
    ticket_id: int
    number: int
    subject: str
    status: str
    created_at: datetime


class DryRunRead(OutputModel):
    rule_id: int | None
    examined: int = Field(description="How many of the most recent tickets were evaluated.")
    matched: list[DryRunMatch]


# ---- the checks that need no database ----

Problem = tuple[str, str]


def _text_value(value: Any, *, limit: int = 500) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return N_("write the text to look for")
    if len(value) > limit:
        return f"at most {limit} characters"
    return None


def _choice(value: Any, choices: type[StrEnum]) -> str | None:
    known = [c.value for c in choices]
    return None if value in known else f"must be one of: {', '.join(known)}"


def _optional_id(value: Any) -> str | None:
    return None if value is None or is_id(value) else N_("must be an id")


def _condition_value(condition: Condition, *, timed: bool, regex_timeout: float) -> str | None:
    name, op, value = condition.field, condition.op, condition.value
    if op not in OPS[name]:
        return N_("this comparison does not apply to this field")
    if timed and op in (Op.changed, Op.changed_to):
        return N_("a time-based rule sees no change; compare the current value")
    if op == Op.changed:
        return None if value is None else N_("leave the value empty")
    if name in (ConditionField.subject, ConditionField.body):
        if op == Op.contains_any:
            words = value if isinstance(value, list) else None
            if not words or len(words) > 50 or any(_text_value(w, limit=200) for w in words):
                return N_("give 1 to 50 words or phrases")
            return None
        if op == Op.matches:
            return check_pattern(value, timeout=regex_timeout) if isinstance(value, str) else N_("write a pattern")
        return _text_value(value)
    if name in ID_FIELDS:
        return _optional_id(value)
    choices: dict[ConditionField, type[StrEnum]] = {
        ConditionField.channel: Channel,
        ConditionField.customer_plan: Plan,
        ConditionField.priority: Priority,
        ConditionField.status: TicketStatus,
    }
    if name in choices:
        return _choice(value, choices[name])
    if name == ConditionField.tags:
        try:
            normalise_tag(str(value or ""))
        except ValueError:
            return N_("not a valid tag")
        return None
    if name == ConditionField.language:
        ok = value is None or (isinstance(value, str) and 2 <= len(value) <= 10 and value.replace("-", "").isalpha())
        return None if ok else N_("a language code such as en or ru")
    if name == ConditionField.business_hours:
        return None if value in ("open", "closed") else N_("must be open or closed")
    return _text_value(value, limit=80)  # intent


def _template(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return N_("write the text")
    if len(value) > MAX_TEXT:
        return f"at most {MAX_TEXT} characters"
    unknown = render.unknown_placeholders(value)
    if unknown:
        valid = ", ".join(render.syntax(n) for n in render.PLACEHOLDERS)
        return f"unknown placeholder {', '.join(render.syntax(n) for n in unknown)}; use one of: {valid}"
    return None


def _action_value(action: Action) -> list[Problem]:
    kind, value = action.type, action.value
    if kind in (ActionType.acknowledge, ActionType.notify_supervisors):
        return [] if value is None else [("value", N_("leave the value empty"))]
    if kind == ActionType.set_team:
        problem = _optional_id(value)
    elif kind == ActionType.set_assignee:
        problem = None if value == "nobody" or is_id(value) else N_("choose a user, or nobody")
    elif kind == ActionType.apply_macro:
        problem = None if is_id(value) else N_("choose a macro")
    elif kind == ActionType.call_webhook:
        problem = None if is_id(value) else N_("choose a webhook")
    elif kind == ActionType.set_priority:
        problem = _choice(value, Priority)
    elif kind == ActionType.set_status:
        problem = (
            N_("a ticket cannot be set back to new") if value == TicketStatus.new else _choice(value, TicketStatus)
        )
    elif kind in (ActionType.add_tags, ActionType.remove_tags):
        problem = None
        if not isinstance(value, list) or not 1 <= len(value) <= 20:
            problem = N_("give 1 to 20 tags")
        else:
            try:
                [normalise_tag(str(tag)) for tag in value]
            except ValueError:
                problem = N_("tags hold letters, digits and - . : / + (up to 80 characters each)")
    elif kind == ActionType.set_custom_field:
        ok = isinstance(value, dict) and set(value) == {"key", "value"} and isinstance(value["key"], str)
        problem = None if ok else 'give {"key": ..., "value": ...}'
    elif kind == ActionType.add_note:
        problem = _template(value)
    elif kind == ActionType.send_reply:
        if not isinstance(value, dict) or "default" not in value or not set(value) <= set(REPLY_LANGUAGES):
            return [("value", 'give {"default": text} and optionally {"ru": text}')]
        return [(f"value.{lang}", p) for lang, text in value.items() if (p := _template(text))]
    else:
        problem = None
    return [("value", problem)] if problem else []


def problems(
    *,
    kind: RuleKind,
    triggers: list[Trigger],
    timer: Timer | None,
    conditions: Conditions,
    actions: list[Action],
    regex_timeout: float,
) -> list[Problem]:
    """Every refusal of a rule's parts that needs no database, each with its field path."""
    found: list[Problem] = []
    timed = kind == RuleKind.timed
    if timed:
        if timer is None:
            found.append(("timer", N_("a time-based rule needs its state and time")))
        if triggers:
            found.append(("triggers", N_("a time-based rule runs on its timer, not on triggers")))
    else:
        if not triggers:
            found.append(("triggers", N_("choose when the rule runs")))
        if timer is not None:
            found.append(("timer", N_("only a time-based rule has a timer")))
    for group in ("all", "any"):
        for index, condition in enumerate(getattr(conditions, group)):
            problem = _condition_value(condition, timed=timed, regex_timeout=regex_timeout)
            if problem:
                found.append((f"conditions.{group}.{index}.value", problem))
    for index, action in enumerate(actions):
        if timed and action.type == ActionType.acknowledge:
            found.append((f"actions.{index}.type", N_("the acknowledgement answers a new ticket; use a trigger")))
        found += [(f"actions.{index}.{path}", problem) for path, problem in _action_value(action)]
    return found
