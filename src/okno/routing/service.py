"""Routing: giving each waiting conversation to the right free agent, at once or as soon as one has room.

The queue is the tickets themselves: a ticket of an automatically routed team that is new or
open, unassigned and not merged waits for an agent (``tickets.workload.waiting``, served urgent
first, then by the customer's waiting time). A *drain* gives a team's waiting tickets, in that
order, to the agents its policy picks, as long as someone has room (docs/subsystems/routing.md).

Every drain locks the routing rows of all the agents of its teams, in user id order, *before* it
reads their presence and counts their loads:

- two workers routing at once never both take an agent's last free place: the second waits for
  the first to commit, then counts again (row locks on PostgreSQL; on SQLite writers take turns);
- nothing is left waiting while someone has room: every change that makes a ticket wait or gives
  an agent room commits first and then drains (the ticket reaction, the presence hook, settings),
  and that drain sees everything committed before it got the locks;
- no deadlock: agent rows are always locked in id order, and waiting tickets with SKIP LOCKED
  (a ticket someone else holds gets its own reaction once their change commits).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

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
from okno.memo import Memo
from okno.routing import policies
from okno.routing.models import RoutingAgent, RoutingTeam
from okno.routing.policies import Candidate, Conversation, Policy, SkillMatch
from okno.tickets import workload
from okno.tickets.workload import WorkItem

if TYPE_CHECKING:
    from okno.config import Settings

DRAIN_JOB = "routing.drain"
# Waiting tickets one drain locks and considers at a time: as many as the agents have free places, and
# ``SLACK`` more for those no free agent suits, up to ``PAGE``; ``CONSIDERED`` in all at most.
PAGE = 100
SLACK = 10
CONSIDERED = 1000
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
    """What one drain did: (ticket, agent) assignments in order, and the tickets it saw left waiting."""

    assigned: list[tuple[int, int]] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)


def shift(session: Session, team_id: int, at: datetime) -> tuple[bool, datetime | None]:
    """Whether the team's agents are on shift (its business-hours calendar is open), and if not, from when."""
    calendar = business_hours.calendar_for_team(session, team_id)
    if calendar is None or is_open(calendar, at):
        return True, None
    return False, next_opening(calendar, at)


@dataclass(frozen=True)
class TeamRouting:
    """How a team that routes automatically does it."""

    team_id: int
    policy: Policy
    skill_match: SkillMatch


def _read_automatic_teams(session: Session, _everything: None) -> dict[int, TeamRouting]:
    rows = session.scalars(sa.select(RoutingTeam).where(RoutingTeam.policy != Policy.manual.value))
    return {row.team_id: TeamRouting(row.team_id, Policy(row.policy), SkillMatch(row.skill_match)) for row in rows}


# Every ticket change asks; admins change a policy now and then (see ``okno.memo``).
AUTOMATIC_TEAMS: Memo[None, dict[int, TeamRouting]] = Memo(
    "routing.automatic_teams", _read_automatic_teams, reads=(RoutingTeam,)
)


def team_policies(session: Session, team_ids: Iterable[int | None]) -> dict[int, TeamRouting]:
    """How those of these teams that route automatically do it (manual teams, teams without a policy: absent)."""
    automatic = AUTOMATIC_TEAMS.get(session, None)
    return {team_id: automatic[team_id] for team_id in sorted({t for t in team_ids if t in automatic})}


def waits(item: WorkItem) -> bool:
    """Whether the ticket waits for an agent, whatever its team's policy."""
    return (
        item.status in policies.ROUTABLE_STATUSES
        and item.assignee_id is None
        and item.team_id is not None
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
    """Routes the ticket if it waits for an agent, and fills the room agents who just got some have.

    The reaction to every ticket change calls this: a new, unassigned, moved or reopened ticket
    of an automatically routed team goes to an agent or stays waiting; ``freed_agent_ids`` (whose
    ticket was solved, put on hold or given to someone else; ``assignee_freed``: the ticket's own
    assignee) get the oldest waiting conversations of their teams on the ticket's channel.
    ``excluded_agent_ids`` may not get this ticket (they just handed it back).
    """
    item = workload.work_items(session, [ticket_id]).get(ticket_id)
    return route_item(
        session,
        item,
        config=config,
        freed_agent_ids=freed_agent_ids,
        assignee_freed=assignee_freed,
        excluded_agent_ids=excluded_agent_ids,
    )


def route_item(
    session: Session,
    item: WorkItem | None,
    *,
    config: RoutingConfig | None = None,
    freed_agent_ids: Collection[int] = (),
    assignee_freed: bool = False,
    excluded_agent_ids: Collection[int] = (),
) -> Drained:
    """``route`` for a ticket the caller has read already (None: it is gone)."""
    teams: set[int | None] = set()
    freed = set(freed_agent_ids)
    if item is not None:
        if waits(item):
            teams.add(item.team_id)
        if assignee_freed and item.assignee_id is not None:
            freed.add(item.assignee_id)
    if freed:
        # Room matters only where something waits, and capacity is per channel: what the change freed is
        # room on its ticket's channel (tickets waiting on other channels wait for someone else's room).
        # Read without the locks, this is still safe: a ticket that starts waiting after this read
        # brings its own reaction, which sees the room.
        channel = item.channel if item is not None else None
        teams |= workload.teams_with_waiting(session, of_agents=freed, channel=channel)
    automatic = team_policies(session, teams)
    if not automatic:
        return Drained()
    excluded = {item.ticket_id: frozenset(excluded_agent_ids)} if item and excluded_agent_ids else {}
    return drain(session, list(automatic), config=config, excluded=excluded)


def drain(
    session: Session,
    team_ids: Collection[int],
    *,
    config: RoutingConfig | None = None,
    excluded: dict[int, frozenset[int]] | None = None,
) -> Drained:
    """Gives the teams' waiting tickets, in queue order, to the agents their policies pick, while someone has room.

    Teams that share an agent with them are drained too: their drains would wait for the same
    locks one after the other, each reading the same agents again. ``excluded`` names, per
    ticket, agents who may not get it.
    """
    config = config or RoutingConfig()
    done = Drained()
    if not team_ids:
        return done
    settings = team_policies(session, accounts_queries.TEAMS_SHARING_AGENTS.get(session, frozenset(team_ids)))
    if not settings:
        return done
    rows = _lock_rows(session, _LOCK_OF_TEAMS, {"team_ids": sorted(settings)})
    # Read only now, under the locks: a change committed before we got them is seen (READ COMMITTED).
    # Often another drain has given out what this one was called for while it waited for the locks:
    # then the agents' presence is not read at all.
    still_waiting, loads = workload.waiting_teams_and_loads(
        session, settings, user_ids=rows, statuses=policies.LOAD_STATUSES
    )
    settings = {team_id: routing for team_id, routing in settings.items() if team_id in still_waiting}
    if not settings:
        return done
    now = utcnow(session)
    agents = accounts_queries.team_agents(
        session, settings, now=now, presence_timeout_seconds=config.presence_timeout_seconds
    )
    if missing := sorted(set(agents) - set(rows)):
        # New to routing, not to the desk: they may carry tickets given to them by hand.
        rows |= _new_agent_rows(session, missing)
        loads |= workload.loads(session, missing, statuses=policies.LOAD_STATUSES)
    agents = {user_id: facts for user_id, facts in agents.items() if user_id in rows}
    shifts = {team_id: shift(session, team_id, now) for team_id in settings}
    board = _Board(agents, rows, {team_id: on for team_id, (on, _) in shifts.items()}, loads)
    seen: list[int] = []
    # What nobody could take stays so until someone takes something: its twins further down the queue
    # (same team, same ``Conversation.kind``) are not weighed again.
    hopeless: set[tuple[int, tuple[str, str | None, frozenset[str], frozenset[int]]]] = set()
    while len(seen) < CONSIDERED:
        room = board.room()
        if not room:
            break
        limit = min(PAGE, sum(room.values()) + SLACK)
        page = workload.waiting(session, settings, channels=room, limit=limit, skip_ids=seen)
        for item in page:
            seen.append(item.ticket_id)
            if not waits(item) or item.team_id not in settings:
                continue
            team = settings[item.team_id]
            conversation = Conversation(
                ticket_id=item.ticket_id,
                channel=item.channel,
                language=item.language,
                tags=item.tags,
                priority_rank=item.priority_rank,
                waiting_since=item.waiting_since,
                excluded_user_ids=(excluded or {}).get(item.ticket_id, frozenset()),
            )
            kind = (item.team_id, conversation.kind)
            if kind in hopeless:
                done.waiting.append(item.ticket_id)
                continue
            decision = policies.choose(team.policy, team.skill_match, board.candidates(item.team_id), conversation)
            if decision.agent_id is None:
                hopeless.add(kind)
                done.waiting.append(item.ticket_id)
                continue
            reason = decision.reason(team_id=item.team_id, channel=item.channel)
            workload.assign_routed(session, item.ticket_id, decision.agent_id, reason="routed", routing=reason)
            board.took(decision.agent_id, item.channel, now)
            hopeless.clear()
            done.assigned.append((item.ticket_id, decision.agent_id))
        if len(page) < limit:
            break
    for team_id, (on, opening) in shifts.items():
        if not on and opening is not None:
            # Nobody works now: whatever waits is served when the team's next shift begins.
            key = f"{DRAIN_JOB}:{team_id}:opening:{opening.isoformat()}"
            enqueue(session, DRAIN_JOB, {"team_ids": [team_id]}, key=key, run_at=opening)
    _write_back(session, rows)
    session.flush()
    return done


@dataclass
class _AgentRow:
    """An agent's routing row as a drain holds it locked: read with the lock, written back once at the end."""

    capacities: dict[str, int]
    last_assigned_at: datetime | None
    assigned: bool = False


_ROUTING_AGENTS = cast(sa.Table, RoutingAgent.__table__)
_ASSIGNED_AT = (
    sa.update(_ROUTING_AGENTS)
    .where(_ROUTING_AGENTS.c.user_id == sa.bindparam("agent"))
    .values(
        last_assigned_at=sa.bindparam("at", type_=_ROUTING_AGENTS.c.last_assigned_at.type),
        updated_at=sa.bindparam("at"),
    )
)
# Plain rows, not ORM objects: a drain locks every agent of its teams and reads two columns of each.
_LOCKING = (
    sa.select(_ROUTING_AGENTS.c.user_id, _ROUTING_AGENTS.c.capacities, _ROUTING_AGENTS.c.last_assigned_at)
    .order_by(_ROUTING_AGENTS.c.user_id)
    .with_for_update()
)
_LOCK_OF_TEAMS = _LOCKING.where(_ROUTING_AGENTS.c.user_id.in_(accounts_queries.MEMBERS_OF_TEAMS.scalar_subquery()))
_LOCK_OF_USERS = _LOCKING.where(_ROUTING_AGENTS.c.user_id.in_(sa.bindparam("user_ids", expanding=True)))


def _new_agent_rows(session: Session, user_ids: list[int]) -> dict[int, _AgentRow]:
    """Routing rows for agents who have none yet, made and locked (a row nobody had cannot be part of a deadlock)."""
    now = utcnow(session)
    values: list[dict[str, Any]] = [
        {"user_id": u, "capacities": {}, "last_assigned_at": None, "updated_at": now} for u in user_ids
    ]
    insert = (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(RoutingAgent)
    session.execute(insert.values(values).on_conflict_do_nothing(index_elements=[RoutingAgent.user_id]))
    return _lock_rows(session, _LOCK_OF_USERS, {"user_ids": user_ids})


def _lock_rows(session: Session, locking: sa.Select[Any], parameters: dict[str, Any]) -> dict[int, _AgentRow]:
    """The routing rows ``locking`` selects, locked in user id order."""
    rows = session.execute(locking, parameters)
    return {user_id: _AgentRow(dict(capacities or {}), assigned_at) for user_id, capacities, assigned_at in rows}


def _write_back(session: Session, rows: dict[int, _AgentRow]) -> None:
    """Records when the agents who got a conversation in this drain last got one (idle longest goes first)."""
    assigned = [{"agent": user_id, "at": row.last_assigned_at} for user_id, row in rows.items() if row.assigned]
    if assigned:
        session.execute(_ASSIGNED_AT, assigned)


class _Board:
    """The agents of the teams being drained: presence, shifts, loads; updated as conversations are given out."""

    def __init__(
        self,
        agents: dict[int, accounts_queries.AgentFacts],
        rows: dict[int, _AgentRow],
        shifts: dict[int, bool],
        loads: dict[int, dict[str, int]],
    ) -> None:
        self.agents = agents
        self.rows = rows
        self.shifts = shifts
        self.loads = {user_id: dict(loads.get(user_id, {})) for user_id in agents}
        # Candidates are rebuilt only when their agent takes a conversation (a drain may give out hundreds,
        # and weigh many more that nobody can take).
        self._built: dict[tuple[int, int], Candidate] = {}
        self._teams: dict[int, list[Candidate]] = {}

    def candidate(self, user_id: int, team_id: int) -> Candidate:
        facts, row = self.agents[user_id], self.rows[user_id]
        return Candidate(
            user_id=user_id,
            presence=facts.presence.status.value,
            on_shift=self.shifts.get(team_id, False),
            loads=self.loads[user_id],
            capacities=row.capacities,
            languages=facts.languages,
            skills=facts.skills,
            last_assigned_at=row.last_assigned_at,
        )

    def candidates(self, team_id: int) -> list[Candidate]:
        found = self._teams.get(team_id)
        if found is None:
            found = self._teams[team_id] = []
            for user_id, facts in self.agents.items():
                if team_id in facts.team_ids:
                    built = self._built.get((user_id, team_id))
                    if built is None:
                        built = self._built[(user_id, team_id)] = self.candidate(user_id, team_id)
                    found.append(built)
        return found

    def room(self) -> dict[str, int]:
        """Per channel on which someone has room, how many more conversations they could take in all."""
        # An agent on two teams counts once, with the room they have on any team whose shift it is.
        free: dict[int, dict[str, int]] = {}
        for team_id in self.shifts:
            for c in self.candidates(team_id):
                for channel in policies.channels_with_room(c):
                    free.setdefault(c.user_id, {})[channel] = c.capacity(channel) - c.load(channel)
        room: dict[str, int] = {}
        for places in free.values():
            for channel, count in places.items():
                room[channel] = room.get(channel, 0) + count
        return room

    def took(self, user_id: int, channel: str, now: datetime) -> None:
        self.loads[user_id] = {**self.loads[user_id], channel: self.loads[user_id].get(channel, 0) + 1}
        self.rows[user_id].last_assigned_at = now
        self.rows[user_id].assigned = True
        for team_id in self.agents[user_id].team_ids:
            self._built.pop((user_id, team_id), None)
            self._teams.pop(team_id, None)


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
