"""Admin pages for webhooks: subscriptions, their secrets (shown once) and delivery logs.

Administrators only (the services check it). A subscription's page shows its last deliveries
with their outcome, and offers to send one again or to send a test.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from okno.accounts.permissions import Actor, require_admin
from okno.automation.webhooks import service
from okno.automation.webhooks.schemas import EVENT_KINDS, SubscriptionCreate, SubscriptionUpdate
from okno.errors import Conflict, Invalid
from okno.schemas import Id
from okno.web import forms
from okno.web.i18n import N_
from okno.web.pages import Page, StaffPage

router = APIRouter(include_in_schema=False)

LOG_SIZE = 50
EVENT_LABELS = {
    "created": N_("Ticket created"),
    "message_received": N_("Message from the customer"),
    "reply_sent": N_("Reply sent"),
    "note_added": N_("Internal note added"),
    "status_changed": N_("Status changed"),
    "assigned": N_("Assignee changed"),
    "team_changed": N_("Team changed"),
    "priority_changed": N_("Priority changed"),
    "tags_changed": N_("Tags changed"),
    "field_changed": N_("Custom field changed"),
    "merged": N_("Tickets merged"),
    "reopened": N_("Ticket reopened"),
    "follow_up_created": N_("Follow-up created"),
    "customer_changed": N_("Customer changed"),
    "macro_applied": N_("Macro applied"),
    "plan_changed": N_("Customer plan changed"),
    "sla_targets_changed": N_("SLA targets recomputed"),
    "sla_warning": N_("SLA target due soon"),
    "sla_breached": N_("SLA target breached"),
    "marked_spam": N_("Moved into spam"),
    "unmarked_spam": N_("Taken out of spam"),
    "rule": N_("Called by a rule"),
    "ping": N_("Test"),
}
WEBHOOK_ERRORS = {
    "name": N_("Enter a name of at most 200 characters."),
    "url": N_("Enter an http:// or https:// address without a user name, e.g. https://hooks.example.com/okno."),
    "event_kinds": N_("Choose events from the list."),
}
PRIVATE_ERROR = N_("This address is on a private network. Allow private networks below to use it.")


def _render(page: Page, template: str, status: int = 200, **context: Any) -> Response:
    return forms.render_admin(page, template, status, admin_key="webhooks", event_labels=EVENT_LABELS, **context)


def _list(session: Session, actor: Actor) -> dict[str, Any]:
    found = service.list_subscriptions(session, actor)
    return {"subscriptions": found, "last": service.last_deliveries(session, [s.id for s in found])}


@router.get("/admin/webhooks")
async def webhooks_page(page: StaffPage, done: str | None = None) -> Response:
    context = await forms.run(page, False, _list, page.actor)
    return _render(page, "admin/webhooks.html", done=done, **context)


def _values(form: FormData) -> dict[str, Any]:
    return {
        "name": forms.text(form, "name"),
        "url": forms.text(form, "url"),
        "event_kinds": [k for k in form.getlist("event_kinds") if isinstance(k, str)],
        "enabled": form.get("enabled") == "on",
        "allow_private_network": form.get("allow_private_network") == "on",
    }


def _errors(page: Page, error: ValidationError | Invalid) -> dict[str, str]:
    if isinstance(error, Invalid):
        field = error.details[0]["field"] if error.details else "form"
        if error.code == "private_address":
            return {"url": page.gettext(PRIVATE_ERROR)}
        return {field if field in WEBHOOK_ERRORS else "form": page.gettext(WEBHOOK_ERRORS.get(field, forms.CHECK_FORM))}
    return forms.field_errors(page, error, WEBHOOK_ERRORS)


def _detail(session: Session, actor: Actor, subscription_id: int | None) -> dict[str, Any]:
    require_admin(actor)
    if subscription_id is None:
        return {"subscription": None, "deliveries": []}
    subscription = service.get_subscription(session, actor, subscription_id)
    return {
        "subscription": subscription,
        "deliveries": service.list_deliveries(session, actor, subscription_id, limit=LOG_SIZE),
    }


async def _page(page: Page, subscription_id: int | None, status: int = 200, **context: Any) -> Response:
    detail = await forms.run(page, False, _detail, page.actor, subscription_id)
    subscription = detail["subscription"]
    if "values" not in context:
        context["values"] = (
            {
                "name": subscription.name,
                "url": subscription.url,
                "event_kinds": list(subscription.event_kinds),
                "enabled": subscription.enabled,
                "allow_private_network": subscription.allow_private_network,
            }
            if subscription
            else {"name": "", "url": "", "event_kinds": [], "enabled": True, "allow_private_network": False}
        )
    context.setdefault("secret", None)
    context.setdefault("errors", {})
    return _render(page, "admin/webhook.html", status, event_kinds=EVENT_KINDS, **detail, **context)


@router.get("/admin/webhooks/new")
async def new_webhook(page: StaffPage) -> Response:
    return await _page(page, None)


@router.post("/admin/webhooks")
async def create_webhook(page: StaffPage) -> Response:
    form = await forms.read_form(page)
    values = _values(form)
    try:
        data = SubscriptionCreate.model_validate(values)
        created, secret = await forms.run(page, True, service.create_subscription, page.actor, data=data)
    except (ValidationError, Invalid) as error:
        return await _page(page, None, 422, values=values, errors=_errors(page, error))
    # Shown in this answer only: never put into a URL, never shown again.
    return await _page(page, created.id, done="created", secret=secret)


@router.get("/admin/webhooks/{subscription_id:int}")
async def webhook_page(page: StaffPage, subscription_id: Id, done: str | None = None) -> Response:
    return await _page(page, subscription_id, done=done)


@router.post("/admin/webhooks/{subscription_id:int}")
async def update_webhook(page: StaffPage, subscription_id: Id) -> Response:
    form = await forms.read_form(page)
    values = _values(form)
    try:
        data = SubscriptionUpdate.model_validate(values)
        await forms.run(page, True, service.update_subscription, page.actor, subscription_id, data=data)
    except (ValidationError, Invalid) as error:
        return await _page(page, subscription_id, 422, values=values, errors=_errors(page, error))
    return RedirectResponse(f"/admin/webhooks/{subscription_id}?done=saved", status_code=303)


@router.post("/admin/webhooks/{subscription_id:int}/secret")
async def rotate_secret(page: StaffPage, subscription_id: Id) -> Response:
    await forms.read_form(page)
    secret = await forms.run(page, True, service.rotate_secret, page.actor, subscription_id)
    return await _page(page, subscription_id, done="rotated", secret=secret)


@router.post("/admin/webhooks/{subscription_id:int}/ping")
async def ping(page: StaffPage, subscription_id: Id) -> Response:
    await forms.read_form(page)
    await forms.run(page, True, service.send_ping, page.actor, subscription_id)
    return RedirectResponse(f"/admin/webhooks/{subscription_id}?done=pinged#deliveries", status_code=303)


@router.post("/admin/webhooks/{subscription_id:int}/deliveries/{delivery_id:int}/redeliver")
async def redeliver(page: StaffPage, subscription_id: Id, delivery_id: Id) -> Response:
    await forms.read_form(page)
    try:
        await forms.run(page, True, service.redeliver, page.actor, subscription_id, delivery_id)
    except Conflict:
        return RedirectResponse(f"/admin/webhooks/{subscription_id}?done=pending#deliveries", status_code=303)
    return RedirectResponse(f"/admin/webhooks/{subscription_id}?done=redelivered#deliveries", status_code=303)


@router.post("/admin/webhooks/{subscription_id:int}/delete")
async def delete(page: StaffPage, subscription_id: Id) -> Response:
    await forms.read_form(page)
    await forms.run(page, True, service.delete_subscription, page.actor, subscription_id)
    return RedirectResponse("/admin/webhooks?done=deleted", status_code=303)
