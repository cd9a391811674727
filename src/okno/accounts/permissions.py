"""Who may see and do what: the one place that decides.

``visible_tickets`` is the query filter every ticket list and lookup starts from, and
``may_see_ticket`` is the same rule over facts already in memory (the realtime bus uses
it); a test keeps the two in agreement. An object the caller may not see is reported as
not found, so its existence does not leak.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from okno.accounts.models import STAFF_ROLES, Role
from okno.automation.macros.models import Macro, MacroScope
from okno.customers.models import Customer
from okno.errors import Forbidden
from okno.tickets.models import ActorType, SavedView, Ticket, TicketParticipant, ViewScope


@dataclass(frozen=True)
class Actor:
    """Whoever is acting in a unit of work: a signed-in user, or the system itself."""

    role: Role
    user_id: int | None = None
    name: str = ""
    team_ids: frozenset[int] = field(default_factory=frozenset)
    limited_to_teams: bool = False
    customer_id: int | None = None
    # Set only when the customer's organization shares its tickets among its people.
    shared_organization_id: int | None = None
    is_system: bool = False
    # Set when an automation rule acts: the system acting on the rule's behalf, named in events.
    rule_id: int | None = None

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(role=Role.admin, name=name, is_system=True)

    @classmethod
    def rule(cls, rule_id: int, name: str = "rule") -> Actor:
        """A rule (trigger or time-based automation): may do what the system may; its events name the rule."""
        return cls(role=Role.admin, name=name, is_system=True, rule_id=rule_id)

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_customer(self) -> bool:
        return self.role == Role.customer

    @property
    def event_actor(self) -> tuple[ActorType, int | None]:
        if self.rule_id is not None:
            return ActorType.rule, self.rule_id
        if self.is_system:
            return ActorType.system, None
        if self.is_customer:
            return ActorType.customer, self.customer_id
        return ActorType.user, self.user_id

    @property
    def principal(self) -> str:
        if self.rule_id is not None:
            return f"rule:{self.rule_id}"
        return "system" if self.is_system else f"user:{self.user_id}"


@dataclass(frozen=True)
class TicketFacts:
    """What visibility depends on, as committed; carried with every realtime event."""

    team_id: int | None
    assignee_id: int | None
    customer_id: int
    customer_organization_id: int | None
    participant_ids: frozenset[int] = frozenset()


# Internal history (notes, assignment, tags, fields) is for staff only.
CUSTOMER_VISIBLE_EVENTS = frozenset(
    {"created", "message_received", "reply_sent", "status_changed", "reopened", "merged", "follow_up_created"}
)
# Passing signals about a customer's own conversation that the customer may see (the chat widget):
# an agent writing a public reply (never a note), and messages read. Who is viewing stays internal.
CUSTOMER_VISIBLE_SIGNALS = frozenset({"agent_typing", "messages_read"})


def visible_tickets(actor: Actor) -> ColumnElement[bool]:
    if actor.is_staff:
        if not actor.limited_to_teams:
            return sa.true()
        return sa.or_(Ticket.team_id.in_(sorted(actor.team_ids)), Ticket.assignee_id == actor.user_id)
    if actor.customer_id is None:
        return sa.false()
    own = sa.or_(
        Ticket.customer_id == actor.customer_id,
        Ticket.id.in_(sa.select(TicketParticipant.ticket_id).where(TicketParticipant.customer_id == actor.customer_id)),
    )
    if actor.shared_organization_id is None:
        return own
    colleagues = sa.select(Customer.id).where(Customer.organization_id == actor.shared_organization_id)
    return sa.or_(own, Ticket.customer_id.in_(colleagues))


def may_see_ticket(actor: Actor, facts: TicketFacts) -> bool:
    if actor.is_staff:
        return (
            not actor.limited_to_teams
            or (facts.team_id is not None and facts.team_id in actor.team_ids)
            or (facts.assignee_id is not None and facts.assignee_id == actor.user_id)
        )
    if actor.customer_id is None:
        return False
    return (
        facts.customer_id == actor.customer_id
        or actor.customer_id in facts.participant_ids
        or (actor.shared_organization_id is not None and facts.customer_organization_id == actor.shared_organization_id)
    )


def may_see_event(actor: Actor, kind: str, facts: TicketFacts) -> bool:
    if not may_see_ticket(actor, facts):
        return False
    return actor.is_staff or kind in CUSTOMER_VISIBLE_EVENTS or kind in CUSTOMER_VISIBLE_SIGNALS


def may_see_staff_signal(actor: Actor) -> bool:
    """Passing facts about colleagues (presence) are for staff, never for customers."""
    return actor.is_staff


def may_be_mentioned(colleague: Actor, facts: TicketFacts) -> bool:
    """A note may name (and so notify) only staff who may open the ticket it is on.

    Anyone else would learn from the notification that the ticket exists, and what it is
    about, although their teams keep it from them.
    """
    return colleague.is_staff and not colleague.is_system and may_see_ticket(colleague, facts)


def require_staff(actor: Actor) -> None:
    if not actor.is_staff:
        raise Forbidden("Only staff may do this.")


def may_change_tickets(actor: Actor) -> bool:
    """Agents, supervisors and admins; light agents read and write notes only."""
    return actor.role in {Role.admin, Role.supervisor, Role.agent}


def require_agent(actor: Actor) -> None:
    """Agents, supervisors and admins: anyone who may answer customers and change tickets."""
    if actor.role not in {Role.admin, Role.supervisor, Role.agent}:
        raise Forbidden("Your role may not change tickets or answer customers.")


def may_change_customers(actor: Actor) -> bool:
    """Who may edit customers and organizations, write or edit shared notes, and merge records.

    The same roles ``require_agent`` admits (pages use this to offer the forms at all); light
    agents and customers read only.
    """
    return actor.role in {Role.admin, Role.supervisor, Role.agent}


def require_admin(actor: Actor) -> None:
    if actor.role != Role.admin:
        raise Forbidden("Only an administrator may do this.")


# Supervisors plan the shifts: they may look at who is on which team, speaks what and is online,
# but changing people, teams and the help desk's vocabulary (tags, fields) is for administrators.
DIRECTORY_ROLES = frozenset({Role.admin, Role.supervisor})


def may_administer(actor: Actor) -> bool:
    return actor.role == Role.admin


def may_see_directory(actor: Actor) -> bool:
    """The staff directory in the admin section: users and teams, read-only for supervisors."""
    return actor.role in DIRECTORY_ROLES


def require_directory(actor: Actor) -> None:
    if not may_see_directory(actor):
        raise Forbidden("Only administrators and supervisors may see this page.")


def forbid_fields(actor: Actor, fields: set[str], allowed: set[str]) -> None:
    """Refuse, naming them, the fields this role may not set, instead of silently dropping them."""
    refused = sorted(fields - allowed)
    if refused:
        raise Forbidden(
            f"Your role may not set: {', '.join(refused)}.",
            details=[{"field": name, "reason": "not allowed for your role"} for name in refused],
        )


# Saved inbox views. Their tickets always pass through visible_tickets of whoever looks, so sharing
# a view shares its filters, never access to more tickets.


def visible_saved_views(actor: Actor) -> ColumnElement[bool]:
    """The views listed in the actor's inbox: their own, their teams', and those shared with everyone."""
    if not actor.is_staff or actor.user_id is None:
        return sa.false()
    if actor.role == Role.admin:  # admins look after every shared view
        return sa.or_(SavedView.owner_user_id == actor.user_id, SavedView.scope != ViewScope.personal.value)
    return sa.or_(
        SavedView.owner_user_id == actor.user_id,
        SavedView.scope == ViewScope.everyone.value,
        sa.and_(SavedView.scope == ViewScope.team.value, SavedView.team_id.in_(sorted(actor.team_ids))),
    )


def may_share_views(actor: Actor) -> bool:
    return actor.role in {Role.admin, Role.supervisor}


def require_may_manage_view(actor: Actor, *, owner_user_id: int | None, scope: ViewScope, team_id: int | None) -> None:
    """Personal views belong to their owner; shared ones are the business of supervisors and admins.

    A supervisor shares with their own teams (or everyone); an admin with any team.
    """
    if not actor.is_staff or actor.user_id is None:
        raise Forbidden("Only staff have inbox views.")
    if scope == ViewScope.personal:
        if owner_user_id is not None and owner_user_id != actor.user_id:
            raise Forbidden("This view belongs to someone else.")
        return
    if not may_share_views(actor):
        raise Forbidden("Only supervisors and admins may share views.", details=[{"field": "scope"}])
    if scope == ViewScope.team and actor.role != Role.admin and team_id is not None and team_id not in actor.team_ids:
        raise Forbidden("You may share views only with your own teams.", details=[{"field": "team_id"}])


# Macros: personal ones are their owner's alone; team and shared ones are managed by admins and
# supervisors, who therefore see every team's. Light agents write notes only and change nothing.
MACRO_MANAGERS = frozenset({Role.admin, Role.supervisor})


def visible_macros(actor: Actor) -> ColumnElement[bool]:
    """The macros this actor may see and use (a rule, running as the system, may use any)."""
    if actor.is_system:
        return sa.true()
    if not actor.is_staff or actor.user_id is None:
        return sa.false()
    own = sa.and_(Macro.scope == MacroScope.personal, Macro.owner_id == actor.user_id)
    if actor.role in MACRO_MANAGERS:
        return sa.or_(Macro.scope != MacroScope.personal, own)
    teams = sa.and_(Macro.scope == MacroScope.team, Macro.team_id.in_(sorted(actor.team_ids)))
    return sa.or_(own, Macro.scope == MacroScope.everyone, teams)


def may_manage_macro(actor: Actor, *, scope: str, owner_id: int | None) -> bool:
    if not actor.is_staff:
        return False
    if scope == MacroScope.personal:
        return actor.user_id is not None and owner_id == actor.user_id
    return actor.role in MACRO_MANAGERS


def require_macro_manager(actor: Actor, *, scope: str, owner_id: int | None) -> None:
    if not may_manage_macro(actor, scope=scope, owner_id=owner_id):
        raise Forbidden(
            "Only admins and supervisors may manage team and shared macros; personal ones only their owner.",
            details=[{"field": "scope", "reason": "not allowed for your role"}],
        )


def may_apply_macro(actor: Actor, *, kind: str, has_actions: bool) -> bool:
    """A public reply or a change to the ticket needs an agent; a plain note macro any member of staff."""
    if not actor.is_staff:
        return False
    return (kind == "note" and not has_actions) or actor.role in {Role.admin, Role.supervisor, Role.agent}


def require_may_apply_macro(actor: Actor, *, kind: str, has_actions: bool) -> None:
    require_staff(actor)
    if not may_apply_macro(actor, kind=kind, has_actions=has_actions):
        raise Forbidden("Your role may only apply macros that write an internal note and change nothing.")
