"""The agent workspace's ticket pages: the inbox and the ticket with its conversation."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from okno.accounts import queries as accounts_queries
from okno.accounts.permissions import Actor, may_change_tickets
from okno.automation.macros import service as macros_service
from okno.automation.rules import queries as rules_queries
from okno.automation.sla import queries as sla_queries
from okno.automation.sla import service as sla_service
from okno.customers import card as customer_card
from okno.customers import service as customers_service
from okno.db import utcnow
from okno.errors import Conflict, Invalid, OknoError
from okno.http.deps import unit_of_work
from okno.schemas import Id
from okno.tickets import access, attachments, fields, queries, service
from okno.tickets import changes as ticket_changes
from okno.tickets.models import MessageKind, Priority, TicketStatus
from okno.tickets.schemas import MessageCreate, TicketUpdate
from okno.web.pages import StaffPage, check_csrf

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home() -> Response:
    return RedirectResponse("/inbox", status_code=303)


def _ticket(session: Session, actor: Actor, ticket_id: int) -> dict[str, Any]:
    ticket = access.get_ticket(session, actor, ticket_id)
    read = queries.to_reads(session, [ticket])[0]
    messages = queries.list_messages(session, actor, ticket, after_id=None, limit=500)
    events = queries.list_events(session, actor, ticket, after_id=None, limit=1000)
    timeline: list[tuple[Any, str, Any]] = [(m.created_at, "message", queries.message_read(m)) for m in messages]
    timeline += [(e.occurred_at, "event", e) for e in events if e.kind not in queries.EVENTS_SHOWN_AS_MESSAGES]
    timeline.sort(key=lambda item: item[0])
    people = {m.author_user_id for m in messages if m.author_user_id} | {read.assignee_id or 0}
    people |= {e.actor_id for e in events if e.actor_type == "user" and e.actor_id}
    mentioned: dict[int, list[int]] = {}
    for e in events:
        if e.kind == "assigned":
            people |= {e.data.get("old") or 0, e.data.get("new") or 0}
            people |= {c["user_id"] for c in (e.data.get("routing") or {}).get("candidates", [])}
        if e.kind == "note_added" and e.data.get("mentioned_user_ids"):
            mentioned[e.data["message_id"]] = e.data["mentioned_user_ids"]
            people |= set(e.data["mentioned_user_ids"])
    customer = customers_service.get_customer(session, actor, ticket.customer_id)
    definitions = fields.list_custom_fields(session, actor)
    now = utcnow(session)
    sla = sla_queries.clocks(session, [ticket.id], now=now)[ticket.id]
    return {
        "ticket": read,
        "timeline": timeline,
        "customer": customers_service.to_read(customer),
        "customer_card": customer_card.sidebar(session, actor, ticket.customer_id, ticket_id=ticket.id),
        "user_names": accounts_queries.user_names(session, people - {0}),
        "team_names": accounts_queries.team_names(session),
        "statuses": [s.value for s in TicketStatus if s != TicketStatus.new],
        "priorities": [p.value for p in Priority],
        "agents": accounts_queries.assignable_users(session),
        "now": now,
        "sla": sla,
        "sla_policy_names": sla_service.policy_names(session, {c.policy_id for c in sla if c.policy_id}),
        "seen_message_id": max((m.id for m in messages), default=0),
        "mentioned": mentioned,
        "related": queries.related(session, actor, ticket),
        "tag_options": [t.name for t in fields.list_tags(session, actor)][:1000],
        "custom_fields": definitions,
        "field_labels": {d.key: d.label for d in definitions},
        "may_change": may_change_tickets(actor),
        "rule_names": rules_queries.names(
            session, {e.actor_id for e in events if e.actor_type == "rule" and e.actor_id}
        ),
        "macro_titles": macros_service.titles(
            session, actor, {e.data["macro_id"] for e in events if e.kind == "macro_applied"}
        ),
    }


@dataclass
class Shown:
    """What a ticket page shows besides the ticket: a refused form's input and errors, kept for the agent."""

    error: str | None = None
    draft: str = ""
    draft_kind: str = "reply"
    draft_mentions: list[int] = field(default_factory=list)
    draft_attachment_ids: list[str] = field(default_factory=list)
    field_errors: dict[str, str] = field(default_factory=dict)
    field_values: dict[str, str] = field(default_factory=dict)
    tag_error: str | None = None
    tag_value: str = ""
    notice: str | None = None


async def render_ticket(page: StaffPage, ticket_id: int, shown: Shown, status_code: int = 200) -> Response:
    assert page.signed_in is not None
    actor = page.signed_in.actor

    def build(session: Session) -> dict[str, Any]:
        context = _ticket(session, actor, ticket_id)
        context["draft_attachments"] = [
            queries.attachment_read(a) for a in attachments.pending_uploads(session, actor, shown.draft_attachment_ids)
        ]
        context["draft_mentions"] = sorted(
            accounts_queries.user_names(session, set(shown.draft_mentions)).items(), key=lambda item: item[1]
        )
        return context

    runtime = page.request.app.state.runtime
    async with unit_of_work(runtime, writes=False) as session:
        context = await run_in_threadpool(build, session)
    return page.render(
        "tickets/ticket.html",
        status_code,
        section="inbox",
        error=shown.error,
        notice=shown.notice,
        draft=shown.draft,
        draft_kind=shown.draft_kind,
        field_errors=shown.field_errors,
        field_values=shown.field_values,
        tag_error=shown.tag_error,
        tag_value=shown.tag_value,
        max_attachment_bytes=runtime.settings.max_attachment_bytes,
        **context,
    )


@router.get("/tickets/{ticket_id}")
async def ticket_page(page: StaffPage, ticket_id: Id, merged_from: Id | None = None) -> Response:
    notice = None
    if merged_from is not None:
        notice = page.gettext("Ticket #%(number)s was merged into this one.", number=merged_from)
    return await render_ticket(page, ticket_id, Shown(notice=notice))


@router.post("/tickets/{ticket_id}/messages")
async def post_message(
    page: StaffPage,
    ticket_id: Id,
    body: Annotated[str, Form(max_length=200_000)] = "",
    kind: Annotated[str, Form()] = "reply",
    status: Annotated[str, Form()] = "",
    seen_message_id: Annotated[int | None, Form()] = None,
    mentioned_user_ids: Annotated[list[int], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
    attachment_ids: Annotated[list[str], Form(max_length=50)] = [],  # noqa: B006
    csrf_token: Annotated[str, Form()] = "",
    macro_id: Annotated[str, Form(description="a macro chosen in the picker: its actions go with the message")] = "",
) -> Response:
    check_csrf(page, csrf_token)
    assert page.signed_in is not None
    # Mentions in a public reply are plain words: only notes notify.
    mentions = mentioned_user_ids if kind == MessageKind.note else []
    kept = Shown(draft=body, draft_kind=kind, draft_mentions=mentions, draft_attachment_ids=attachment_ids)
    actor = page.signed_in.actor
    try:
        data = MessageCreate.model_validate(
            {
                "body": body,
                "kind": kind,
                "seen_message_id": seen_message_id,
                "mentioned_user_ids": mentions,
                "attachment_ids": attachment_ids,
                **({"status": status} if status and kind == MessageKind.reply else {}),
            }
        )
        async with unit_of_work(page.request.app.state.runtime, writes=True) as session:
            if macro_id.isdigit():
                send = functools.partial(macros_service.post_with_macro, macro_id=int(macro_id), message=data)
                posted = await run_in_threadpool(send, session, actor, ticket_id=ticket_id)
            else:
                posted = await run_in_threadpool(service.add_message, session, actor, ticket_id, data=data)
    except ValidationError:
        kept.error = page.gettext("Write a message first.")
        return await render_ticket(page, ticket_id, kept, 422)
    except Conflict as conflict:
        if conflict.code == "replied_meanwhile":
            kept.error = page.gettext(
                "A colleague replied while you were writing. Read their answer; send again to post yours."
            )
        else:
            kept.error = conflict.message
        return await render_ticket(page, ticket_id, kept, 422)
    except OknoError as refused:
        if refused.status_code == 404:
            raise
        kept.error = await _refusal_text(page, refused)
        return await render_ticket(page, ticket_id, kept, 422)
    return RedirectResponse(f"/tickets/{posted.ticket.id}#message-{posted.message.id}", status_code=303)


async def _refusal_text(page: StaffPage, refused: OknoError) -> str:
    """The agent's language for the refusals a composer can meet."""
    if refused.code == "mention_not_allowed":
        ids = set(refused.details[0].get("user_ids", []))
        async with unit_of_work(page.request.app.state.runtime, writes=False) as session:
            names = await run_in_threadpool(accounts_queries.user_names, session, ids)
        return page.gettext(
            "%(names)s cannot open this ticket (it is not on their teams), so the note cannot mention them. "
            "Move the ticket to their team or assign it to them first.",
            names=", ".join(sorted(names.values())),
        )
    if refused.code == "unknown_mention":
        return page.gettext(
            "Someone you mentioned is no longer an active colleague. Remove the mention and send again."
        )
    if isinstance(refused, Invalid) and refused.details and refused.details[0].get("field") == "attachment_ids":
        return page.gettext("An attached file is no longer available. Attach it again.")
    return refused.message


@router.post("/tickets/{ticket_id}/properties")
async def update_properties(
    page: StaffPage,
    ticket_id: Id,
    csrf_token: Annotated[str, Form()] = "",
    status: Annotated[str | None, Form()] = None,
    priority: Annotated[str | None, Form()] = None,
    assignee: Annotated[str | None, Form(description="a user id, 'me', or empty for nobody")] = None,
    team: Annotated[str | None, Form()] = None,
) -> Response:
    """Status, priority, owner and team changed in place (also the a and s keyboard shortcuts)."""
    check_csrf(page, csrf_token)
    assert page.signed_in is not None
    actor = page.signed_in.actor
    changes: dict[str, Any] = {}
    if status:
        changes["status"] = status
    if priority:
        changes["priority"] = priority
    if assignee is not None:
        changes["assignee_id"] = actor.user_id if assignee == "me" else (int(assignee) if assignee.isdigit() else None)
    if team is not None:
        changes["team_id"] = int(team) if team.isdigit() else None
    try:
        update = TicketUpdate.model_validate(changes)
        async with unit_of_work(page.request.app.state.runtime, writes=True) as session:
            await run_in_threadpool(ticket_changes.update_ticket, session, actor, ticket_id, changes=update)
    except ValidationError:
        return await render_ticket(page, ticket_id, Shown(error=page.gettext("That value is not allowed here.")), 422)
    except OknoError as refused:
        if refused.status_code == 404:
            raise
        return await render_ticket(page, ticket_id, Shown(error=refused.message), 422)
    return RedirectResponse(f"/tickets/{ticket_id}", status_code=303)


@router.post("/tickets/{ticket_id}/macros/{macro_id}")
async def apply_macro_now(
    page: StaffPage, ticket_id: Id, macro_id: Id, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """A macro with actions and no text, chosen in the picker: there is nothing to write, so it applies at once."""
    check_csrf(page, csrf_token)
    assert page.signed_in is not None
    apply = functools.partial(
        macros_service.apply_macro, actor=page.signed_in.actor, ticket_id=ticket_id, macro_id=macro_id, post=False
    )
    try:
        async with unit_of_work(page.request.app.state.runtime, writes=True) as session:
            await run_in_threadpool(apply, session)
    except (Invalid, Conflict) as refused:
        return await render_ticket(page, ticket_id, Shown(error=refused.message), 422)
    return RedirectResponse(f"/tickets/{ticket_id}", status_code=303)
