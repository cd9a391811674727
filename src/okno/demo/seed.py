"""Fills a database with the demo help desk through the real services.

Idempotent and resumable: people, teams and organizations are looked up before they are
created, and tickets are made in a fixed, seeded order in batches that commit one by one,
so a rerun (after a crash too) continues after the last committed batch and never makes
anything twice.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts import service as accounts_service
from okno.accounts.models import Role, User
from okno.accounts.permissions import Actor
from okno.accounts.schemas import TeamCreate, UserCreate
from okno.automation.rules import timed
from okno.clock import FrozenClock
from okno.config import Settings
from okno.customers import service as customers_service
from okno.customers.schemas import OrganizationCreate
from okno.db import Database, utcnow
from okno.demo import data
from okno.demo.business_hours import seed_business_hours
from okno.demo.macros import seed_macros
from okno.demo.rules import seed_rules
from okno.demo.sla import seed_sla_policies
from okno.demo.spam import seed_spam
from okno.demo.widgets import demo_origins, seed_widget
from okno.jobs.models import Job, JobStatus
from okno.routing import profiles as routing_profiles
from okno.routing.policies import Policy, SkillMatch
from okno.routing.schemas import AgentRoutingUpdate, TeamRoutingUpdate
from okno.tickets import changes, fields, service
from okno.tickets.models import DeliveryStatus, Message, Ticket
from okno.tickets.schemas import CustomFieldCreate, MessageCreate, MessageIn, TicketCreate, TicketUpdate
from okno.tickets.service import DELIVER_REPLY_JOB

SEED = 20261123
STATUSES = [("new", 12), ("open", 25), ("pending", 14), ("on_hold", 5), ("solved", 27), ("closed", 17)]
CHANNELS = [("email", 40), ("chat", 22), ("web", 12), ("portal", 10), ("phone", 10), ("api", 6)]
PRIORITIES = [("low", 15), ("normal", 60), ("high", 18), ("urgent", 7)]


@dataclass
class SeedReport:
    tickets_total: int
    tickets_created: int


def _pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([name for name, _ in weighted], weights=[weight for _, weight in weighted])[0]


def _customer_emails() -> list[tuple[str, str]]:
    """(email, name) of the demo's customers, the same on every run."""
    rng = random.Random(SEED)
    people: list[tuple[str, str]] = []
    org_domains = [domains[0] for _name, domains, _plan, _shared in data.ORGANIZATIONS]
    for n in range(44):
        russian = n % 2 == 0
        first = rng.choice(data.RUSSIAN_FIRST if russian else data.ENGLISH_FIRST)
        last = rng.choice(data.RUSSIAN_LAST if russian else data.ENGLISH_LAST)
        if russian and first.endswith(("а", "я")) and not last.endswith("ё"):
            last += "а"
        local = f"{first}.{last}".lower().translate(data.TRANSLIT)
        domain = org_domains[n % len(org_domains)] if n % 4 == 0 else rng.choice(data.MAIL_DOMAINS)
        people.append((f"{local}{n}@{domain}", f"{first} {last}"))
    return people


def plans(count: int) -> list[data.Plan]:
    people = _customer_emails()
    result = []
    for index in range(count):
        rng = random.Random(SEED * 1000 + index)
        conversation = data.CONVERSATIONS[index % len(data.CONVERSATIONS)]
        # Even-numbered demo customers have Russian names: they write the Russian conversations.
        speakers = people[0 if conversation.language == "ru" else 1 :: 2]
        email, _name = speakers[rng.randrange(len(speakers))]
        final = _pick(rng, STATUSES)
        # Older tickets are more likely finished: spread creation over 30 days, newest last.
        hours_ago = (count - index) * (30 * 24 / max(count, 1)) + rng.uniform(0, 3)
        plan = data.Plan(
            conversation=conversation,
            customer_email=email,
            channel=_pick(rng, CHANNELS),
            priority="high" if conversation.team == "VIP" else _pick(rng, PRIORITIES),
            final_status=final,
            created_hours_ago=hours_ago,
            cc=[people[rng.randrange(len(people))][0]] if rng.random() < 0.08 else [],
            reopens=final in {"open", "solved", "closed"} and bool(conversation.follow_up) and rng.random() < 0.5,
            with_note=bool(conversation.note) and rng.random() < 0.7,
        )
        result.append(plan)
    return result


def _setup(session: Session) -> None:
    system = Actor.system("demo")
    teams = {t.name: t.id for t in accounts_service.list_teams(session, system)}
    for name, description in data.TEAMS:
        if name not in teams:
            teams[name] = accounts_service.create_team(
                session, system, data=TeamCreate(name=name, description=description)
            ).id
    for agent in data.AGENTS:
        if accounts_service.find_user_by_email(session, agent.email) is None:
            accounts_service.create_user(
                session,
                system,
                data=UserCreate(
                    email=agent.email,
                    name=agent.name,
                    role=Role(agent.role),
                    password=data.PASSWORD,
                    team_ids=[teams[t] for t in agent.teams],
                    languages=list(agent.languages),
                    skills=list(agent.skills),
                    locale=agent.locale,
                    time_zone=agent.time_zone,
                ),
            )
    _setup_routing(session, system, teams)
    existing_orgs = {o.name for o in customers_service.list_organizations(session, system)}
    for name, domains, plan, shared in data.ORGANIZATIONS:
        if name not in existing_orgs:
            customers_service.create_organization(
                session,
                system,
                data=OrganizationCreate(name=name, domains=list(domains), plan=plan, shared_tickets=shared),
            )
    for email, name in _customer_emails():
        customers_service.find_or_create_by_email(session, email=email, name=name)
    known_fields = {f.key for f in fields.list_custom_fields(session, system)}
    for key, label, field_type, options in data.CUSTOM_FIELDS:
        if key not in known_fields:
            fields.create_custom_field(
                session,
                system,
                data=CustomFieldCreate(key=key, label=label, field_type=field_type, options=list(options)),
            )


def _setup_routing(session: Session, system: Actor, teams: dict[str, int]) -> None:
    """Team policies and agents' capacities, once (a later run leaves what an admin changed)."""
    routed = {t.team_id for t in routing_profiles.list_teams(session, system) if t.policy != "manual"}
    for name, (policy, match) in data.ROUTING.items():
        if teams[name] not in routed:
            changes = TeamRoutingUpdate(policy=Policy(policy), skill_match=SkillMatch(match))
            routing_profiles.update_team(session, system, teams[name], changes=changes)
    for agent in data.AGENTS:
        user = accounts_service.find_user_by_email(session, agent.email)
        if user is not None and agent.capacities:
            current = routing_profiles.get_agent(session, system, user.id, presence_timeout_seconds=90)
            if not current.own_capacities:
                capacities: dict[str, int | None] = dict(agent.capacities)
                routing_profiles.update_agent(
                    session,
                    system,
                    user.id,
                    changes=AgentRoutingUpdate(capacities=capacities),
                    presence_timeout_seconds=90,
                )


class _Staff:
    """The demo's agents as actors, by team, to answer and own tickets."""

    def __init__(self, session: Session) -> None:
        users = list(
            session.scalars(sa.select(User).where(User.role.in_(["admin", "supervisor", "agent", "light_agent"])))
        )
        self.actors = {u.email: accounts_service.actor_for(session, u) for u in users}
        self.languages = {u.email: set(u.languages) for u in users}
        self.teams = {t.name: t.id for t in accounts_service.list_teams(session, Actor.system("demo"))}

    def agents_of(self, team: str, language: str) -> list[Actor]:
        """The team's agents who speak the language (all of the team's agents if none does)."""
        team_id = self.teams[team]
        members = {
            email: a
            for email, a in self.actors.items()
            if team_id in a.team_ids and a.role in {Role.agent, Role.supervisor}
        }
        speakers = [a for email, a in members.items() if language in self.languages[email]]
        return speakers or list(members.values())


def _make_ticket(
    session: Session, staff: _Staff, clock: FrozenClock, now: datetime, index: int, plan: data.Plan
) -> None:
    rng = random.Random(SEED * 7 + index)
    convo = plan.conversation
    customer = customers_service.find_or_create_by_email(session, email=plan.customer_email)
    order = f"{(SEED + index * 37) % 900000 + 100000}"
    first_name = (customer.name or "").split(" ")[0] or ("клиент" if convo.language == "ru" else "there")

    def say(text: str) -> str:
        return text.format(order=order, customer=first_name)

    def step(minutes: float) -> None:
        clock.set(min(clock.now() + timedelta(minutes=minutes), now))

    clock.set(now - timedelta(hours=plan.created_hours_ago))
    intake = Actor.system(plan.channel)
    agents = staff.agents_of(convo.team, convo.language)
    agent = agents[rng.randrange(len(agents))]
    opener = intake if plan.channel != "phone" else agent
    custom: dict[str, object] = {"order_number": order} if "{order}" in convo.ask else {}
    if convo.product:
        custom["product"] = convo.product
    ticket = service.create_ticket(
        session,
        opener,
        data=TicketCreate.model_validate(
            {
                "subject": convo.subject,
                "customer_id": customer.id,
                "channel": plan.channel,
                "priority": plan.priority,
                "message": {"body": say(convo.ask)},
                "tags": list(convo.tags),
                "custom_fields": custom,
                "cc": plan.cc,
                # New conversations of routed teams came in through the team's channel and wait in its queue
                # for an agent to come online; the others wait for someone to choose their team.
                "team_id": staff.teams[convo.team]
                if plan.final_status == "new" and convo.team in data.ROUTING
                else None,
            }
        ),
    )
    ticket.language = convo.language
    customer_actor = Actor(role=Role.customer, customer_id=customer.id, name=customer.name)
    if plan.final_status == "new":
        return
    step(rng.uniform(3, 240))
    changes.update_ticket(
        session, agent, ticket.id, changes=TicketUpdate(team_id=staff.teams[convo.team], assignee_id=agent.user_id)
    )
    if plan.with_note:
        step(rng.uniform(1, 20))
        service.add_message(session, agent, ticket.id, data=MessageCreate(body=convo.note, kind="note"))
    if plan.final_status == "open" and not plan.reopens:
        return
    step(rng.uniform(5, 90))
    answer_status = {"pending": "pending", "on_hold": "on_hold"}.get(plan.final_status, "solved")
    service.add_message(session, agent, ticket.id, data=MessageCreate(body=say(convo.answer), status=answer_status))
    if plan.reopens:
        step(rng.uniform(60, 60 * 24))
        service.receive_customer_message(
            session, customer_actor, ticket, message=MessageIn(body=say(convo.follow_up)), channel=ticket.channel
        )
        if plan.final_status == "open":
            return
        step(rng.uniform(10, 120))
        service.add_message(session, agent, ticket.id, data=MessageCreate(body=say(convo.answer), status="solved"))
    if plan.final_status == "closed":
        step(60 * 24 * 4)
        changes.update_ticket(session, Actor.system("automation"), ticket.id, changes=TicketUpdate(status="closed"))


def _merge_duplicates(session: Session) -> None:
    """Two customers wrote twice about the same thing; an agent merged the second into the first."""
    system = Actor.system("demo")
    if session.scalar(sa.select(Ticket.id).where(Ticket.merged_into_id.is_not(None)).limit(1)) is not None:
        return  # done on an earlier run
    rows = list(session.scalars(sa.select(Ticket).where(Ticket.status.in_(["new", "open"])).order_by(Ticket.id)))
    seen: dict[tuple[int, str], Ticket] = {}
    merged = 0
    for ticket in rows:
        key = (ticket.customer_id, ticket.subject)
        if key in seen and merged < 2:
            changes.merge(session, system, ticket.id, target_id=seen[key].id, confirm_different_customers=False)
            merged += 1
        else:
            seen[key] = ticket


def _sent_back_then(session: Session) -> None:
    """The seeded replies are past conversations: they went out back then, none is queued to go out now.

    Otherwise the demo's worker would try to mail each one at start-up, with no mailbox to send
    from, and the workspace would show the whole history as undelivered.
    """
    session.flush()
    queued = Message.delivery_status == DeliveryStatus.queued
    session.execute(sa.update(Message).where(queued).values(delivery_status=DeliveryStatus.sent))
    session.execute(
        sa.update(Job)
        .where(Job.name == DELIVER_REPLY_JOB, Job.status == JobStatus.queued)
        .values(status=JobStatus.done, finished_at=utcnow(session))
    )


def _first_minute_of_time_based_rules(session: Session) -> None:
    """What the time-based rules do in the demo's first minute (remind customers pending for days, solve
    what waited a week, close what was solved days ago), done while seeding: their replies belong to
    the seeded past too, instead of failing at start-up for want of a mailbox to send them from."""
    timed.run(session, Settings())
    _sent_back_then(session)


def seed(
    database: Database,
    clock: FrozenClock,
    *,
    ticket_count: int,
    batch_size: int = 50,
    progress: Callable[[int, int], None] | None = None,
    widget_origins: Sequence[str] = demo_origins(8000),
) -> SeedReport:
    now = clock.now()
    with database.write() as session:
        _setup(session)
        seed_macros(session)
        seed_rules(session)
        seed_business_hours(session)
        seed_widget(session, origins=widget_origins)
        seed_sla_policies(session)
        # The demo's spam (seed_spam) is not among the tickets counted here.
        done = int(session.scalar(sa.select(sa.func.count()).where(Ticket.spam_at.is_(None))) or 0)
    created = 0
    all_plans = plans(ticket_count)
    for start in range(done, ticket_count, batch_size):
        with database.write() as session:
            staff = _Staff(session)
            for index in range(start, min(start + batch_size, ticket_count)):
                _make_ticket(session, staff, clock, now, index, all_plans[index])
                created += 1
            _sent_back_then(session)
        if progress is not None:
            progress(min(start + batch_size, ticket_count), ticket_count)
    with database.write() as session:
        _merge_duplicates(session)
    clock.set(now)
    with database.write() as session:
        _first_minute_of_time_based_rules(session)
    with database.write() as session:
        seed_spam(session)
    return SeedReport(tickets_total=ticket_count, tickets_created=created)
