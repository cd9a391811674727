"""Admin pages for chat widgets: where they may be embedded, how they look, the pre-chat topics.

Administrators only (the services check it). The identity secret is shown once, in the answer
to creating the widget or to rotating the secret, and never again: the page that lists a widget
only offers to replace it.
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
from okno.channels.widget import service
from okno.channels.widget.schemas import WidgetCreate, WidgetUpdate
from okno.errors import Invalid
from okno.schemas import Id
from okno.web import forms
from okno.web.i18n import N_
from okno.web.pages import Page, StaffPage

router = APIRouter(include_in_schema=False)

BLANK_TOPIC_ROWS = 3
WIDGET_ERRORS = {
    "name": N_("Enter a name of at most 200 characters."),
    "allowed_origins": N_("Enter at most 50 sites, one per line."),
    "color": N_("Enter a colour as #RRGGBB, e.g. #2563eb."),
    "position": N_("Choose the right or the left corner."),
    "greeting": N_("Enter at most 500 characters."),
    "language": N_("Choose a language from the list."),
    "team_id": N_("Choose a team from the list."),
    "topics": N_("Offer at most 20 topics."),
    "idle_close_minutes": N_("Enter a number of minutes between 5 and 1440."),
}
ORIGIN_ERROR = N_("Line %(line)s: enter a site as scheme://host[:port], e.g. https://shop.example (no path).")
TOPIC_ERRORS = {
    "label": N_("Enter a label of at most 100 characters, or remove the topic."),
    "team_id": N_("Choose the team that answers this topic."),
    "id": N_("This topic was removed meanwhile; reload the page."),
}


def _render(page: Page, template: str, status: int = 200, **context: Any) -> Response:
    return forms.render_admin(page, template, status, admin_key="widgets", **context)


def snippet(page: Page, key: str) -> str:
    """The one line a site puts into its pages."""
    base_url = page.request.app.state.runtime.settings.base_url.rstrip("/")
    return f'<script src="{base_url}/widget.js" data-widget="{key}" async></script>'


# ---- the list ----


def _list(session: Session, actor: Actor) -> dict[str, Any]:
    return {"widgets": service.list_widgets(session, actor), "teams": accounts_queries.team_names(session)}


@router.get("/admin/widgets")
async def widgets_page(page: StaffPage, done: str | None = None) -> Response:
    context = await forms.run(page, False, _list, page.actor)
    return _render(page, "admin/widgets.html", done=done, **context)


# ---- the form: its values as typed, and the schema's data made from them ----


def _values_of(widget: service.WidgetSettings | None) -> dict[str, Any]:
    if widget is None:
        defaults = WidgetCreate(name="-")
        values: dict[str, Any] = defaults.model_dump(exclude={"topics", "allowed_origins"}) | {"name": ""}
        values["allowed_origins"] = ""
        values["topics"] = []
    else:
        values = {
            name: getattr(widget, name)
            for name in WidgetCreate.model_fields
            if name not in {"topics", "allowed_origins"}
        }
        values["allowed_origins"] = "\n".join(widget.allowed_origins)
        values["topics"] = [
            {"id": str(t.id), "label": t.label, "team_id": str(t.team_id or ""), "order": str(n + 1), "remove": False}
            for n, t in enumerate(widget.topics)
        ]
    values["team_id"] = "" if values["team_id"] is None else str(values["team_id"])
    values["idle_close_minutes"] = str(values["idle_close_minutes"])
    values["topics"] += [
        {"id": "", "label": "", "team_id": "", "order": "", "remove": False} for _ in range(BLANK_TOPIC_ROWS)
    ]
    return values


def _read_values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {
        name: forms.text(form, name)
        for name in ("name", "color", "position", "language", "team_id", "idle_close_minutes")
    }
    for name in ("allowed_origins", "greeting"):
        raw = form.get(name)
        values[name] = raw.strip() if isinstance(raw, str) else ""
    for name in ("enabled", "ask_name", "ask_email"):
        values[name] = form.get(name) == "on"
    rows = []
    row = 0
    while f"topics-{row}-label" in form:
        rows.append(
            {
                "id": forms.text(form, f"topics-{row}-id"),
                "label": forms.text(form, f"topics-{row}-label"),
                "team_id": forms.text(form, f"topics-{row}-team_id"),
                "order": forms.text(form, f"topics-{row}-order"),
                "remove": form.get(f"topics-{row}-remove") == "on",
            }
        )
        row += 1
    values["topics"] = rows
    return values


def _origin_lines(values: dict[str, Any]) -> list[tuple[int, str]]:
    lines = str(values["allowed_origins"]).splitlines()
    return [(number, line.strip()) for number, line in enumerate(lines, start=1) if line.strip()]


def _topic_rows(values: dict[str, Any]) -> list[int]:
    """The form rows that are topics, in the order asked for (an order number, then as listed)."""
    rows = [
        index
        for index, topic in enumerate(values["topics"])
        if not topic["remove"] and (topic["label"] or topic["team_id"] or topic["id"])
    ]

    def order(index: int) -> tuple[int, int]:
        typed = values["topics"][index]["order"]
        return (int(typed) if typed.isdigit() else 10_000, index)

    return sorted(rows, key=order)


def _data(values: dict[str, Any]) -> dict[str, Any]:
    data = {
        name: values[name]
        for name in ("name", "enabled", "color", "position", "greeting", "language", "ask_name", "ask_email")
    }
    data["team_id"] = values["team_id"] or None
    data["idle_close_minutes"] = values["idle_close_minutes"] or None
    data["allowed_origins"] = [line for _number, line in _origin_lines(values)]
    data["topics"] = [
        {
            "id": values["topics"][row]["id"] or None,
            "label": values["topics"][row]["label"],
            "team_id": values["topics"][row]["team_id"] or None,
        }
        for row in _topic_rows(values)
    ]
    return data


def _errors(page: Page, values: dict[str, Any], error: ValidationError) -> dict[str, str]:
    found: dict[str, str] = {}
    lines = _origin_lines(values)
    rows = _topic_rows(values)
    for item in error.errors():
        loc = item["loc"]
        name = str(loc[0]) if loc else ""
        if name == "allowed_origins" and len(loc) > 1 and isinstance(loc[1], int):
            found.setdefault(name, page.gettext(ORIGIN_ERROR, line=lines[loc[1]][0]))
        elif name == "topics" and len(loc) > 2 and isinstance(loc[1], int) and str(loc[2]) in TOPIC_ERRORS:
            found[f"topics-{rows[loc[1]]}-{loc[2]}"] = page.gettext(TOPIC_ERRORS[str(loc[2])])
        else:
            found[name if name in WIDGET_ERRORS else "form"] = page.gettext(WIDGET_ERRORS.get(name, forms.CHECK_FORM))
    return found


def _invalid(page: Page, values: dict[str, Any], error: Invalid) -> dict[str, str]:
    """The service's verdict (a team that is gone, a topic of another widget) next to its field."""
    field = error.details[0]["field"] if error.details else ""
    parts = field.split(".")
    if len(parts) == 3 and parts[0] == "topics" and parts[1].isdigit() and parts[2] in TOPIC_ERRORS:
        row = _topic_rows(values)[int(parts[1])]
        return {f"topics-{row}-{parts[2]}": page.gettext(TOPIC_ERRORS[parts[2]])}
    if field in WIDGET_ERRORS:
        return {field: page.gettext(WIDGET_ERRORS[field])}
    return {"form": page.gettext(forms.CHECK_FORM)}


def _form_context(session: Session, actor: Actor, widget_id: int | None) -> dict[str, Any]:
    require_admin(actor)
    widget = service.get_widget(session, actor, widget_id) if widget_id is not None else None
    return {"widget": widget, "teams": accounts_queries.team_names(session)}


async def _form(page: Page, widget_id: int | None, status: int = 200, **context: Any) -> Response:
    extra = await forms.run(page, False, _form_context, page.actor, widget_id)
    widget = extra["widget"]
    context.setdefault("values", _values_of(widget))
    context.setdefault("secret", None)
    return _render(
        page,
        "admin/widget.html",
        status,
        snippet=snippet(page, widget.key) if widget else None,
        **extra,
        **context,
    )


async def _refused(page: Page, widget_id: int | None, values: dict[str, Any], errors: dict[str, str]) -> Response:
    """The form again with what was typed (every row, blank ones included) and the reasons."""
    return await _form(page, widget_id, 422, values=values, errors=errors)


# ---- creating, editing, the secret ----


@router.get("/admin/widgets/new")
async def new_widget(page: StaffPage) -> Response:
    return await _form(page, None)


def _create(session: Session, actor: Actor, *, data: WidgetCreate) -> tuple[service.WidgetSettings, str]:
    created = service.create_widget(session, actor, data=data)
    return created, service.identity_secret(session, created.id).decode("ascii")


@router.post("/admin/widgets")
async def create_widget(page: StaffPage) -> Response:
    form = await forms.read_form(page)
    values = _read_values(form)
    try:
        created, secret = await forms.run(
            page, True, _create, page.actor, data=WidgetCreate.model_validate(_data(values))
        )
    except ValidationError as error:
        return await _refused(page, None, values, _errors(page, values, error))
    except Invalid as error:
        return await _refused(page, None, values, _invalid(page, values, error))
    # Shown in this answer only: the secret is not put into a URL or shown on later visits.
    return await _form(page, created.id, done="created", secret=secret)


@router.get("/admin/widgets/{widget_id:int}")
async def widget_page(page: StaffPage, widget_id: Id, done: str | None = None) -> Response:
    return await _form(page, widget_id, done=done)


@router.post("/admin/widgets/{widget_id:int}")
async def update_widget(page: StaffPage, widget_id: Id) -> Response:
    form = await forms.read_form(page)
    values = _read_values(form)
    try:
        data = WidgetUpdate.model_validate(_data(values))
        await forms.run(page, True, service.update_widget, page.actor, widget_id, data=data)
    except ValidationError as error:
        return await _refused(page, widget_id, values, _errors(page, values, error))
    except Invalid as error:
        return await _refused(page, widget_id, values, _invalid(page, values, error))
    return RedirectResponse(f"/admin/widgets/{widget_id}?done=saved", status_code=303)


@router.post("/admin/widgets/{widget_id:int}/secret")
async def rotate_secret(page: StaffPage, widget_id: Id) -> Response:
    await forms.read_form(page)
    secret = await forms.run(page, True, service.rotate_secret, page.actor, widget_id)
    return await _form(page, widget_id, done="rotated", secret=secret)
