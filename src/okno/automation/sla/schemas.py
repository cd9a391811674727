"""SLA policies over the API, and a ticket's SLA clock as it reads back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, field_validator, model_validator

from okno.automation.sla.clock import Outcome, TargetKind
from okno.customers.models import Plan
from okno.schemas import Id, InputModel, OutputModel
from okno.tickets.models import Channel, Priority

MAX_POLICIES = 200  # checked in order for every ticket

MAX_MINUTES = 365 * 24 * 60  # a year: anything longer is a typo


class TargetMinutes(InputModel):
    """Minutes for one target: ``default`` for every priority, or per priority (which wins over it).

    A priority with neither has no such target."""

    default: int | None = Field(default=None, ge=1, le=MAX_MINUTES)
    low: int | None = Field(default=None, ge=1, le=MAX_MINUTES)
    normal: int | None = Field(default=None, ge=1, le=MAX_MINUTES)
    high: int | None = Field(default=None, ge=1, le=MAX_MINUTES)
    urgent: int | None = Field(default=None, ge=1, le=MAX_MINUTES)

    def for_priority(self, priority: str) -> int | None:
        own = getattr(self, Priority(priority).value)
        return int(own) if own is not None else self.default

    @property
    def empty(self) -> bool:
        return all(v is None for v in self.model_dump().values())


class PolicyTargets(InputModel):
    first_response: TargetMinutes = Field(
        default_factory=TargetMinutes, description="From the ticket's creation to the first public reply by an agent."
    )
    next_response: TargetMinutes = Field(
        default_factory=TargetMinutes,
        description="From a customer's message after they were answered to the agent's next public reply.",
    )
    resolution: TargetMinutes = Field(
        default_factory=TargetMinutes, description="From the ticket's creation until it is solved."
    )

    def minutes(self, priority: str) -> dict[TargetKind, int]:
        found = {kind: getattr(self, kind.value).for_priority(priority) for kind in TargetKind}
        return {kind: value for kind, value in found.items() if value is not None}

    @model_validator(mode="after")
    def _some_target(self) -> PolicyTargets:
        if all(getattr(self, kind.value).empty for kind in TargetKind):
            raise ValueError("give at least one target in minutes")
        return self


class PolicyConditions(InputModel):
    """Which tickets the policy is for; every condition given must hold, an empty list holds for all."""

    priorities: list[Priority] = Field(default_factory=list, max_length=len(Priority))
    plans: list[Plan] = Field(default_factory=list, max_length=len(Plan), description="The customer's plan.")
    channels: list[Channel] = Field(default_factory=list, max_length=len(Channel))
    team_ids: list[Id] = Field(default_factory=list, max_length=200)

    @field_validator("priorities", "plans", "channels", "team_ids")
    @classmethod
    def _distinct(cls, value: list[Any]) -> list[Any]:
        return sorted(set(value))


class SlaPolicyCreate(InputModel):
    name: str = Field(min_length=1, max_length=120)
    enabled: bool = True
    position: int | None = Field(
        default=None, ge=1, le=MAX_POLICIES, description="Its place in the order (1 is checked first); default: last."
    )
    conditions: PolicyConditions = Field(default_factory=PolicyConditions)
    targets: PolicyTargets
    business_hours: bool = Field(
        default=True,
        description="Count only the open hours of the ticket's team's calendar (the default calendar, or "
        "every hour when there is none); false: calendar time.",
    )
    pause_when_pending: bool = Field(
        default=True, description="Stop the clocks while the ticket is pending (waiting on the customer)."
    )


class SlaPolicyUpdate(InputModel):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    enabled: bool | None = None
    position: int | None = Field(default=None, ge=1, le=MAX_POLICIES, description="Move it to this place in the order.")
    conditions: PolicyConditions | None = Field(default=None, description="Replaces the conditions as a whole.")
    targets: PolicyTargets | None = Field(default=None, description="Replaces the targets as a whole.")
    business_hours: bool | None = None
    pause_when_pending: bool | None = None


class SlaPolicyRead(OutputModel):
    id: int
    name: str
    position: int
    enabled: bool
    conditions: PolicyConditions
    targets: PolicyTargets
    business_hours: bool
    pause_when_pending: bool
    created_at: datetime
    updated_at: datetime


class SlaClockRead(OutputModel):
    """One SLA target of a ticket, as of the moment it was read."""

    kind: TargetKind
    cycle: int = Field(description="0 for first response and resolution; 1, 2, … for each next response.")
    policy_id: int | None
    business_hours: bool
    target_minutes: int
    started_at: datetime
    due_at: datetime | None = Field(description="Null while the clock is paused.")
    remaining_seconds: int | None = Field(
        description="Running: seconds until due. Paused: the target time left (business time for a "
        "business-hours policy). Null once met or breached."
    )
    breached_by_seconds: int | None = Field(description="How late: until it was met, or until now.")
    paused: bool
    outcome: Outcome
    achieved_at: datetime | None
    breached_at: datetime | None
