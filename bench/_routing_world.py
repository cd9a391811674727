"""The simulated help desk of bench/routing_replay.py: the arrivals of the UCI incident log, 20 agents on two
teams and two shifts, handle times, and what the replay checks (loads against capacity, waits while someone
had room)."""

from __future__ import annotations

import csv
import heapq
import io
import math
import os
import random
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

SEED = 20160229
AGENTS = 20
TEAMS = {"Service desk": range(0, 12), "Second line": range(8, 20)}
POLICIES = {"Service desk": ("least_loaded", "prefer"), "Second line": ("round_robin", "strict")}
DAY_SHIFT = (7, 19)  # UTC hours; agents with index % 4 == 3 work the night
LANGUAGES = [("ru", 0.45), ("en", 0.40), ("ro", 0.15)]
PRIORITIES = {"1 - Critical": "urgent", "2 - High": "high", "3 - Moderate": "normal", "4 - Low": "low"}
CHAT_MEDIAN_MIN, EMAIL_MEDIAN_MIN = 20.0, 120.0
LOAD = ("new", "open", "pending")
CAPACITY = {"chat": 3, "email": 10, "web": 10, "portal": 10, "api": 10, "phone": 1, "other": 10}


def incident_log() -> Path:
    here = Path(__file__).resolve()
    candidates = [Path(os.environ["OKNO_UCI_INCIDENT_LOG"])] if os.environ.get("OKNO_UCI_INCIDENT_LOG") else []
    candidates += [p / "shared/data/uci-incident-event-log/incident_event_log.zip" for p in here.parents]
    for path in candidates:
        if path.exists():
            return path
    raise SystemExit("the UCI incident log is missing: set OKNO_UCI_INCIDENT_LOG to incident_event_log.zip")


def opened_at(row: dict[str, str]) -> datetime:
    """The log's ``D/M/YYYY HH:MM``, read as UTC (it names no zone)."""
    return datetime.strptime(row["opened_at"] + " +0000", "%d/%m/%Y %H:%M %z")


@dataclass(frozen=True)
class Arrival:
    index: int
    at: datetime
    number: str
    channel: str
    priority: str
    team: str
    language: str
    caller: str


def arrivals(limit: int | None) -> list[Arrival]:
    """Each incident once, at its ``opened_at`` (the log's rows are its audit trail), in time order."""
    first: dict[str, dict[str, str]] = {}
    with zipfile.ZipFile(incident_log()) as archive, archive.open("incident_event_log.csv") as raw:
        for row in csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8")):
            first.setdefault(row["number"], row)
    rows = sorted(first.values(), key=lambda r: (opened_at(r), r["number"]))
    rng = random.Random(SEED)
    found = []
    for index, row in enumerate(rows[:limit] if limit else rows):
        contact = row["contact_type"]
        channel = {"Email": "email", "Self service": "portal"}.get(contact) or (
            "chat" if rng.random() < 0.6 else "email"
        )
        found.append(
            Arrival(
                index=index,
                at=opened_at(row),
                number=row["number"],
                channel=channel,
                priority=PRIORITIES.get(row["priority"], "normal"),
                team="Service desk" if rng.random() < 0.7 else "Second line",
                language=rng.choices([c for c, _ in LANGUAGES], [w for _, w in LANGUAGES])[0],
                caller=row["caller_id"].replace(" ", "-").lower() or "caller",
            )
        )
    return found


def handle_time(ticket_id: int, channel: str, attempt: int) -> timedelta:
    rng = random.Random(SEED * 1_000_003 + ticket_id * 31 + attempt)
    median = CHAT_MEDIAN_MIN if channel == "chat" else EMAIL_MEDIAN_MIN
    return timedelta(minutes=max(1.0, rng.lognormvariate(math.log(median), 0.8)))


class SharedClock:
    """The injectable clock of every process of the replay: seconds since the epoch in shared memory."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.value.value, UTC)

    def set(self, at: datetime) -> None:
        self.value.value = at.timestamp()


def on_day_shift(agent: int) -> bool:
    return agent % 4 != 3


def online_at(agent: int, at: datetime) -> bool:
    day = DAY_SHIFT[0] <= at.hour < DAY_SHIFT[1]
    return day == on_day_shift(agent)


@dataclass
class Desk:
    team_ids: dict[str, int] = field(default_factory=dict)
    agent_ids: list[int] = field(default_factory=list)
    languages: dict[int, frozenset[str]] = field(default_factory=dict)
    teams_of: dict[int, set[str]] = field(default_factory=dict)
    actors: dict[int, Any] = field(default_factory=dict)


def set_up(db: Any) -> Desk:
    from okno.accounts import presence
    from okno.accounts import service as accounts_service
    from okno.accounts.models import PresenceStatus, Role
    from okno.accounts.permissions import Actor
    from okno.accounts.schemas import TeamCreate, UserCreate
    from okno.routing import profiles
    from okno.routing.schemas import TeamRoutingUpdate

    rng = random.Random(SEED + 1)
    desk = Desk()
    system = Actor.system("bench")
    with db.write() as session:
        for name, (policy, match) in POLICIES.items():
            team_id = accounts_service.create_team(session, system, data=TeamCreate(name=name)).id
            desk.team_ids[name] = team_id
            changes = TeamRoutingUpdate.model_validate({"policy": policy, "skill_match": match})
            profiles.update_team(session, system, team_id, changes=changes)
        for agent in range(AGENTS):
            spoken = {rng.choices([c for c, _ in LANGUAGES], [w for _, w in LANGUAGES])[0]}
            if rng.random() < 0.5:
                spoken.add(rng.choice([c for c, _ in LANGUAGES]))
            teams = {name for name, members in TEAMS.items() if agent in members}
            user = accounts_service.create_user(
                session,
                system,
                data=UserCreate(
                    email=f"agent{agent}@bench.example.com",
                    name=f"Agent {agent}",
                    role=Role.agent,
                    team_ids=[desk.team_ids[t] for t in sorted(teams)],
                    languages=sorted(spoken),
                ),
            )
            desk.agent_ids.append(user.id)
            desk.languages[user.id] = frozenset(spoken)
            desk.teams_of[user.id] = teams
            desk.actors[user.id] = accounts_service.actor_for(session, user)
    with db.write() as session:
        for agent, user_id in enumerate(desk.agent_ids):
            status = PresenceStatus.online if online_at(agent, db.clock.now()) else PresenceStatus.offline
            presence.set_status(session, desk.actors[user_id], status)
    return desk


class Replay:
    def __init__(self, db: Any, clock: SharedClock, desk: Desk) -> None:
        self.db, self.clock, self.desk = db, clock, desk
        self.completions: list[tuple[datetime, int, int, int]] = []  # (due, ticket, agent, attempt)
        self.attempts: Counter[int] = Counter()
        self.last_event_id = 0
        self.ticket_of_arrival: dict[int, int] = {}
        self.violating_since: dict[int, datetime] = {}
        self.waits_while_capacity: dict[int, float] = defaultdict(float)
        self.violations = 0
        self.queued_max = 0
        self.all_online = False

    # --- the first phase of a step: what happens in the world -------------------------------
    def arrive(self, arrival: Arrival) -> int:
        from okno.accounts.permissions import Actor
        from okno.customers import service as customers_service
        from okno.tickets import service as tickets_service
        from okno.tickets.schemas import TicketCreate

        self.clock.set(arrival.at)
        with self.db.write() as session:
            customer = customers_service.find_or_create_by_email(
                session, email=f"{arrival.caller}@customers.example.com", name=arrival.caller
            )
            ticket = tickets_service.create_ticket(
                session,
                Actor.system(arrival.channel),
                data=TicketCreate.model_validate(
                    {
                        "subject": f"Incident {arrival.number}",
                        "customer_id": customer.id,
                        "channel": arrival.channel,
                        "priority": arrival.priority,
                        "team_id": self.desk.team_ids[arrival.team],
                        "message": {"body": "Something is broken; please help."},
                    }
                ),
            )
            ticket.language = arrival.language
            return int(ticket.id)

    def solve(self, ticket_id: int, agent_id: int, at: datetime) -> bool:
        from okno.tickets import changes
        from okno.tickets.models import Ticket
        from okno.tickets.schemas import TicketUpdate

        self.clock.set(at)
        with self.db.write() as session:
            row = session.execute(sa.select(Ticket.assignee_id, Ticket.status).where(Ticket.id == ticket_id)).first()
            if row is None or row[0] != agent_id or row[1] not in LOAD:
                return False  # handed back meanwhile: its new agent has their own handle time
            changes.update_ticket(
                session,
                self.desk.actors[agent_id],
                ticket_id,
                changes=TicketUpdate.model_validate({"status": "solved"}),
            )
            return True

    def shift_change(self, at: datetime) -> None:
        from okno.accounts import presence
        from okno.accounts.models import PresenceStatus

        self.clock.set(at)
        for agent, user_id in enumerate(self.desk.agent_ids):
            status = PresenceStatus.online if online_at(agent, at) else PresenceStatus.offline
            with self.db.write() as session:
                presence.set_status(session, self.desk.actors[user_id], status)

    # --- after the second phase: what routing did ------------------------------------------
    def collect_assignments(self) -> None:
        from okno.tickets.models import Ticket, TicketEvent

        with self.db.read() as session:
            rows = session.execute(
                sa.select(
                    TicketEvent.id, TicketEvent.ticket_id, TicketEvent.occurred_at, TicketEvent.data, Ticket.channel
                )
                .join(Ticket, Ticket.id == TicketEvent.ticket_id)
                .where(TicketEvent.kind == "assigned", TicketEvent.id > self.last_event_id)
                .order_by(TicketEvent.id)
            ).all()
        for event_id, ticket_id, occurred_at, data, channel in rows:
            self.last_event_id = event_id
            if data.get("reason") == "routed":
                self.attempts[ticket_id] += 1
                due = occurred_at + handle_time(ticket_id, channel, self.attempts[ticket_id])
                heapq.heappush(self.completions, (due, ticket_id, int(data["new"]), self.attempts[ticket_id]))

    def check_waiting(self, at: datetime) -> None:
        """At the end of a step (routing done): is any unassigned ticket one an eligible agent could take?"""
        from okno.tickets.models import Ticket

        with self.db.read() as session:
            loads: dict[tuple[int, str], int] = {
                (int(a), str(ch)): int(n)
                for a, ch, n in session.execute(
                    sa.select(Ticket.assignee_id, Ticket.channel, sa.func.count())
                    .where(Ticket.assignee_id.is_not(None), Ticket.status.in_(LOAD))
                    .group_by(Ticket.assignee_id, Ticket.channel)
                )
            }
            waiting = session.execute(
                sa.select(Ticket.id, Ticket.team_id, Ticket.channel, Ticket.language).where(
                    Ticket.status.in_(["new", "open"]), Ticket.assignee_id.is_(None), Ticket.team_id.is_not(None)
                )
            ).all()
        self.queued_max = max(self.queued_max, len(waiting))
        names = {team_id: name for name, team_id in self.desk.team_ids.items()}
        now_violating = set()
        for ticket_id, team_id, channel, language in waiting:
            team = names[team_id]
            members = [u for u in self.desk.agent_ids if team in self.desk.teams_of[u]]
            strict = POLICIES[team][1] == "strict" and any(language in self.desk.languages[u] for u in members)
            for user_id in members:
                agent = self.desk.agent_ids.index(user_id)
                online = self.all_online or online_at(agent, at)
                if not online or loads.get((user_id, channel), 0) >= CAPACITY[channel]:
                    continue
                if strict and language not in self.desk.languages[user_id]:
                    continue
                now_violating.add(ticket_id)
                break
        # A ticket someone could have taken when routing last finished waited at least until now.
        for ticket_id, since in self.violating_since.items():
            self.waits_while_capacity[ticket_id] += (at - since).total_seconds()
        self.violations += len(now_violating)
        self.violating_since = {ticket_id: at for ticket_id in now_violating}


def max_load_over_capacity(db: Any) -> tuple[int, float]:
    """Every committed assignment and status change in order: the worst (load − capacity), and load/capacity."""
    from okno.tickets.models import Ticket, TicketEvent

    state: dict[int, tuple[int | None, str]] = {}
    load: Counter[tuple[int, str]] = Counter()
    worst, worst_ratio = -(10**9), 0.0
    with db.read() as session:
        channels = dict(session.execute(sa.select(Ticket.id, Ticket.channel)).all())
        events = session.execute(
            sa.select(TicketEvent.ticket_id, TicketEvent.kind, TicketEvent.data)
            .where(TicketEvent.kind.in_(["created", "assigned", "status_changed"]))
            .order_by(TicketEvent.id)
            .execution_options(yield_per=5000)
        )
        for ticket_id, kind, data in events:
            assignee, status = state.get(ticket_id, (None, "new"))
            if kind == "created":
                assignee, status = data.get("assignee_id"), data["status"]
            elif kind == "assigned":
                assignee = data["new"]
            else:
                status = data["new"]
            before = state.get(ticket_id)
            channel = str(channels[ticket_id])
            if before and before[0] is not None and before[1] in LOAD:
                load[(before[0], channel)] -= 1
            if assignee is not None and status in LOAD:
                load[(assignee, channel)] += 1
                worst = max(worst, load[(assignee, channel)] - CAPACITY[channel])
                worst_ratio = max(worst_ratio, load[(assignee, channel)] / CAPACITY[channel])
            state[ticket_id] = (assignee, status)
    return max(worst, 0), worst_ratio


def shift_boundaries(start: datetime, end: datetime) -> list[datetime]:
    found = []
    day = start.replace(hour=0, minute=0)
    while day <= end:
        for hour in DAY_SHIFT:
            at = day.replace(hour=hour)
            if start < at <= end:
                found.append(at)
        day += timedelta(days=1)
    return found
