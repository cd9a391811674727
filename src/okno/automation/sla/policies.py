"""Which SLA policy a ticket falls under, and what it asks of it (pure: no session, no clock).

Policies are checked in their order; the first enabled one whose conditions all hold wins, so a
narrow policy ("priority plan, urgent") goes above a broad one ("everything else").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from okno.automation.sla.clock import Terms
from okno.automation.sla.schemas import PolicyConditions, PolicyTargets


@dataclass(frozen=True)
class Policy:
    id: int
    name: str
    enabled: bool
    conditions: PolicyConditions
    targets: PolicyTargets
    business_hours: bool
    pause_when_pending: bool


@dataclass(frozen=True)
class Subject:
    """What policies choose by: the ticket as it is now."""

    priority: str
    plan: str
    channel: str
    team_id: int | None


def matches(conditions: PolicyConditions, subject: Subject) -> bool:
    return (
        (not conditions.priorities or subject.priority in conditions.priorities)
        and (not conditions.plans or subject.plan in conditions.plans)
        and (not conditions.channels or subject.channel in conditions.channels)
        and (not conditions.team_ids or subject.team_id in conditions.team_ids)
    )


def choose(ordered: Iterable[Policy], subject: Subject) -> Policy | None:
    """The first enabled policy (in the given order) whose conditions hold for the ticket."""
    return next((p for p in ordered if p.enabled and matches(p.conditions, subject)), None)


def terms(policy: Policy, priority: str) -> Terms:
    """The policy's targets for a ticket of this priority (a target without minutes for it is left out)."""
    return Terms(minutes=policy.targets.minutes(priority), pause_when_pending=policy.pause_when_pending)
