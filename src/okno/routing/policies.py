"""Who gets a conversation: the pure rules of routing (no session, no clock).

Given a team's candidates (presence, shift, load and capacity per channel, languages,
skills, when each was last given a conversation) and one conversation (channel,
language, tags), ``choose`` names the agent, or nobody, and says why: the policy, the
requirements that applied and what became of every candidate. The same reason is
stored in the ``assigned`` event, so one can see later why a ticket went where it went.

- **Eligible**: online, on shift, not excluded for this conversation, below capacity on
  the conversation's channel (an agent at capacity receives nothing new on it), and, when
  the team matches skills strictly, speaking its language and having its skills.
- **Requirements** only count when someone could meet them: the language is required
  when at least one candidate speaks it; the skills are the conversation's tags that are
  some candidate's skill. A requirement no one on the team could ever meet is dropped
  (rather than leaving the conversation waiting forever).
- **Skill match**: ``strict`` leaves the conversation waiting for a suitable agent;
  ``prefer`` gives it to the best-suited eligible agent (language first, then the number
  of skills) and to anyone eligible when no suitable agent is free.
- **least_loaded**: the fewest open conversations weighted by channel (each conversation
  counts ``1 / capacity`` of its channel, so a chat weighs more than an email); ties go
  to the agent idle longest (oldest last assignment, never assigned first), then the
  lowest user id. **round_robin**: in turn, the agent whose last assignment is oldest.
  **manual**: routing leaves the team's conversations alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum


class Policy(StrEnum):
    least_loaded = "least_loaded"
    round_robin = "round_robin"
    manual = "manual"


class SkillMatch(StrEnum):
    prefer = "prefer"
    strict = "strict"


class Outcome(StrEnum):
    """What became of a candidate; the first that applies, in this order."""

    chosen = "chosen"
    excluded = "excluded"  # this conversation may not go to them (they handed it back)
    offline = "offline"
    away = "away"
    off_shift = "off_shift"
    no_language = "no_language"  # strict matching: does not speak the conversation's language
    missing_skills = "missing_skills"  # strict matching: lacks one of its skills
    at_capacity = "at_capacity"
    less_suited = "less_suited"  # eligible, but another eligible agent matches better
    not_next = "not_next"  # eligible and as suited, but the policy chose someone else


class NoAgent(StrEnum):
    """Why nobody was chosen."""

    manual = "manual"
    no_candidates = "no_candidates"  # nobody on the team may own tickets
    nobody_available = "nobody_available"  # nobody online and on shift
    nobody_suitable = "nobody_suitable"  # strict matching: nobody available speaks/knows it
    all_at_capacity = "all_at_capacity"


# Concurrent open conversations per channel when an agent has no capacity of their own.
DEFAULT_CAPACITY: Mapping[str, int] = {
    "chat": 3,
    "email": 10,
    "web": 10,
    "portal": 10,
    "api": 10,
    "phone": 1,
    "other": 10,
}
CHANNELS = tuple(DEFAULT_CAPACITY)
MAX_CAPACITY = 100
# The statuses of an assigned ticket that count towards its agent's load: the agent owes work
# on it or waits on the customer. On hold (waiting on a third party), solved and closed do not.
LOAD_STATUSES = frozenset({"new", "open", "pending"})
# The statuses in which an unassigned ticket waits for routing.
ROUTABLE_STATUSES = frozenset({"new", "open"})

_NEVER = datetime.min.replace(tzinfo=UTC)
_LAST = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Candidate:
    user_id: int
    presence: str  # online, away, offline
    on_shift: bool
    loads: Mapping[str, int]  # open assigned conversations per channel
    capacities: Mapping[str, int]  # the agent's own capacities; other channels use DEFAULT_CAPACITY
    languages: frozenset[str] = frozenset()
    skills: frozenset[str] = frozenset()
    last_assigned_at: datetime | None = None

    def capacity(self, channel: str) -> int:
        return effective_capacity(self.capacities, channel)

    def load(self, channel: str) -> int:
        return self.loads.get(channel, 0)


@dataclass(frozen=True)
class Conversation:
    ticket_id: int
    channel: str
    language: str | None = None
    tags: frozenset[str] = frozenset()
    priority_rank: int = 1
    waiting_since: datetime | None = None
    excluded_user_ids: frozenset[int] = frozenset()

    @property
    def kind(self) -> tuple[str, str | None, frozenset[str], frozenset[int]]:
        """What ``choose`` looks at: conversations of one kind get the same choice from the same candidates."""
        return (self.channel, self.language, self.tags, self.excluded_user_ids)


@dataclass(frozen=True)
class Considered:
    user_id: int
    outcome: Outcome
    load: int  # open conversations on the conversation's channel
    capacity: int


@dataclass(frozen=True)
class Decision:
    policy: Policy
    agent_id: int | None
    why_none: NoAgent | None
    language: str | None  # the language required (None: no requirement)
    skills: tuple[str, ...]  # the skills required, sorted
    considered: tuple[Considered, ...] = field(default_factory=tuple)

    def reason(self, *, team_id: int, channel: str) -> dict[str, object]:
        """The ``routing`` part of an ``assigned`` event's payload (ids and codes only)."""
        return {
            "policy": self.policy.value,
            "team_id": team_id,
            "channel": channel,
            "language": self.language,
            "skills": list(self.skills),
            "candidates": [
                {"user_id": c.user_id, "outcome": c.outcome.value, "load": c.load, "capacity": c.capacity}
                for c in self.considered
            ],
        }


def effective_capacity(capacities: Mapping[str, int], channel: str) -> int:
    if channel in capacities:
        return max(0, capacities[channel])
    return DEFAULT_CAPACITY.get(channel, DEFAULT_CAPACITY["other"])


def weighted_load(candidate: Candidate) -> float:
    """Open conversations, each counting 1/capacity of its channel (1 where the capacity is 0)."""
    return sum(count / max(candidate.capacity(channel), 1) for channel, count in candidate.loads.items() if count)


def requirements(candidates: Iterable[Candidate], conversation: Conversation) -> tuple[str | None, frozenset[str]]:
    """The language and skills that count: those at least one candidate could meet."""
    people = list(candidates)
    wanted = conversation.language.lower() if conversation.language else None
    language = wanted if wanted and any(wanted in c.languages for c in people) else None
    known = {s.casefold() for c in people for s in c.skills}
    skills = frozenset(t.casefold() for t in conversation.tags if t.casefold() in known)
    return language, skills


def _suitability(candidate: Candidate, language: str | None, skills: frozenset[str]) -> tuple[int, int]:
    own = {s.casefold() for s in candidate.skills}
    return (1 if language is None or language in candidate.languages else 0, len(skills & own))


def _hard_outcome(
    candidate: Candidate, conversation: Conversation, match: SkillMatch, language: str | None, skills: frozenset[str]
) -> Outcome | None:
    """Why this candidate cannot have the conversation at all, or None when they can."""
    if candidate.user_id in conversation.excluded_user_ids:
        return Outcome.excluded
    if candidate.presence != "online":
        return Outcome.away if candidate.presence == "away" else Outcome.offline
    if not candidate.on_shift:
        return Outcome.off_shift
    if match == SkillMatch.strict:
        speaks, known = _suitability(candidate, language, skills)
        if not speaks:
            return Outcome.no_language
        if known < len(skills):
            return Outcome.missing_skills
    if candidate.load(conversation.channel) >= candidate.capacity(conversation.channel):
        return Outcome.at_capacity
    return None


def _order_key(policy: Policy, candidate: Candidate) -> tuple[float, datetime, int]:
    idle_since = candidate.last_assigned_at or _NEVER
    if policy == Policy.least_loaded:
        return (weighted_load(candidate), idle_since, candidate.user_id)
    return (0.0, idle_since, candidate.user_id)


def choose(policy: Policy, match: SkillMatch, candidates: Iterable[Candidate], conversation: Conversation) -> Decision:
    people = sorted(candidates, key=lambda c: c.user_id)
    language, skills = requirements(people, conversation)
    sorted_skills = tuple(sorted(skills))
    if policy == Policy.manual:
        return Decision(policy, None, NoAgent.manual, language, sorted_skills)
    if not people:
        return Decision(policy, None, NoAgent.no_candidates, language, sorted_skills)
    channel = conversation.channel
    hard = {c.user_id: _hard_outcome(c, conversation, match, language, skills) for c in people}
    eligible = [c for c in people if hard[c.user_id] is None]
    best = max((_suitability(c, language, skills) for c in eligible), default=None)
    suited = [c for c in eligible if _suitability(c, language, skills) == best]
    chosen = min(suited, key=lambda c: _order_key(policy, c)) if suited else None

    def outcome(c: Candidate) -> Outcome:
        if chosen is not None and c.user_id == chosen.user_id:
            return Outcome.chosen
        found = hard[c.user_id]
        if found is not None:
            return found
        return Outcome.not_next if _suitability(c, language, skills) == best else Outcome.less_suited

    considered = tuple(Considered(c.user_id, outcome(c), c.load(channel), c.capacity(channel)) for c in people)
    if chosen is not None:
        return Decision(policy, chosen.user_id, None, language, sorted_skills, considered)
    outcomes = {c.outcome for c in considered}
    if outcomes <= {Outcome.excluded, Outcome.offline, Outcome.away, Outcome.off_shift}:
        why = NoAgent.nobody_available
    elif Outcome.at_capacity in outcomes:
        why = NoAgent.all_at_capacity
    else:
        why = NoAgent.nobody_suitable
    return Decision(policy, None, why, language, sorted_skills, considered)


def queue_order(conversation: Conversation) -> tuple[int, datetime, int]:
    """Waiting conversations are served by priority (urgent first), then by how long the customer has
    waited (those nobody waits on, answered before they were handed back, last), then by id."""
    return (-conversation.priority_rank, conversation.waiting_since or _LAST, conversation.ticket_id)


def channels_with_room(candidate: Candidate) -> set[str]:
    """The channels on which the candidate could take a conversation now (none unless online and on shift)."""
    if candidate.presence != "online" or not candidate.on_shift:
        return set()
    return {ch for ch in CHANNELS if candidate.load(ch) < candidate.capacity(ch)}


def has_room(candidate: Candidate) -> bool:
    return bool(channels_with_room(candidate))
