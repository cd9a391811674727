"""The pure routing rules, on hand-computed cases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from okno.routing.policies import (
    Candidate,
    Conversation,
    NoAgent,
    Outcome,
    Policy,
    SkillMatch,
    choose,
    effective_capacity,
    has_room,
    queue_order,
    requirements,
    weighted_load,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(minute: int) -> datetime:
    return T0.replace(minute=minute)


def agent(
    user_id: int,
    *,
    presence: str = "online",
    on_shift: bool = True,
    chat: int = 0,
    email: int = 0,
    capacities: dict[str, int] | None = None,
    languages: str = "",
    skills: str = "",
    last: datetime | None = None,
) -> Candidate:
    return Candidate(
        user_id=user_id,
        presence=presence,
        on_shift=on_shift,
        loads={k: v for k, v in {"chat": chat, "email": email}.items() if v},
        capacities=capacities or {},
        languages=frozenset(languages.split()),
        skills=frozenset(skills.split(",")) if skills else frozenset(),
        last_assigned_at=last,
    )


CHAT = Conversation(ticket_id=100, channel="chat")
EMAIL = Conversation(ticket_id=101, channel="email")
RU_CHAT = Conversation(ticket_id=102, channel="chat", language="ru")
BILLING_EMAIL = Conversation(ticket_id=103, channel="email", language="en", tags=frozenset({"billing", "vip"}))


@pytest.mark.parametrize(
    ("case", "policy", "match", "candidates", "conversation", "chosen"),
    [
        # Weighted loads: 1 chat of 3 = 0.333; 2 emails of 10 = 0.2; 1 chat + 1 email = 0.433.
        ("fewest weighted", Policy.least_loaded, SkillMatch.prefer, [agent(1, chat=1), agent(2, email=2)], CHAT, 2),
        ("chat weighs more", Policy.least_loaded, SkillMatch.prefer, [agent(1, chat=1), agent(2, email=3)], EMAIL, 2),
        # 4 emails (0.4) beat 1 chat + 1 email (0.433) although they are more conversations.
        (
            "weights not counts",
            Policy.least_loaded,
            SkillMatch.prefer,
            [agent(1, chat=1, email=1), agent(2, email=4)],
            EMAIL,
            2,
        ),
        # Equal loads: the agent idle longest (oldest last assignment) wins; never assigned is oldest.
        (
            "tie to idle longest",
            Policy.least_loaded,
            SkillMatch.prefer,
            [agent(1, chat=1, last=at(30)), agent(2, chat=1, last=at(10)), agent(3, chat=1, last=at(20))],
            CHAT,
            2,
        ),
        ("never assigned first", Policy.least_loaded, SkillMatch.prefer, [agent(1, last=at(5)), agent(2)], CHAT, 2),
        ("tie to lowest id", Policy.least_loaded, SkillMatch.prefer, [agent(7), agent(3)], CHAT, 3),
        # At capacity on the channel: nothing new there, however idle; other channels still open.
        (
            "full on chat",
            Policy.least_loaded,
            SkillMatch.prefer,
            [agent(1, chat=3), agent(2, chat=2, email=9)],
            CHAT,
            2,
        ),
        # 3 chats of 3 = 1.0 against 1 chat + 9 emails = 1.233: full on chat, still the one for an email.
        (
            "full chat, email ok",
            Policy.least_loaded,
            SkillMatch.prefer,
            [agent(1, chat=3), agent(2, chat=1, email=9)],
            EMAIL,
            1,
        ),
        (
            "own capacity",
            Policy.least_loaded,
            SkillMatch.prefer,
            [agent(1, chat=3, capacities={"chat": 5}), agent(2, chat=2, capacities={"chat": 2})],
            CHAT,
            1,
        ),
        # Presence and shift.
        (
            "away and offline skipped",
            Policy.least_loaded,
            SkillMatch.prefer,
            [agent(1, presence="away"), agent(2, presence="offline"), agent(3, chat=2)],
            CHAT,
            3,
        ),
        (
            "off shift skipped",
            Policy.least_loaded,
            SkillMatch.prefer,
            [agent(1, on_shift=False), agent(2, chat=2)],
            CHAT,
            2,
        ),
        # Language: a Russian speaker when one is free, even if busier.
        (
            "prefer speaker",
            Policy.least_loaded,
            SkillMatch.prefer,
            [agent(1, languages="en"), agent(2, chat=2, languages="ru en")],
            RU_CHAT,
            2,
        ),
        (
            "prefer falls back",
            Policy.least_loaded,
            SkillMatch.prefer,
            [agent(1, languages="en", chat=1), agent(2, chat=3, languages="ru")],
            RU_CHAT,
            1,
        ),
        (
            "strict waits",
            Policy.least_loaded,
            SkillMatch.strict,
            [agent(1, languages="en"), agent(2, chat=3, languages="ru")],
            RU_CHAT,
            None,
        ),
        # Nobody on the team speaks it: the requirement is dropped.
        (
            "unmeetable dropped",
            Policy.least_loaded,
            SkillMatch.strict,
            [agent(1, languages="en", chat=1), agent(2, languages="ro")],
            RU_CHAT,
            2,
        ),
        # Skills: tags that are someone's skill count; "vip" is nobody's skill, so only billing matters.
        (
            "skill preferred",
            Policy.least_loaded,
            SkillMatch.prefer,
            [agent(1, languages="en"), agent(2, email=5, languages="en", skills="billing")],
            BILLING_EMAIL,
            2,
        ),
        # Language first, then skills: the English speaker without the skill beats the skilled Romanian.
        (
            "language before skills",
            Policy.least_loaded,
            SkillMatch.prefer,
            [agent(1, languages="ro", skills="billing"), agent(2, email=5, languages="en")],
            BILLING_EMAIL,
            2,
        ),
        (
            "strict skills",
            Policy.least_loaded,
            SkillMatch.strict,
            [agent(1, languages="en"), agent(2, languages="en", skills="billing", email=10)],
            BILLING_EMAIL,
            None,
        ),
        # Round robin: in turn, whatever the load.
        (
            "round robin turn",
            Policy.round_robin,
            SkillMatch.prefer,
            [agent(1, last=at(10)), agent(2, chat=2, last=at(5)), agent(3, last=at(20))],
            CHAT,
            2,
        ),
        (
            "round robin capacity",
            Policy.round_robin,
            SkillMatch.prefer,
            [agent(1, chat=3, last=at(1)), agent(2, last=at(9))],
            CHAT,
            2,
        ),
        ("manual", Policy.manual, SkillMatch.prefer, [agent(1)], CHAT, None),
        (
            "excluded",
            Policy.least_loaded,
            SkillMatch.prefer,
            [agent(1), agent(2, chat=2)],
            Conversation(100, "chat", excluded_user_ids=frozenset({1})),
            2,
        ),
    ],
)
def test_choose(
    case: str,
    policy: Policy,
    match: SkillMatch,
    candidates: list[Candidate],
    conversation: Conversation,
    chosen: int | None,
) -> None:
    assert choose(policy, match, candidates, conversation).agent_id == chosen, case


def test_the_reason_names_every_candidate_and_why() -> None:
    people = [
        agent(1, presence="away"),
        agent(2, on_shift=False),
        agent(3, chat=3, languages="ru"),
        agent(4, chat=1, languages="ru"),
        agent(5, chat=2, languages="ru"),
        agent(6, languages="en"),
        agent(7, presence="offline"),
    ]
    decision = choose(Policy.least_loaded, SkillMatch.prefer, people, RU_CHAT)
    assert decision.agent_id == 4
    assert decision.language == "ru" and decision.skills == ()
    assert [(c.user_id, c.outcome, c.load, c.capacity) for c in decision.considered] == [
        (1, Outcome.away, 0, 3),
        (2, Outcome.off_shift, 0, 3),
        (3, Outcome.at_capacity, 3, 3),
        (4, Outcome.chosen, 1, 3),
        (5, Outcome.not_next, 2, 3),
        (6, Outcome.less_suited, 0, 3),
        (7, Outcome.offline, 0, 3),
    ]
    assert decision.reason(team_id=9, channel="chat") == {
        "policy": "least_loaded",
        "team_id": 9,
        "channel": "chat",
        "language": "ru",
        "skills": [],
        "candidates": [
            {"user_id": 1, "outcome": "away", "load": 0, "capacity": 3},
            {"user_id": 2, "outcome": "off_shift", "load": 0, "capacity": 3},
            {"user_id": 3, "outcome": "at_capacity", "load": 3, "capacity": 3},
            {"user_id": 4, "outcome": "chosen", "load": 1, "capacity": 3},
            {"user_id": 5, "outcome": "not_next", "load": 2, "capacity": 3},
            {"user_id": 6, "outcome": "less_suited", "load": 0, "capacity": 3},
            {"user_id": 7, "outcome": "offline", "load": 0, "capacity": 3},
        ],
    }


@pytest.mark.parametrize(
    ("candidates", "match", "conversation", "why"),
    [
        ([], SkillMatch.prefer, CHAT, NoAgent.no_candidates),
        ([agent(1, presence="away"), agent(2, on_shift=False)], SkillMatch.prefer, CHAT, NoAgent.nobody_available),
        ([agent(1, chat=3), agent(2, presence="offline")], SkillMatch.prefer, CHAT, NoAgent.all_at_capacity),
        (
            [agent(1, languages="en"), agent(2, languages="ru", presence="away")],
            SkillMatch.strict,
            RU_CHAT,
            NoAgent.nobody_suitable,
        ),
    ],
)
def test_why_nobody(candidates: list[Candidate], match: SkillMatch, conversation: Conversation, why: NoAgent) -> None:
    decision = choose(Policy.least_loaded, match, candidates, conversation)
    assert decision.agent_id is None and decision.why_none == why


@pytest.mark.parametrize(
    ("capacities", "channel", "expected"),
    [
        ({}, "chat", 3),
        ({}, "email", 10),
        ({}, "phone", 1),
        ({"chat": 5}, "chat", 5),
        ({"chat": 0}, "chat", 0),
        ({}, "fax", 10),
    ],
)
def test_capacity(capacities: dict[str, int], channel: str, expected: int) -> None:
    assert effective_capacity(capacities, channel) == expected


@pytest.mark.parametrize(
    ("chat", "email", "capacities", "expected"),
    [(0, 0, {}, 0.0), (3, 0, {}, 1.0), (1, 5, {}, 1 / 3 + 0.5), (2, 0, {"chat": 4}, 0.5), (2, 0, {"chat": 0}, 2.0)],
)
def test_weighted_load(chat: int, email: int, capacities: dict[str, int], expected: float) -> None:
    assert weighted_load(agent(1, chat=chat, email=email, capacities=capacities)) == pytest.approx(expected)


def test_requirements_count_only_what_someone_could_meet() -> None:
    people = [agent(1, languages="en", skills="Billing"), agent(2, languages="ro", skills="hardware")]
    conversation = Conversation(1, "email", language="RU", tags=frozenset({"billing", "urgent", "hardware"}))
    assert requirements(people, conversation) == (None, frozenset({"billing", "hardware"}))
    assert requirements(people, Conversation(1, "email", language="ro")) == ("ro", frozenset())


def test_queue_order_is_priority_then_waiting_time() -> None:
    waiting = [
        Conversation(1, "chat", priority_rank=1, waiting_since=at(1)),
        Conversation(2, "chat", priority_rank=3, waiting_since=at(30)),
        Conversation(3, "chat", priority_rank=1, waiting_since=at(0)),
        Conversation(4, "chat", priority_rank=3, waiting_since=at(30)),
        Conversation(5, "email", priority_rank=2, waiting_since=at(50)),
        Conversation(6, "chat", priority_rank=1, waiting_since=None),  # answered, then handed back
    ]
    assert [c.ticket_id for c in sorted(waiting, key=queue_order)] == [2, 4, 5, 3, 1, 6]


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        (agent(1), True),
        (agent(1, presence="away"), False),
        (agent(1, on_shift=False), False),
        (agent(1, chat=3, capacities={"email": 0, "web": 0, "portal": 0, "api": 0, "phone": 0, "other": 0}), False),
        (agent(1, chat=3, capacities={"email": 1}), True),
    ],
)
def test_has_room(candidate: Candidate, expected: bool) -> None:
    assert has_room(candidate) == expected
