"""Macros: managing them, finding the right one for a ticket, and applying it.

Applying a macro changes the ticket only through the tickets services (``update_ticket``,
``add_message``), so every change is its own event with the person applying it as the actor;
a ``macro_applied`` event (its id only) says where they came from. Nothing here commits: a
refused action rolls back the message and the other changes with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts import queries as accounts_queries
from okno.accounts.permissions import (
    Actor,
    may_apply_macro,
    may_manage_macro,
    require_macro_manager,
    require_may_apply_macro,
    require_staff,
    visible_macros,
)
from okno.automation.macros import render
from okno.automation.macros.models import Macro, MacroScope
from okno.automation.macros.schemas import MacroActions, MacroCreate, MacroUpdate
from okno.db import utcnow
from okno.errors import Conflict, Invalid, NotFound
from okno.tickets import access, events, queries
from okno.tickets import changes as ticket_changes
from okno.tickets import service as tickets_service
from okno.tickets.events import EventKind
from okno.tickets.models import MessageKind
from okno.tickets.schemas import MessageCreate, TicketUpdate

if TYPE_CHECKING:
    from okno.tickets.models import Message, Ticket

LIST_SCOPES = ("mine", "personal", "team", "everyone", "all")
SEARCH_POOL = 1000
# The most used first, or the most recently used (never used last), or by title.
SORTS: dict[str, tuple[Any, ...]] = {
    "title": (),
    "usage": (Macro.usage_count.desc(),),
    "recent": (Macro.last_used_at.is_(None), Macro.last_used_at.desc()),
}


def actions_of(macro: Macro) -> MacroActions:
    return MacroActions.model_validate(macro.actions or {})


def _mine(actor: Actor, *, also_team: int | None = None) -> sa.ColumnElement[bool]:
    """The macros meant for this person: their own, everyone's, their teams' (and the ticket's team's)."""
    teams = set(actor.team_ids) | ({also_team} if also_team is not None else set())
    return sa.or_(
        sa.and_(Macro.scope == MacroScope.personal, Macro.owner_id == actor.user_id),
        Macro.scope == MacroScope.everyone,
        sa.and_(Macro.scope == MacroScope.team, Macro.team_id.in_(sorted(teams))),
    )


def list_macros(
    session: Session, actor: Actor, *, scope: str = "mine", active_only: bool = False, sort: str = "title"
) -> list[Macro]:
    """``mine``: what the person would use; ``all``: every macro they may see (admins: all teams')."""
    require_staff(actor)
    if scope not in LIST_SCOPES:
        raise Invalid(f"must be one of: {', '.join(LIST_SCOPES)}", field="scope")
    if sort not in SORTS:
        raise Invalid(f"must be one of: {', '.join(SORTS)}", field="sort")
    query = sa.select(Macro).where(visible_macros(actor))
    if scope == "mine":
        query = query.where(_mine(actor))
    elif scope == "personal":
        query = query.where(Macro.scope == MacroScope.personal, Macro.owner_id == actor.user_id)
    elif scope != "all":
        query = query.where(Macro.scope == scope)
    if active_only:
        query = query.where(Macro.active.is_(True))
    return list(session.scalars(query.order_by(*SORTS[sort], Macro.title, Macro.id)))


def get_macro(session: Session, actor: Actor, macro_id: int) -> Macro:
    require_staff(actor)
    macro = session.scalar(sa.select(Macro).where(Macro.id == macro_id, visible_macros(actor)))
    if macro is None:
        raise NotFound("Macro not found.")
    return macro


def _check(session: Session, actor: Actor, state: dict[str, Any]) -> None:
    """Rules that need the database, on the macro as it will be saved."""
    require_macro_manager(actor, scope=state["scope"], owner_id=state["owner_id"])
    if state["scope"] == MacroScope.personal and not may_apply_macro(
        actor, kind=state["kind"], has_actions=not state["actions"].empty
    ):
        raise Invalid("your role may only keep note macros that change nothing", field="kind")
    if state["scope"] == MacroScope.team:
        if state["team_id"] is None:
            raise Invalid("a team macro needs its team", field="team_id")
        if not accounts_queries.team_exists(session, state["team_id"]):
            raise Invalid("no such team", field="team_id")
    elif state["team_id"] is not None:
        raise Invalid("only a team macro has a team", field="team_id")
    actions: MacroActions = state["actions"]
    if not state["body"].strip() and actions.empty:
        raise Invalid("a macro needs a text, actions, or both", field="body")
    if actions.team_id is not None and not accounts_queries.team_exists(session, actions.team_id):
        raise Invalid("no such team", field="actions.team_id")
    if isinstance(actions.assignee, int):
        if not accounts_queries.is_assignable(session, actions.assignee):
            raise Invalid("the assignee must be an active agent, supervisor or admin", field="actions.assignee")
        if actions.team_id is not None and not accounts_queries.is_member(session, actions.assignee, actions.team_id):
            raise Invalid("the assignee is not on the team the macro moves the ticket to", field="actions.assignee")


def create_macro(session: Session, actor: Actor, *, data: MacroCreate) -> Macro:
    require_staff(actor)
    owner_id = actor.user_id if data.scope == MacroScope.personal else None
    if data.scope == MacroScope.personal and owner_id is None:
        raise Invalid("a personal macro needs a person to own it", field="scope")
    state = {**data.model_dump(exclude={"actions"}), "actions": data.actions, "owner_id": owner_id}
    _check(session, actor, state)
    now = utcnow(session)
    macro = Macro(
        title=data.title,
        body=data.body,
        kind=data.kind,
        actions=data.actions.stored(),
        scope=data.scope,
        owner_id=owner_id,
        team_id=data.team_id,
        active=data.active,
        usage_count=0,
        created_by_id=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(macro)
    session.flush()
    return macro


def update_macro(session: Session, actor: Actor, macro_id: int, *, changes: MacroUpdate) -> Macro:
    macro = get_macro(session, actor, macro_id)
    require_macro_manager(actor, scope=macro.scope, owner_id=macro.owner_id)
    given = changes.model_fields_set
    scope = MacroScope(changes.scope) if "scope" in given and changes.scope is not None else MacroScope(macro.scope)
    team_id = changes.team_id if "team_id" in given else macro.team_id
    if scope != MacroScope.team and "team_id" not in given:
        team_id = None  # leaving a team: the macro no longer has one
    if scope == MacroScope.personal:
        # A shared macro made personal becomes its editor's own.
        owner_id = macro.owner_id if macro.scope == MacroScope.personal else actor.user_id
    else:
        owner_id = None
    state: dict[str, Any] = {
        "scope": scope,
        "team_id": team_id,
        "owner_id": owner_id,
        "body": changes.body if changes.body is not None else macro.body,
        "kind": changes.kind if changes.kind is not None else macro.kind,
        "actions": changes.actions if changes.actions is not None else actions_of(macro),
    }
    for name in ("title", "kind", "active"):
        if name in given and getattr(changes, name) is None:
            raise Invalid("may not be empty", field=name)
    _check(session, actor, state)
    macro.title = changes.title if changes.title is not None else macro.title
    macro.kind = changes.kind if changes.kind is not None else macro.kind
    macro.active = changes.active if changes.active is not None else macro.active
    macro.body = state["body"]
    macro.actions = state["actions"].stored()
    macro.scope = scope
    macro.team_id = team_id
    macro.owner_id = owner_id
    macro.updated_at = utcnow(session)
    session.flush()
    return macro


def delete_macro(session: Session, actor: Actor, macro_id: int) -> None:
    """Deleted for good; the events it caused keep its id, which is never given to another macro."""
    macro = get_macro(session, actor, macro_id)
    require_macro_manager(actor, scope=macro.scope, owner_id=macro.owner_id)
    session.delete(macro)
    session.flush()


def titles(session: Session, actor: Actor, macro_ids: set[int]) -> dict[int, str]:
    """Titles of the macros named in a ticket's history that this person may see (for the timeline)."""
    if not macro_ids or not actor.is_staff:
        return {}
    rows = session.execute(sa.select(Macro.id, Macro.title).where(Macro.id.in_(macro_ids), visible_macros(actor)))
    return {macro_id: title for macro_id, title in rows}


def may_manage(actor: Actor, macro: Macro) -> bool:
    return may_manage_macro(actor, scope=macro.scope, owner_id=macro.owner_id)


def placeholder_values(session: Session, actor: Actor, ticket: Ticket) -> dict[str, str]:
    read = queries.to_reads(session, [ticket])[0]
    agent_name = actor.name if actor.user_id is not None else None
    if agent_name is None and read.assignee_id is not None:
        # A rule applies the macro: the ticket's owner signs the reply.
        agent_name = accounts_queries.user_names(session, {read.assignee_id}).get(read.assignee_id)
    return render.values(
        customer_name=read.customer.name,
        customer_email=read.customer.email,
        ticket_number=read.number,
        ticket_subject=read.subject,
        agent_name=agent_name,
    )


@dataclass(frozen=True)
class Suggestion:
    macro: Macro
    actions: MacroActions
    rendered: render.Rendered


def _score(macro: Macro, words: Sequence[str], phrase: str) -> int | None:
    title, body = macro.title.casefold(), macro.body.casefold()
    if not words:
        return 0
    if not all(word in title or word in body for word in words):
        return None
    if title.startswith(phrase):
        return 3
    return 2 if all(word in title for word in words) else 1


def suggest(session: Session, actor: Actor, *, ticket_id: int, q: str = "", limit: int = 10) -> list[Suggestion]:
    """The active macros this person may apply here, best match first, rendered for the ticket.

    The candidates are few (a person's own, their teams', everyone's), so matching is done
    here, with Unicode case folding, the same on both databases.
    """
    require_staff(actor)
    ticket = access.get_ticket(session, actor, ticket_id)
    candidates = session.scalars(
        sa.select(Macro)
        .where(visible_macros(actor), _mine(actor, also_team=ticket.team_id), Macro.active.is_(True))
        .order_by(Macro.usage_count.desc(), Macro.id)
        .limit(SEARCH_POOL)
    )
    phrase = " ".join(q.casefold().split())
    words = phrase.split()
    ranked: list[tuple[int, int, str, Macro]] = []
    for macro in candidates:
        if not may_apply_macro(actor, kind=macro.kind, has_actions=not actions_of(macro).empty):
            continue
        score = _score(macro, words, phrase)
        if score is not None:
            ranked.append((-score, -macro.usage_count, macro.title.casefold(), macro))
    ranked.sort(key=lambda item: item[:3])
    values = placeholder_values(session, actor, ticket)
    return [Suggestion(macro, actions_of(macro), render.render(macro.body, values)) for *_k, macro in ranked[:limit]]


@dataclass(frozen=True)
class Applied:
    macro: Macro
    rendered: render.Rendered
    ticket: Ticket
    message: Message | None


def _usable(session: Session, actor: Actor, macro_id: int, *, field: str | None = None) -> Macro:
    try:
        macro = get_macro(session, actor, macro_id)
    except NotFound:
        if field is None:
            raise
        raise Invalid("no such macro", field=field) from None
    if not macro.active:
        raise Conflict("This macro is switched off; switch it on to use it.", code="macro_inactive")
    return macro


def _ticket_update(actor: Actor, actions: MacroActions, *, with_status: bool) -> TicketUpdate | None:
    changes: dict[str, Any] = {}
    if with_status and actions.status is not None:
        changes["status"] = actions.status
    if actions.priority is not None:
        changes["priority"] = actions.priority
    if actions.add_tags:
        changes["add_tags"] = actions.add_tags
    if actions.remove_tags:
        changes["remove_tags"] = actions.remove_tags
    if actions.team_id is not None:
        changes["team_id"] = actions.team_id
    if actions.assignee == "me":
        if actor.user_id is None:
            raise Invalid("assigning to 'me' needs a person applying the macro", field="actions.assignee")
        changes["assignee_id"] = actor.user_id
    elif actions.assignee == "nobody":
        changes["assignee_id"] = None
    elif actions.assignee is not None:
        changes["assignee_id"] = actions.assignee
    return TicketUpdate.model_validate(changes) if changes else None


def _carry_out(
    session: Session, actor: Actor, macro: Macro, ticket: Ticket, message: MessageCreate | None
) -> tuple[Ticket, Message | None]:
    actions = actions_of(macro)
    kind = message.kind if message is not None else macro.kind
    require_may_apply_macro(actor, kind=kind, has_actions=not actions.empty)
    events.record(session, ticket_id=ticket.id, kind=EventKind.macro_applied, actor=actor, data={"macro_id": macro.id})
    # A reply carries the macro's status itself (send and set status), unless the writer chose one.
    status_with_reply = message is not None and message.kind == MessageKind.reply
    update = _ticket_update(actor, actions, with_status=not status_with_reply)
    if update is not None:
        ticket = ticket_changes.update_ticket(session, actor, ticket.id, changes=update)
    posted_message = None
    if message is not None:
        if status_with_reply and message.status is None and actions.status is not None:
            message = message.model_copy(update={"status": actions.status})
        posted = tickets_service.add_message(session, actor, ticket.id, data=message)
        ticket, posted_message = posted.ticket, posted.message
    session.execute(
        sa.update(Macro)
        .where(Macro.id == macro.id)
        .values(usage_count=Macro.usage_count + 1, last_used_at=utcnow(session))
        .execution_options(synchronize_session=False)
    )
    return ticket, posted_message


def apply_macro(session: Session, actor: Actor, *, ticket_id: int, macro_id: int, post: bool = False) -> Applied:
    """Renders the macro for the ticket and applies its actions; with ``post``, posts the text too."""
    require_staff(actor)
    macro = _usable(session, actor, macro_id)
    require_may_apply_macro(actor, kind=macro.kind, has_actions=not actions_of(macro).empty)
    ticket = access.writable(session, actor, ticket_id)
    rendered = render.render(macro.body, placeholder_values(session, actor, ticket))
    message = None
    if post:
        if not rendered.text.strip():
            raise Invalid("this macro has no text to post; apply it without posting", field="post")
        message = MessageCreate(body=rendered.text, kind=MessageKind(macro.kind))
    ticket, posted = _carry_out(session, actor, macro, ticket, message)
    return Applied(macro, rendered, ticket, posted)


def post_with_macro(
    session: Session, actor: Actor, *, ticket_id: int, macro_id: int, message: MessageCreate
) -> tickets_service.Posted:
    """The composer's send: the text as the agent edited it, and the chosen macro's actions, at once."""
    require_staff(actor)
    macro = _usable(session, actor, macro_id, field="macro_id")
    ticket = access.writable(session, actor, ticket_id)
    ticket, posted = _carry_out(session, actor, macro, ticket, message)
    assert posted is not None
    return tickets_service.Posted(ticket, posted)
