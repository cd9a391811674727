"""Routing through the real reaction: tickets change, the worker runs, agents get conversations."""

from __future__ import annotations

from datetime import timedelta

from okno.accounts import service as accounts_service
from okno.accounts.schemas import UserUpdate
from okno.automation.business_hours import service as business_hours
from okno.automation.business_hours.schemas import CalendarCreate
from okno.routing import policies, service
from okno.routing.models import RoutingAgent
from okno.routing.policies import Conversation, queue_order
from okno.tickets import workload
from tests.factories.tickets import reply, update
from tests.routing.conftest import Desk


def test_a_new_chat_goes_to_the_least_loaded_online_agent_with_the_reason(desk: Desk) -> None:
    p = desk.people
    desk.policy(p.team_a)
    desk.presence(p.agent, "online")
    desk.presence(p.colleague, "online")
    first = desk.chat(p.team_a)
    desk.run()
    # Nobody has anything: the tie goes to the one never assigned, then the lower id (agent).
    assert desk.assignee(first) == p.agent.user_id
    second = desk.chat(p.team_a)
    desk.run()
    assert desk.assignee(second) == p.colleague.user_id
    [event] = desk.assigned_events(second)
    assert event["reason"] == "routed" and event["old"] is None and event["new"] == p.colleague.user_id
    routing = event["routing"]
    assert routing["policy"] == "least_loaded" and routing["team_id"] == p.team_a and routing["channel"] == "chat"
    assert {c["user_id"]: (c["outcome"], c["load"], c["capacity"]) for c in routing["candidates"]} == {
        p.agent.user_id: ("not_next", 1, 3),
        p.colleague.user_id: ("chosen", 0, 3),
    }


def test_nobody_online_means_the_ticket_waits_until_someone_comes(desk: Desk) -> None:
    p = desk.people
    desk.policy(p.team_a)
    ticket = desk.chat(p.team_a)
    desk.run()
    assert desk.assignee(ticket) is None and desk.waiting() == [ticket]
    desk.presence(p.colleague, "online")
    desk.run()
    assert desk.assignee(ticket) == p.colleague.user_id and desk.waiting() == []


def test_a_manual_team_is_left_alone(desk: Desk) -> None:
    p = desk.people
    desk.presence(p.agent, "online")
    ticket = desk.chat(p.team_a)
    desk.run()
    assert desk.assignee(ticket) is None and desk.waiting() == []
    desk.policy(p.team_a, "manual")
    desk.run()
    assert desk.assignee(ticket) is None


def test_capacity_is_never_exceeded_and_freed_room_takes_the_oldest_waiting(desk: Desk) -> None:
    p = desk.people
    desk.policy(p.team_a)
    desk.capacity(p.agent, chat=2)
    desk.presence(p.agent, "online")
    tickets = []
    for _ in range(4):
        tickets.append(desk.chat(p.team_a))
        desk.clock.advance(timedelta(seconds=5))
    desk.run()
    assert [desk.assignee(t) for t in tickets] == [p.agent.user_id, p.agent.user_id, None, None]
    assert desk.waiting() == tickets[2:]
    update(desk.db, p.agent.actor, tickets[0], status="solved")
    desk.run()
    assert desk.assignee(tickets[2]) == p.agent.user_id and desk.waiting() == [tickets[3]]


def test_the_queue_serves_urgent_first_then_the_longest_waiting(desk: Desk) -> None:
    p = desk.people
    desk.policy(p.team_a)
    desk.capacity(p.agent, chat=1)
    desk.presence(p.agent, "online")
    busy = desk.chat(p.team_a)
    desk.run()
    waiting = []
    for _ in range(3):
        desk.clock.advance(timedelta(seconds=10))
        waiting.append(desk.chat(p.team_a))
    update(desk.db, p.admin.actor, waiting[2], priority="urgent")
    desk.run()
    assert desk.waiting() == waiting
    update(desk.db, p.agent.actor, busy, status="solved")
    desk.run()
    assert desk.assignee(waiting[2]) == p.agent.user_id  # urgent, though the newest
    update(desk.db, p.agent.actor, waiting[2], status="solved")
    desk.run()
    assert desk.assignee(waiting[0]) == p.agent.user_id  # then the longest waiting


def test_a_raised_capacity_fills_at_once(desk: Desk) -> None:
    p = desk.people
    desk.policy(p.team_a)
    desk.capacity(p.agent, chat=1)
    desk.presence(p.agent, "online")
    tickets = [desk.chat(p.team_a) for _ in range(3)]
    desk.run()
    assert desk.waiting() == tickets[1:]
    desk.capacity(p.agent, chat=3)
    desk.run()
    assert all(desk.assignee(t) == p.agent.user_id for t in tickets) and desk.waiting() == []


def test_a_russian_chat_goes_to_the_russian_speaker(desk: Desk) -> None:
    p = desk.people
    desk.policy(p.team_a)
    with desk.db.write() as session:
        accounts_service.update_user(session, p.admin.actor, p.colleague.user_id, changes=UserUpdate(languages=["ru"]))
        accounts_service.update_user(session, p.admin.actor, p.agent.user_id, changes=UserUpdate(languages=["en"]))
    desk.presence(p.agent, "online")
    desk.presence(p.colleague, "online")
    ticket = desk.chat(p.team_a, language="ru")
    desk.run()
    assert desk.assignee(ticket) == p.colleague.user_id
    routing = desk.assigned_events(ticket)[0]["routing"]
    assert routing["language"] == "ru"
    assert {c["user_id"]: c["outcome"] for c in routing["candidates"]}[p.agent.user_id] == "less_suited"


def test_strict_matching_waits_for_a_speaker(desk: Desk) -> None:
    p = desk.people
    desk.policy(p.team_a, skill_match="strict")
    with desk.db.write() as session:
        accounts_service.update_user(session, p.admin.actor, p.colleague.user_id, changes=UserUpdate(languages=["ru"]))
    desk.presence(p.agent, "online")
    ticket = desk.chat(p.team_a, language="ru")
    desk.run()
    assert desk.assignee(ticket) is None and desk.waiting() == [ticket]
    desk.presence(p.colleague, "online")
    desk.run()
    assert desk.assignee(ticket) == p.colleague.user_id


def test_round_robin_takes_turns(desk: Desk) -> None:
    p = desk.people
    desk.policy(p.team_a, "round_robin")
    desk.presence(p.agent, "online")
    desk.presence(p.colleague, "online")
    owners = []
    for _ in range(4):
        ticket = desk.chat(p.team_a)
        desk.clock.advance(timedelta(seconds=1))
        desk.run()
        owners.append(desk.assignee(ticket))
    assert owners == [p.agent.user_id, p.colleague.user_id, p.agent.user_id, p.colleague.user_id]


def test_a_ticket_handed_back_goes_to_someone_else(desk: Desk) -> None:
    p = desk.people
    desk.policy(p.team_a)
    desk.presence(p.agent, "online")
    desk.presence(p.colleague, "online")
    ticket = desk.chat(p.team_a)
    desk.run()
    assert desk.assignee(ticket) == p.agent.user_id
    update(desk.db, p.agent.actor, ticket, assignee_id=None)
    desk.run()
    assert desk.assignee(ticket) == p.colleague.user_id


def test_spam_solved_and_unteamed_tickets_are_not_routed(desk: Desk) -> None:
    p = desk.people
    desk.policy(p.team_a)
    desk.presence(p.agent, "online")
    no_team = desk.chat(None)
    spam = desk.chat(p.team_a)
    update(desk.db, p.admin.actor, spam, tags=["spam"])
    solved = desk.chat(p.team_a)
    update(desk.db, p.admin.actor, solved, status="solved")
    desk.run()
    assert [desk.assignee(t) for t in (no_team, spam, solved)] == [None, None, None]


def test_moving_a_ticket_to_a_routed_team_routes_it(desk: Desk) -> None:
    p = desk.people
    desk.policy(p.team_b)
    desk.presence(p.other_agent, "online")
    ticket = desk.chat(p.team_a)
    desk.run()
    assert desk.assignee(ticket) is None
    update(desk.db, p.admin.actor, ticket, team_id=p.team_b)
    desk.run()
    assert desk.assignee(ticket) == p.other_agent.user_id


def test_a_team_that_starts_routing_adopts_its_unassigned_tickets(desk: Desk) -> None:
    p = desk.people
    desk.presence(p.agent, "online")
    tickets = [desk.chat(p.team_a) for _ in range(2)]
    desk.run()
    desk.policy(p.team_a)
    desk.run()
    assert [desk.assignee(t) for t in tickets] == [p.agent.user_id, p.agent.user_id]


def test_away_agents_get_nothing_and_their_unanswered_chats_return_after_the_grace_period(desk: Desk) -> None:
    p = desk.people
    desk.policy(p.team_a)
    desk.presence(p.agent, "online")
    chat = desk.chat(p.team_a)
    email = desk.chat(p.team_a, channel="email")
    desk.run()
    assert desk.assignee(chat) == desk.assignee(email) == p.agent.user_id
    desk.presence(p.agent, "away")
    desk.presence(p.colleague, "online")
    desk.run()
    newcomer = desk.chat(p.team_a)
    desk.run()
    assert desk.assignee(newcomer) == p.colleague.user_id  # away agents receive nothing
    assert desk.assignee(chat) == p.agent.user_id  # still within the grace period
    desk.clock.advance(timedelta(seconds=60))
    desk.presence(p.colleague, "online")  # a heartbeat keeps the colleague online
    desk.run()
    assert desk.assignee(chat) == p.agent.user_id
    desk.clock.advance(timedelta(seconds=61))
    desk.presence(p.colleague, "away")
    desk.presence(p.colleague, "online")
    desk.run()
    assert desk.assignee(chat) == p.colleague.user_id  # handed back, routed on
    assert desk.assignee(email) == p.agent.user_id  # emails stay with their agent
    returned = desk.assigned_events(chat)
    assert [(e["old"], e["new"], e["reason"]) for e in returned] == [
        (None, p.agent.user_id, "routed"),
        (p.agent.user_id, None, "agent_unavailable"),
        (None, p.colleague.user_id, "routed"),
    ]


def test_an_answered_chat_stays_with_its_agent(desk: Desk) -> None:
    p = desk.people
    desk.policy(p.team_a)
    desk.presence(p.agent, "online")
    chat = desk.chat(p.team_a)
    desk.run()
    reply(desk.db, p.agent.actor, chat)
    desk.presence(p.agent, "offline")
    desk.clock.advance(timedelta(minutes=10))
    desk.presence(p.colleague, "online")
    desk.run()
    assert desk.assignee(chat) == p.agent.user_id


def test_off_shift_the_queue_waits_for_the_next_opening(desk: Desk) -> None:
    p = desk.people
    week = {d: [{"start": "10:00", "end": "18:00"}] for d in ("mon", "tue", "wed", "thu", "fri")}
    with desk.db.write() as session:
        data = CalendarCreate.model_validate({"name": "Day shift", "time_zone": "UTC", "week": week})
        business_hours.create_calendar(session, p.admin.actor, data=data)
    desk.policy(p.team_a)
    desk.presence(p.agent, "online")
    ticket = desk.chat(p.team_a)  # Monday 09:00 UTC: an hour before the shift
    desk.run()
    assert desk.assignee(ticket) is None and desk.waiting() == [ticket]
    desk.clock.advance(timedelta(hours=1))
    desk.presence(p.agent, "online")  # a heartbeat, no change of presence
    desk.run()
    assert desk.assignee(ticket) == p.agent.user_id
    [event] = desk.assigned_events(ticket)
    assert event["routing"]["candidates"][0]["outcome"] == "chosen"


def test_the_queue_is_served_in_the_order_the_rules_say(desk: Desk) -> None:
    p = desk.people
    tickets = []
    for priority in ("normal", "urgent", "low", "urgent", "normal"):
        desk.clock.advance(timedelta(seconds=7))
        tickets.append(desk.chat(p.team_a))
        update(desk.db, p.admin.actor, tickets[-1], priority=priority)
    reply(desk.db, p.admin.actor, tickets[4])  # answered: nobody waits on it, so it comes after its priority
    update(desk.db, p.admin.actor, tickets[4], assignee_id=p.agent.user_id)
    update(desk.db, p.admin.actor, tickets[4], assignee_id=None)
    with desk.db.read() as session:
        served = workload.waiting(session, [p.team_a], channels=["chat"], limit=10)
    by_rules = sorted(
        served,
        key=lambda i: queue_order(
            Conversation(i.ticket_id, i.channel, priority_rank=i.priority_rank, waiting_since=i.waiting_since)
        ),
    )
    assert [i.ticket_id for i in served] == [i.ticket_id for i in by_rules]
    assert [i.ticket_id for i in served] == [tickets[1], tickets[3], tickets[0], tickets[4], tickets[2]]


def test_a_drain_serves_the_teams_that_share_its_agents_in_one_queue_order(desk: Desk) -> None:
    p = desk.people
    with desk.db.write() as session:
        changes = UserUpdate(team_ids=[p.team_a, p.team_b])
        accounts_service.update_user(session, p.admin.actor, p.agent.user_id, changes=changes)
    desk.policy(p.team_a)
    desk.policy(p.team_b)
    desk.capacity(p.agent, chat=1)
    billing = desk.chat(p.team_b)  # nobody online: it waits
    desk.clock.advance(timedelta(seconds=30))
    support = desk.chat(p.team_a)
    desk.run()
    assert desk.waiting() == [billing, support]
    desk.presence(p.agent, "online")  # its own drain is queued, not run: the drain below is asked for Support only
    with desk.db.write() as session:
        drained = service.drain(session, [p.team_a])
    # The one free place goes to whoever waited longest, on either team.
    assert drained.assigned == [(billing, p.agent.user_id)] and drained.waiting == [support]


def test_an_agent_off_shift_on_one_of_their_teams_still_takes_the_other_teams_chats(desk: Desk) -> None:
    p = desk.people
    with desk.db.write() as session:
        accounts_service.update_user(
            session, p.admin.actor, p.agent.user_id, changes=UserUpdate(team_ids=[p.team_a, p.team_b])
        )
        for name, hours, team_id in (
            ("Day shift", ("08:00", "18:00"), p.team_a),
            ("Night shift", ("22:00", "23:59"), p.team_b),
        ):
            week = {d: [{"start": hours[0], "end": hours[1]}] for d in ("mon", "tue", "wed", "thu", "fri")}
            data = CalendarCreate.model_validate(
                {"name": name, "time_zone": "UTC", "week": week, "team_ids": [team_id]}
            )
            business_hours.create_calendar(session, p.admin.actor, data=data)
    desk.policy(p.team_a)
    desk.policy(p.team_b)
    desk.presence(p.agent, "online")
    billing = desk.chat(p.team_b)  # Monday 09:00 UTC: Support works, Billing's night shift is far off
    support = desk.chat(p.team_a)
    desk.run()
    assert desk.assignee(support) == p.agent.user_id and desk.waiting() == [billing]


def test_conversations_nobody_can_take_are_passed_over_and_the_rest_of_the_queue_still_served(desk: Desk) -> None:
    p = desk.people
    desk.policy(p.team_a, skill_match="strict")
    with desk.db.write() as session:
        accounts_service.update_user(session, p.admin.actor, p.agent.user_id, changes=UserUpdate(languages=["en"]))
        accounts_service.update_user(session, p.admin.actor, p.colleague.user_id, changes=UserUpdate(languages=["ru"]))
    russian = [desk.chat(p.team_a, language="ru") for _ in range(3)]
    english = desk.chat(p.team_a, language="en")
    later_russian = desk.chat(p.team_a, language="ru")
    desk.run()
    desk.presence(p.agent, "online")  # the Russian speaker stays offline
    with desk.db.write() as session:
        drained = service.drain(session, [p.team_a])
    assert drained.assigned == [(english, p.agent.user_id)]
    assert drained.waiting == [*russian, later_russian]


def test_an_agent_routing_has_never_seen_gets_nothing_past_the_load_they_already_carry(desk: Desk) -> None:
    p = desk.people
    desk.presence(p.agent, "online")
    carried = [desk.chat(p.team_a) for _ in range(policies.DEFAULT_CAPACITY["chat"])]
    for ticket_id in carried:
        update(desk.db, p.admin.actor, ticket_id, assignee_id=p.agent.user_id)
    desk.policy(p.team_a)
    desk.run()
    with desk.db.read() as session:
        assert session.get(RoutingAgent, p.agent.user_id) is None  # first seen by the drain below
    arriving = desk.chat(p.team_a)
    desk.run()
    assert desk.assignee(arriving) is None and desk.waiting() == [arriving]
    with desk.db.read() as session:
        assert session.get(RoutingAgent, p.agent.user_id) is not None
