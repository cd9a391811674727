"""The rule editor's form, both ways: posted rows into the API's shape, a stored rule into rows.

Rows are named ``all.<n>.field``, ``any.<n>.op``, ``action.<n>.value`` …; rows added and removed
in the browser leave gaps in the numbers, so rows are renumbered 0, 1, 2 … in the order posted,
which is also the order refusals name them in (``conditions.all.1.value``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from okno.automation.rules.conditions import ID_FIELDS, OPS, ConditionField, Op, Trigger
from okno.automation.rules.schemas import ActionType, TimerState

UNITS = {"minutes": 1, "hours": 60, "days": 24 * 60}
# How each condition's value is entered: a list to choose from, an id (or none), words, or text.
VALUE_INPUTS: dict[ConditionField, str] = {
    ConditionField.channel: "channel",
    ConditionField.customer_plan: "plan",
    ConditionField.priority: "priority",
    ConditionField.status: "status",
    ConditionField.business_hours: "hours",
    ConditionField.team: "team",
    ConditionField.assignee: "user",
    ConditionField.mailbox: "mailbox",
    ConditionField.organization: "organization",
}
ACTION_INPUTS: dict[ActionType, str] = {
    ActionType.set_team: "team",
    ActionType.set_assignee: "user",
    ActionType.set_priority: "priority",
    ActionType.set_status: "status",
    ActionType.add_tags: "words",
    ActionType.remove_tags: "words",
    ActionType.set_custom_field: "custom_field",
    ActionType.send_reply: "reply",
    ActionType.add_note: "note",
    ActionType.apply_macro: "macro",
    ActionType.call_webhook: "webhook",
    ActionType.acknowledge: "none",
    ActionType.notify_supervisors: "none",
}


@dataclass
class Row:
    """One condition or action as the form shows it (strings, as typed)."""

    kind: str  # a condition's field or an action's type
    op: str = ""
    value: str = ""
    extra: str = ""  # the Russian text of a reply, the key of a custom field


@dataclass
class Form:
    name: str = ""
    description: str = ""
    active: bool = True
    triggers: list[str] = field(default_factory=list)
    timer_state: str = TimerState.pending.value
    timer_amount: str = "3"
    timer_unit: str = "days"
    business_time: bool = False
    all: list[Row] = field(default_factory=list)
    any: list[Row] = field(default_factory=list)
    actions: list[Row] = field(default_factory=list)


def value_input(condition_field: str, op: str) -> str:
    if op == Op.changed:
        return "none"
    if op == Op.contains_any:
        return "words"
    try:
        return VALUE_INPUTS.get(ConditionField(condition_field), "text")
    except ValueError:
        return "text"


def ops_for(condition_field: str) -> list[str]:
    try:
        return [op.value for op in OPS[ConditionField(condition_field)]]
    except ValueError:
        return []


def _words(text: str) -> list[str]:
    return [w.strip() for w in text.replace("\n", ",").split(",") if w.strip()]


def _id(text: str) -> Any:
    text = text.strip()
    if text in ("", "none"):
        return None
    return int(text) if text.isdigit() else text


def _rows(form: Mapping[str, Any], prefix: str) -> list[Row]:
    numbers = sorted(
        {int(key.split(".")[1]) for key in form if key.startswith(prefix + ".") and key.split(".")[1].isdigit()}
    )

    def get(n: int, name: str) -> str:
        value = form.get(f"{prefix}.{n}.{name}")
        return value.strip() if isinstance(value, str) else ""

    return [Row(get(n, "kind"), get(n, "op"), get(n, "value"), get(n, "extra")) for n in numbers if get(n, "kind")]


def read(form: Mapping[str, Any], triggers: list[str]) -> Form:
    def text(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    return Form(
        name=text("name"),
        description=text("description"),
        active=text("active") == "on",
        triggers=triggers,
        timer_state=text("timer_state"),
        timer_amount=text("timer_amount"),
        timer_unit=text("timer_unit") if text("timer_unit") in UNITS else "hours",
        business_time=text("business_time") == "on",
        all=_rows(form, "all"),
        any=_rows(form, "any"),
        actions=_rows(form, "action"),
    )


def _condition(row: Row) -> dict[str, Any]:
    kind = value_input(row.kind, row.op)
    value: Any
    if kind == "none":
        value = None
    elif kind == "words":
        value = _words(row.value)
    elif ConditionField.__members__.get(row.kind) in ID_FIELDS:
        value = _id(row.value)
    elif row.kind == ConditionField.language:
        value = row.value.lower() or None
    else:
        value = row.value
    return {"field": row.kind, "op": row.op, "value": value}


def _action(row: Row) -> dict[str, Any]:
    kind = ACTION_INPUTS.get(ActionType.__members__.get(row.kind, ActionType.acknowledge), "none")
    value: Any = row.value
    if kind == "none":
        value = None
    elif kind == "team":
        value = _id(row.value)
    elif kind == "user":
        value = row.value if row.value == "nobody" else _id(row.value)
    elif kind in ("macro", "webhook"):
        value = _id(row.value)
    elif kind == "words":
        value = _words(row.value)
    elif kind == "custom_field":
        value = {"key": row.extra, "value": row.value or None}
    elif kind == "reply":
        value = {"default": row.value} | ({"ru": row.extra} if row.extra else {})
    return {"type": row.kind, "value": value}


def payload(form: Form, *, kind: str) -> dict[str, Any]:
    """The form as ``RuleCreate``'s shape (the API checks it)."""
    data: dict[str, Any] = {
        "name": form.name,
        "description": form.description,
        "active": form.active,
        "conditions": {"all": [_condition(r) for r in form.all], "any": [_condition(r) for r in form.any]},
        "actions": [_action(r) for r in form.actions],
    }
    if kind == "timed":
        amount = int(form.timer_amount) if form.timer_amount.isdigit() else 0
        data["timer"] = {
            "state": form.timer_state,
            "minutes": amount * UNITS.get(form.timer_unit, 60),
            "business_time": form.business_time,
        }
    else:
        data["triggers"] = form.triggers
    return data


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def from_rule(rule: Any) -> Form:
    """A stored rule as the editor's rows."""
    minutes = int(rule.timer.get("minutes", 0)) if rule.timer else 0
    unit = next((u for u in ("days", "hours") if minutes and minutes % UNITS[u] == 0), "minutes")
    actions = []
    for action in rule.actions:
        value = action.get("value")
        if action["type"] == ActionType.send_reply:
            actions.append(Row(action["type"], value=value.get("default", ""), extra=value.get("ru", "")))
        elif action["type"] == ActionType.set_custom_field:
            actions.append(Row(action["type"], value=_shown(value.get("value")), extra=value.get("key", "")))
        else:
            actions.append(Row(action["type"], value=_shown(value)))
    return Form(
        name=rule.name,
        description=rule.description,
        active=rule.active,
        triggers=list(rule.triggers),
        timer_state=rule.timer.get("state", TimerState.pending.value) if rule.timer else TimerState.pending.value,
        timer_amount=str(minutes // UNITS[unit]) if minutes else "3",
        timer_unit=unit if minutes else "days",
        business_time=bool(rule.timer.get("business_time")) if rule.timer else False,
        all=[Row(c["field"], c["op"], _shown(c.get("value"))) for c in rule.conditions.get("all", [])],
        any=[Row(c["field"], c["op"], _shown(c.get("value"))) for c in rule.conditions.get("any", [])],
        actions=actions,
    )


def new_form(kind: str) -> Form:
    if kind == "timed":
        return Form(actions=[Row(ActionType.set_status.value, value="solved")])
    return Form(triggers=[Trigger.ticket_created.value], actions=[Row(ActionType.add_tags.value)])


def row_errors(details: list[dict[str, Any]]) -> dict[str, str]:
    """Refusals by where the form shows them: ``all.0``, ``action.2``, ``triggers``, ``timer``, ``name``."""
    found: dict[str, str] = {}
    for detail in details:
        path = str(detail.get("field", "")).split(".")
        if path[0] == "conditions" and len(path) >= 3:
            key = f"{path[1]}.{path[2]}"
        elif path[0] == "actions" and len(path) >= 2:
            key = f"action.{path[1]}"
        else:
            key = path[0] or "form"
        found.setdefault(key, str(detail.get("reason", "")))
    return found
