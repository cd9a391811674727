"""Shapes of the spam filter's settings, rules and the marking of tickets, as the API and pages take them."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from okno.channels.spam.scoring import RuleAction, RuleField, RuleMatch
from okno.schemas import InputModel, OutputModel

MAX_THRESHOLD = 1000.0
MAX_WEIGHT = 100.0


class SpamSettingsUpdate(InputModel):
    """Only the fields sent change."""

    enabled: bool | None = None
    threshold: float | None = Field(default=None, gt=0, le=MAX_THRESHOLD)


class SpamSettingsRead(OutputModel):
    enabled: bool
    threshold: float
    updated_at: datetime | None = None


class SpamRuleIn(InputModel):
    """A rule as created; ``SpamRuleUpdate``: only the fields sent change. A score rule needs a weight."""

    field: RuleField
    match: RuleMatch
    value: str = Field(min_length=1, max_length=500)
    action: RuleAction = RuleAction.score
    weight: float = Field(default=0.0, ge=-MAX_WEIGHT, le=MAX_WEIGHT)
    note: str = Field(default="", max_length=200)


class SpamRuleUpdate(InputModel):
    field: RuleField | None = None
    match: RuleMatch | None = None
    value: str | None = Field(default=None, min_length=1, max_length=500)
    action: RuleAction | None = None
    weight: float | None = Field(default=None, ge=-MAX_WEIGHT, le=MAX_WEIGHT)
    note: str | None = Field(default=None, max_length=200)


class SpamRuleRead(OutputModel):
    id: int
    field: RuleField
    match: RuleMatch
    value: str
    action: RuleAction
    weight: float
    note: str
    ticket_id: int | None = Field(description="The ticket whose marking as spam blocked the sender, if made so.")
    created_by_id: int | None
    created_at: datetime
    updated_at: datetime


class SpamMark(InputModel):
    block_sender: bool = Field(
        default=False, description="Also block the ticket's customer: their next new mail goes to spam at once."
    )
