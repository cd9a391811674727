"""SLA policies: managing them (admins), and the ordered list the clock chooses from.

Every change is checked before anything is written: a refused change leaves the policies as they
were. Positions are kept 1, 2, 3 … without gaps; moving or inserting a policy shifts the others.
A changed policy applies to a ticket from the ticket's next change (or the next sweep that looks
at it), worked out again from the ticket's start.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts import queries as accounts_queries
from okno.accounts.permissions import Actor, require_admin, require_staff
from okno.automation.sla import policies
from okno.automation.sla.models import SlaPolicy
from okno.automation.sla.schemas import (
    MAX_POLICIES,
    PolicyConditions,
    PolicyTargets,
    SlaPolicyCreate,
    SlaPolicyRead,
    SlaPolicyUpdate,
)
from okno.db import utcnow
from okno.errors import Invalid, NotFound


def _ordered() -> sa.Select[SlaPolicy]:
    return sa.select(SlaPolicy).order_by(SlaPolicy.position, SlaPolicy.id)


def list_policies(session: Session, actor: Actor) -> list[SlaPolicy]:
    """Every policy in the order they are checked. Staff may read them (the ticket page names them)."""
    require_staff(actor)
    return list(session.scalars(_ordered()))


def get_policy(session: Session, actor: Actor, policy_id: int) -> SlaPolicy:
    require_staff(actor)
    policy = session.get(SlaPolicy, policy_id)
    if policy is None:
        raise NotFound("SLA policy not found.")
    return policy


def policy_names(session: Session, policy_ids: set[int]) -> dict[int, str]:
    if not policy_ids:
        return {}
    rows = session.execute(sa.select(SlaPolicy.id, SlaPolicy.name).where(SlaPolicy.id.in_(sorted(policy_ids))))
    return {policy_id: name for policy_id, name in rows}


def to_read(policy: SlaPolicy) -> SlaPolicyRead:
    return SlaPolicyRead(
        id=policy.id,
        name=policy.name,
        position=policy.position,
        enabled=policy.enabled,
        conditions=PolicyConditions.model_validate(policy.conditions or {}),
        targets=PolicyTargets.model_validate(policy.targets),
        business_hours=policy.business_hours,
        pause_when_pending=policy.pause_when_pending,
        created_at=policy.created_at,
        updated_at=policy.updated_at,
    )


def rules(session: Session) -> list[policies.Policy]:
    """The policies as the clock chooses from them, in order (disabled ones included, and skipped there)."""
    found = []
    for row in session.scalars(_ordered()):
        read = to_read(row)
        found.append(
            policies.Policy(
                id=read.id,
                name=read.name,
                enabled=read.enabled,
                conditions=read.conditions,
                targets=read.targets,
                business_hours=read.business_hours,
                pause_when_pending=read.pause_when_pending,
            )
        )
    return found


def _check(session: Session, *, name: str, conditions: PolicyConditions, policy_id: int | None) -> None:
    same_name = sa.select(SlaPolicy.id).where(
        sa.func.lower(SlaPolicy.name) == name.lower(), SlaPolicy.id != (policy_id or 0)
    )
    if session.scalar(same_name) is not None:
        raise Invalid("a policy with this name exists", field="name")
    unknown = [t for t in conditions.team_ids if not accounts_queries.team_exists(session, t)]
    if unknown:
        raise Invalid(f"no such team: {', '.join(map(str, unknown))}", field="conditions.team_ids")


def _place(session: Session, policy: SlaPolicy, position: int | None) -> None:
    """Puts the policy at ``position`` (clamped to the end) and renumbers the others 1, 2, 3 …"""
    others = [p for p in session.scalars(_ordered().with_for_update()) if p.id != policy.id]
    index = len(others) if position is None else min(max(position, 1), len(others) + 1) - 1
    others.insert(index, policy)
    for number, row in enumerate(others, start=1):
        if row.position != number:
            row.position = number


def create_policy(session: Session, actor: Actor, *, data: SlaPolicyCreate) -> SlaPolicy:
    require_admin(actor)
    _check(session, name=data.name, conditions=data.conditions, policy_id=None)
    if (session.scalar(sa.select(sa.func.count()).select_from(SlaPolicy)) or 0) >= MAX_POLICIES:
        raise Invalid(f"there are already {MAX_POLICIES} policies; delete one first", field="name")
    now = utcnow(session)
    policy = SlaPolicy(
        name=data.name,
        position=0,
        enabled=data.enabled,
        conditions=data.conditions.model_dump(mode="json"),
        targets=data.targets.model_dump(mode="json", exclude_none=True),
        business_hours=data.business_hours,
        pause_when_pending=data.pause_when_pending,
        created_at=now,
        updated_at=now,
    )
    _place(session, policy, data.position)
    session.add(policy)
    session.flush()
    return policy


def update_policy(session: Session, actor: Actor, policy_id: int, *, changes: SlaPolicyUpdate) -> SlaPolicy:
    require_admin(actor)
    policy = get_policy(session, actor, policy_id)
    given = changes.model_fields_set
    conditions = changes.conditions if changes.conditions is not None else PolicyConditions(**policy.conditions)
    _check(session, name=changes.name or policy.name, conditions=conditions, policy_id=policy.id)
    if changes.name is not None:
        policy.name = changes.name
    if changes.conditions is not None:
        policy.conditions = changes.conditions.model_dump(mode="json")
    if changes.targets is not None:
        policy.targets = changes.targets.model_dump(mode="json", exclude_none=True)
    for flag in ("enabled", "business_hours", "pause_when_pending"):
        value = getattr(changes, flag)
        if flag in given and value is not None:
            setattr(policy, flag, value)
    if changes.position is not None:
        _place(session, policy, changes.position)
    policy.updated_at = utcnow(session)
    session.flush()
    return policy


def move_policy(session: Session, actor: Actor, policy_id: int, *, position: int) -> SlaPolicy:
    return update_policy(session, actor, policy_id, changes=SlaPolicyUpdate(position=position))


def delete_policy(session: Session, actor: Actor, policy_id: int) -> None:
    """Tickets under it keep their recorded outcomes; their running targets go with their next change."""
    require_admin(actor)
    policy = get_policy(session, actor, policy_id)
    session.delete(policy)
    session.flush()
    for number, row in enumerate(session.scalars(_ordered().with_for_update()), start=1):
        if row.position != number:
            row.position = number
    session.flush()
