"""Routing settings and loads over the API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, field_validator

from okno.routing.policies import CHANNELS, MAX_CAPACITY, Policy, SkillMatch
from okno.schemas import InputModel, OutputModel


class TeamRoutingUpdate(InputModel):
    policy: Policy | None = Field(
        default=None,
        description="least_loaded (fewest open conversations weighted by channel, ties to the agent idle longest), "
        "round_robin (in turn) or manual (routing leaves the team's tickets alone).",
    )
    skill_match: SkillMatch | None = Field(
        default=None,
        description="prefer: the best-suited free agent, anyone free otherwise; strict: only agents who speak the "
        "conversation's language and have its skills (a requirement nobody on the team meets is dropped).",
    )


Capacity = Annotated[int, Field(ge=0, le=MAX_CAPACITY)]


class AgentRoutingUpdate(InputModel):
    capacities: dict[str, Capacity | None] = Field(
        description=f"Most concurrent open conversations per channel ({', '.join(CHANNELS)}); 0 receives none "
        "on that channel, null goes back to the default."
    )

    @field_validator("capacities")
    @classmethod
    def _known_channels(cls, values: dict[str, int | None]) -> dict[str, int | None]:
        unknown = sorted(set(values) - set(CHANNELS))
        if unknown:
            raise ValueError(f"unknown channel {', '.join(unknown)}; use one of {', '.join(CHANNELS)}")
        return values


class AgentLoad(OutputModel):
    user_id: int
    name: str
    presence: str
    languages: list[str]
    skills: list[str]
    loads: dict[str, int] = Field(description="Open assigned conversations (new, open, pending) per channel.")
    capacities: dict[str, int] = Field(description="The capacity in force on every channel.")
    own_capacities: dict[str, int] = Field(description="Capacities set for this agent (others are defaults).")
    last_assigned_at: datetime | None


class TeamRoutingRead(OutputModel):
    team_id: int
    name: str
    policy: Policy
    skill_match: SkillMatch
    waiting: int = Field(description="Conversations waiting for an agent with room.")
    oldest_waiting_since: datetime | None


class TeamLoadRead(TeamRoutingRead):
    agents: list[AgentLoad]
