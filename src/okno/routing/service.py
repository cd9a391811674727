"""Routing: giving each waiting conversation to the right free agent, at once or as soon as one has room.

Every decision about a team locks the routing rows of all of the team's agents, in user id
order, *before* it reads their presence and counts their loads (docs/subsystems/routing.md):

- two workers routing at once never both take an agent's last free place: the second waits
  for the first to commit, then counts again (row locks on PostgreSQL; on SQLite writers take
  turns anyway);
- nothing is left waiting while someone has room: a conversation is queued only under the locks
  of everyone who could take it, and whatever gives an agent room (a ticket solved, the agent
  coming online, a larger capacity) runs a drain that needs the same locks, so it sees the
  queued conversation once that commits;
- no deadlock: agent rows are always locked in id order, and the tickets of the queue are
  locked with SKIP LOCKED (a ticket someone else holds gets its own reaction after their change).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from okno.accounts import presence
from okno.accounts import queries as accounts_queries
from okno.accounts.models import PresenceStatus
from okno.automation.business_hours import service as business_hours
from okno.automation.business_hours.calendar import is_open, next_opening
from okno.db import utcnow
from okno.jobs.registry import enqueue
from okno.routing import policies, queue
from okno.routing.models import RoutingAgent, RoutingTeam
from okno.routing.policies import Candidate, Conversation, Policy, SkillMatch
from okno.tickets import workload
from okno.tickets.workload import WorkItem

if TYPE_CHECKING:
    from okno.config import Settings

DRAIN_JOB = "routing.drain"
# Queue entries one drain considers per pass; the periodic sweep picks up anything beyond.
DRAIN_LIMIT = 100
# Tickets tagged so are left alone.
SPAM_TAG = "spam"
# Chats whose customer waits for an answer go back to the queue when their agent is away too long.
RETURNED_CHANNELS = frozenset({"chat"})


@dataclass(frozen=True)
class RoutingConfig:
    presence_timeout_seconds: int = 90
    grace_seconds: int = 120

    @classmethod
    def from_settings(cls, settings: Settings) -> RoutingConfig:
        return cls(settings.presence_timeout_seconds, settings.routing_grace_seconds)


@dataclass
class Drained:
    """What one drain did: (ticket, agent) assignments in order, and the conversations left waiting."""

    assigned: list[tuple[int, int]] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)


def shift(session: Session, team_id: int, at: datetime) -> tuple[bool, datetime | None]:
    """Whether the team's agents are on shift (its business-hours calendar is open), and if not, from when."""
    calendar = business_hours.calendar_for_team(session, team_id)
    if calendar is None or is_open(calendar, at):
        return True, None
    return False, next_opening(calendar, at)


def team_policies(session: Session, team_ids: Iterable[int | None]) -> dict[int, RoutingTeam]:
    """The routing rows of these teams that route automatically (manual teams and teams without one are absent)."""
    wanted = sorted({t for t in team_ids if t is not None})
    if not wanted:
        return {}
    rows = session.scalars(
        sa.select(RoutingTeam).where(RoutingTeam.team_id.in_(wanted), RoutingTeam.policy != Policy.manual.value)
    )
    return {row.team_id: row for row in rows}


def routable(item: WorkItem, automatic: Collection[int]) -> bool:
    return (
        item.status in policies.ROUTABLE_STATUSES
        and item.assignee_id is None
        and item.team_id is not None
        and item.team_id in automatic
        and not item.merged
        and SPAM_TAG not in {t.casefold() for t in item.tags}
    )


def route(
    session: Session,
    ticket_id: int,
    *,
    config: RoutingConfig | None = None,
    freed_agent_ids: Collection[int] = (),
    assignee_freed: bool = False,
    excluded_agent_ids: Collection[int] = (),
) -> Drained:
    """Routes the ticket when it waits for an agent, and fills the room that agents who just got some have.

    The reaction to every ticket change calls this: a new, unassigned, moved or reopened
    ticket of an automatically routed team goes to an agent or joins the queue; a ticket no
    longer routable leaves the queue; ``freed_agent_ids`` (whose ticket was solved, put on
    hold or given to someone else; ``assignee_freed``: the ticket's own assignee) get the
    oldest waiting conversations of their teams. ``excluded_agent_ids`` may not get this
    ticket (they just handed it back).
    """
    config = config or RoutingConfig()
    item = workload.work_items(session, [ticket_id], lock="wait").get(ticket_id)
    teams: set[int] = set()
    arriving: WorkItem | None = None
    freed = set(freed_agent_ids)
    if item is not None:
        if assignee_freed and item.assignee_id is not None:
            freed.add(item.assignee_id)
        waits = item.assignee_id is None and item.status in policies.ROUTABLE_STATUSES and item.team_id is not None
        automatic = team_policies(session, [item.team_id]) if waits else {}
        if routable(item, automatic):
            arriving = item
            teams.add(item.team_id)  # type: ignore[arg-type]
        else:
            queue.remove(session, [ticket_id])
    if freed:
        freed_teams = set().union(*accounts_queries.team_ids_of(session, freed).values())
        teams |= set(team_policies(session, freed_teams))
    if not teams:
        return Drained()
    return drain(session, teams, config=config, arriving=arriving, excluded=frozenset(excluded_agent_ids))


def drain(
    session: Session,
    team_ids: Collection[int],
    *,
    config: RoutingConfig | None = None,
    arriving: WorkItem | None = None,
    excluded: frozenset[int] = frozenset(),
) -> Drained:
    """Gives the teams' waiting conversations (and ``arriving``, locked by the caller) to agents with room."""
    config = config or RoutingConfig()
    done = Drained()
    settings = team_policies(session, team_ids)
    if not settings:
        return done
    agents = accounts_queries.team_agents(session, settings)
    rows = _lock_agents(session, agents)
    now = utcnow(session)
    # Read only now, under the locks: a change committed before we got them is seen (READ COMMITTED).
    available = presence.snapshot(session, agents, timeout_seconds=config.presence_timeout_seconds)
    shifts = {team_id: shift(session, team_id, now) for team_id in settings}
    loads = workload.loads(session, agents, statuses=policies.LOAD_STATUSES)
    board = _Board(agents, rows, available, {team_id: on for team_id, (on, _) in shifts.items()}, loads)

    conversations: dict[int, tuple[int, Conversation]] = {}
    if arriving is not None and arriving.team_id is not None:
        conversations[arriving.ticket_id] = (
            arriving.team_id,
            _conversation(arriving, now, excluded=excluded),
        )
    open_channels = board.channels_with_room()
    entries = queue.first(session, settings, channels=open_channels, limit=DRAIN_LIMIT) if open_channels else []
    others = [e.ticket_id for e in entries if e.ticket_id not in conversations]
    facts = workload.work_items(session, others)
    stale = []
    for entry in entries:
        if entry.ticket_id in conversations:
            continue
        item = facts.get(entry.ticket_id)
        if item is None or not routable(item, settings) or item.team_id != entry.team_id:
            stale.append(entry.ticket_id)
            continue
        waiting = Conversation(
            ticket_id=item.ticket_id,
            channel=item.channel,
            language=item.language,
            tags=item.tags,
            priority_rank=item.priority_rank,
            waiting_since=entry.waiting_since,
        )
        conversations[item.ticket_id] = (entry.team_id, waiting)
    queue.remove(session, stale)

    for team_id, conversation in sorted(conversations.values(), key=lambda pair: policies.queue_order(pair[1])):
        team = settings[team_id]
        decision = policies.choose(
            Policy(team.policy), SkillMatch(team.skill_match), board.candidates(team_id), conversation
        )
        is_arriving = arriving is not None and conversation.ticket_id == arriving.ticket_id
        if decision.agent_id is not None and (is_arriving or _lock_waiting(session, conversation.ticket_id, settings)):
            reason = decision.reason(team_id=team_id, channel=conversation.channel)
            workload.assign_routed(session, conversation.ticket_id, decision.agent_id, reason="routed", routing=reason)
            board.took(decision.agent_id, conversation.channel, now)
            done.assigned.append((conversation.ticket_id, decision.agent_id))
            continue
        if is_arriving:
            queue.put(
                session,
                ticket_id=conversation.ticket_id,
                team_id=team_id,
                channel=conversation.channel,
                priority_rank=conversation.priority_rank,
                waiting_since=conversation.waiting_since or now,
                why=decision.why_none.value if decision.why_none else "",
                now=now,
            )
        done.waiting.append(conversation.ticket_id)
    queue.remove(session, [ticket_id for ticket_id, _agent in done.assigned])
    for team_id, (on, opening) in shifts.items():
        if not on and opening is not None and any(team == team_id for team, _ in conversations.values()):
            # Nobody works now: the queue is served when the team's next shift begins.
            key = f"{DRAIN_JOB}:{team_id}:opening:{opening.isoformat()}"
            enqueue(session, DRAIN_JOB, {"team_ids": [team_id]}, key=key, run_at=opening)
    session.flush()
    return done


def _conversation(item: WorkItem, now: datetime, *, excluded: frozenset[int]) -> Conversation:
    return Conversation(
        ticket_id=item.ticket_id,
        channel=item.channel,
        language=item.language,
        tags=item.tags,
        priority_rank=item.priority_rank,
        waiting_since=item.waiting_since or now,
        excluded_user_ids=excluded,
    )


def _lock_waiting(session: Session, ticket_id: int, automatic: Collection[int]) -> bool:
    """Locks a waiting ticket unless someone else holds it, and checks it still waits."""
    item = workload.work_items(session, [ticket_id], lock="skip").get(ticket_id)
    if item is None:
        return False  # someone is changing it; their change brings its own reaction
    if not routable(item, automatic):
        queue.remove(session, [ticket_id])
        return False
    return True


def _lock_agents(session: Session, agents: Collection[int]) -> dict[int, RoutingAgent]:
    """Every listed agent's routing row, created if missing, locked in user id order."""
    if not agents:
        return {}
    ids = sorted(agents)
    query = (
        sa.select(RoutingAgent)
        .where(RoutingAgent.user_id.in_(ids))
        .order_by(RoutingAgent.user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    rows = {row.user_id: row for row in session.scalars(query)}
    missing = [user_id for user_id in ids if user_id not in rows]
    if missing:
        now = utcnow(session)
        values: list[dict[str, Any]] = [
            {"user_id": u, "capacities": {}, "last_assigned_at": None, "updated_at": now} for u in missing
        ]
        insert = (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(RoutingAgent)
        session.execute(insert.values(values).on_conflict_do_nothing(index_elements=[RoutingAgent.user_id]))
        rows = {row.user_id: row for row in session.scalars(query)}
    return rows


class _Board:
    """The agents of the teams being drained: presence, shifts, loads; updated as conversations are given out."""

    def __init__(
        self,
        agents: dict[int, accounts_queries.AgentFacts],
        rows: dict[int, RoutingAgent],
        available: dict[int, presence.Availability],
        shifts: dict[int, bool],
        loads: dict[int, dict[str, int]],
    ) -> None:
        self.agents = agents
        self.rows = rows
        self.available = available
        self.shifts = shifts
        self.loads = {user_id: dict(loads.get(user_id, {})) for user_id in agents}

    def candidate(self, user_id: int, team_id: int) -> Candidate:
        facts, row = self.agents[user_id], self.rows.get(user_id)
        status = self.available.get(user_id)
        return Candidate(
            user_id=user_id,
            presence=(status.status if status else PresenceStatus.offline).value,
            on_shift=self.shifts.get(team_id, False),
            loads=self.loads[user_id],
            capacities=dict(row.capacities or {}) if row else {},
            languages=facts.languages,
            skills=facts.skills,
            last_assigned_at=row.last_assigned_at if row else None,
        )

    def candidates(self, team_id: int) -> list[Candidate]:
        return [self.candidate(u, team_id) for u, facts in self.agents.items() if team_id in facts.team_ids]

    def channels_with_room(self) -> set[str]:
        found: set[str] = set()
        for team_id in self.shifts:
            for c in self.candidates(team_id):
                if c.presence == "online" and c.on_shift:
                    found |= {ch for ch in policies.CHANNELS if c.load(ch) < c.capacity(ch)}
        return found

    def took(self, user_id: int, channel: str, now: datetime) -> None:
        self.loads[user_id][channel] = self.loads[user_id].get(channel, 0) + 1
        row = self.rows.get(user_id)
        if row is not None:
            row.last_assigned_at = now


def return_unanswered(
    session: Session, *, config: RoutingConfig | None = None, user_ids: Collection[int] | None = None
) -> dict[int, list[int]]:
    """Hands back the unanswered chats of agents away or offline for longer than the grace period.

    Only tickets of automatically routed teams go back (to their queue, by the reaction to
    the change); the away agent is not online, so routing does not choose them again.
    Returns, per agent, the tickets handed back.
    """
    config = config or RoutingConfig()
    statuses = policies.ROUTABLE_STATUSES
    if user_ids is None:
        user_ids = workload.agents_with_unanswered(session, channels=RETURNED_CHANNELS, statuses=statuses)
    now = utcnow(session)
    limit = now - timedelta(seconds=config.grace_seconds)
    available = presence.snapshot(session, user_ids, timeout_seconds=config.presence_timeout_seconds)
    gone = [
        user_id
        for user_id, state in available.items()
        if state.status != PresenceStatus.online and state.since is not None and state.since <= limit
    ]
    chats = workload.unanswered(session, gone, channels=RETURNED_CHANNELS, statuses=statuses)
    returned: dict[int, list[int]] = {}
    for user_id, ticket_ids in chats.items():
        locked = workload.work_items(session, ticket_ids, lock="skip")
        automatic = team_policies(session, {item.team_id for item in locked.values()})
        for ticket_id, item in locked.items():
            still_theirs = item.assignee_id == user_id and item.status in statuses and item.waiting_since is not None
            if still_theirs and item.team_id in automatic:
                workload.assign_routed(session, ticket_id, None, reason="agent_unavailable", routing=None)
                returned.setdefault(user_id, []).append(ticket_id)
    session.flush()
    return returned


def unavailable_until(session: Session, user_id: int, *, config: RoutingConfig | None = None) -> datetime | None:
    """When the agent's grace period ends, if they are away or offline now (None when online or never seen)."""
    config = config or RoutingConfig()
    state = presence.snapshot(session, [user_id], timeout_seconds=config.presence_timeout_seconds)[user_id]
    if state.status == PresenceStatus.online or state.since is None:
        return None
    return state.since + timedelta(seconds=config.grace_seconds)
