"""Small helpers for pages with forms: read a form (checking its CSRF token), run a service in one
unit of work off the event loop, and put validation messages next to their fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from okno.http.deps import unit_of_work
from okno.web.i18n import N_
from okno.web.pages import Page, check_csrf

T = TypeVar("T")


CHECK_FORM = N_("Check the form.")


async def run(page: Page, writes: bool, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``work(session, *args, **kwargs)`` in one transaction: committed when it returns, rolled back if it raises."""
    async with unit_of_work(page.request.app.state.runtime, writes=writes) as session:
        return await run_in_threadpool(work, session, *args, **kwargs)


async def read_form(page: Page) -> FormData:
    form = await page.request.form()
    token = form.get("csrf_token")
    check_csrf(page, token if isinstance(token, str) else None)
    return form


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def ids(form: FormData, name: str) -> list[int]:
    return [int(v) for v in form.getlist(name) if isinstance(v, str) and v.isdigit()]


def words(value: str) -> list[str]:
    """A comma-separated list typed by a person (``en, ru``), without empty entries."""
    return [w.strip() for w in value.replace(";", ",").split(",") if w.strip()]


def field_errors(page: Page, error: ValidationError, messages: dict[str, str]) -> dict[str, str]:
    """One translated message per field; anything not on the form goes to the form as a whole."""
    found = {}
    for item in error.errors():
        name = str(item["loc"][0]) if item["loc"] else ""
        found[name if name in messages else "form"] = page.gettext(messages.get(name, CHECK_FORM))
    return found


def render_admin(page: Page, template: str, status: int = 200, **context: Any) -> Response:
    """An admin page: the admin section highlighted, no errors and no notice unless given."""
    return page.render(template, status, section="admin", **{"errors": {}, "done": None, **context})
