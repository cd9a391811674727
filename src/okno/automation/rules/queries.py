"""Read-only facts about rules that other domains show: their names (the timeline, notifications)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.automation.rules.models import Rule


def names(session: Session, rule_ids: set[int]) -> dict[int, str]:
    if not rule_ids:
        return {}
    return {
        rule_id: name for rule_id, name in session.execute(sa.select(Rule.id, Rule.name).where(Rule.id.in_(rule_ids)))
    }
