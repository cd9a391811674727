"""Saved inbox views: an agent's own filters and sort, or a supervisor's shared with a team or everyone.

A view stores filters, never tickets: whoever opens it sees only the tickets they may see
(``queries.filtered`` starts from ``visible_tickets``), so a shared view cannot widen access.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.orm import Session

from okno.accounts import queries as accounts_queries
from okno.accounts.permissions import Actor, require_may_manage_view, visible_saved_views
from okno.db import utcnow
from okno.errors import Invalid, NotFound
from okno.tickets import queries
from okno.tickets.models import Channel, Priority, SavedView, TicketStatus, ViewScope
from okno.tickets.schemas import SavedViewFilters, SavedViewIn

MAX_VIEWS_PER_OWNER = 50


def list_views(session: Session, actor: Actor) -> list[SavedView]:
    """The views in the actor's sidebar: their own first, then shared ones, each by name."""
    own_first = sa.case((SavedView.owner_user_id == actor.user_id, 0), else_=1)
    query = sa.select(SavedView).where(visible_saved_views(actor)).order_by(own_first, SavedView.name, SavedView.id)
    return list(session.scalars(query))


def get_view(session: Session, actor: Actor, view_id: int) -> SavedView:
    view = session.scalars(sa.select(SavedView).where(SavedView.id == view_id, visible_saved_views(actor))).first()
    if view is None:
        raise NotFound("View not found.")
    return view


def create_view(session: Session, actor: Actor, *, data: SavedViewIn) -> SavedView:
    require_may_manage_view(actor, owner_user_id=None, scope=data.scope, team_id=data.team_id)
    assert actor.user_id is not None
    _check(session, actor, data, view_id=None)
    owned = session.scalar(sa.select(sa.func.count()).where(SavedView.owner_user_id == actor.user_id)) or 0
    if owned >= MAX_VIEWS_PER_OWNER:
        raise Invalid(f"you already have {MAX_VIEWS_PER_OWNER} views; delete one first", field="name")
    now = utcnow(session)
    view = SavedView(owner_user_id=actor.user_id, created_at=now, updated_at=now)
    _apply(view, data)
    session.add(view)
    session.flush()
    return view


def update_view(session: Session, actor: Actor, view_id: int, *, data: SavedViewIn) -> SavedView:
    view = get_view(session, actor, view_id)
    # Allowed to manage the view as it is, and as it would become.
    require_may_manage_view(actor, owner_user_id=view.owner_user_id, scope=ViewScope(view.scope), team_id=view.team_id)
    require_may_manage_view(actor, owner_user_id=view.owner_user_id, scope=data.scope, team_id=data.team_id)
    _check(session, actor, data, view_id=view.id)
    _apply(view, data)
    view.updated_at = utcnow(session)
    session.flush()
    return view


def delete_view(session: Session, actor: Actor, view_id: int) -> None:
    view = get_view(session, actor, view_id)
    require_may_manage_view(actor, owner_user_id=view.owner_user_id, scope=ViewScope(view.scope), team_id=view.team_id)
    session.delete(view)
    session.flush()


def _check(session: Session, actor: Actor, data: SavedViewIn, *, view_id: int | None) -> None:
    if data.scope == ViewScope.team and data.team_id is None:
        raise Invalid("choose the team to share the view with", field="team_id")
    if data.team_id is not None and not accounts_queries.team_exists(session, data.team_id):
        raise Invalid("no such team", field="team_id")
    queries.parse_sort(data.sort)
    wanted = data.filters
    if wanted.team_id is not None and not accounts_queries.team_exists(session, wanted.team_id):
        raise Invalid("no such team", field="filters.team_id")
    if (
        wanted.assignee
        and wanted.assignee.isdigit()
        and not accounts_queries.is_assignable(session, int(wanted.assignee))
    ):
        raise Invalid("no such agent", field="filters.assignee")
    same_name = sa.select(SavedView.id).where(
        SavedView.owner_user_id == actor.user_id,
        sa.func.lower(SavedView.name) == data.name.lower(),
        SavedView.id != (view_id or 0),
    )
    if session.scalar(same_name) is not None:
        raise Invalid("you already have a view with this name", field="name")


def _apply(view: SavedView, data: SavedViewIn) -> None:
    view.name = data.name
    view.scope = data.scope
    view.team_id = data.team_id if data.scope == ViewScope.team else None
    view.filters = data.filters.model_dump(mode="json", exclude_defaults=True)
    view.sort = data.sort


def stored_filters(view: SavedView) -> SavedViewFilters:
    """The view's filters; a stored condition that no longer parses is dropped rather than failing."""
    try:
        return SavedViewFilters.model_validate(view.filters)
    except ValidationError:
        return SavedViewFilters()


def ticket_filters(actor: Actor, wanted: SavedViewFilters) -> queries.TicketFilters:
    """The query filters for whoever looks: "me" is the viewer, so a shared "mine" view is everyone's own."""
    assignee_id: int | None = None
    if wanted.assignee == "me":
        assignee_id = actor.user_id if actor.user_id is not None else -1
    elif wanted.assignee and wanted.assignee.isdigit():
        assignee_id = int(wanted.assignee)
    return queries.TicketFilters(
        status=[TicketStatus(s) for s in wanted.status] or None,
        assignee_id=assignee_id,
        unassigned=wanted.assignee == "nobody",
        team_id=[wanted.team_id] if wanted.team_id is not None else None,
        tag=wanted.tag,
        channel=Channel(wanted.channel) if wanted.channel else None,
        priority=[Priority(p) for p in wanted.priority] or None,
        customer_plan=wanted.customer_plan.value if wanted.customer_plan else None,
    )


def describe(view: SavedView) -> dict[str, Any]:
    """What the sidebar and the edit form need, without the ORM object."""
    return {
        "id": view.id,
        "key": f"saved-{view.id}",
        "name": view.name,
        "scope": view.scope,
        "team_id": view.team_id,
        "owner_user_id": view.owner_user_id,
        "filters": stored_filters(view),
        "sort": view.sort,
        "updated_at": view.updated_at,
    }
