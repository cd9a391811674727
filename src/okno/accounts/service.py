"""Users, teams, sign-in and API tokens."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from okno.accounts import rate_limits
from okno.accounts.models import STAFF_ROLES, ApiToken, Role, Team, TeamMembership, User, WebSession
from okno.accounts.permissions import Actor, forbid_fields, require_admin, require_staff
from okno.accounts.schemas import SELF_EDITABLE, TeamCreate, TeamMembers, TeamUpdate, UserCreate, UserUpdate
from okno.accounts.security import hash_api_token, hash_password, new_api_token, verify_password
from okno.customers import queries as customers_queries
from okno.db import utcnow
from okno.errors import Conflict, Invalid, NotFound, Unauthorized
from okno.tickets import changes as tickets_changes


def actor_for(session: Session, user: User, team_ids: frozenset[int] | None = None) -> Actor:
    if team_ids is None:
        team_ids = frozenset(
            session.scalars(sa.select(TeamMembership.team_id).where(TeamMembership.user_id == user.id))
        )
    shared_org = None
    if user.role == Role.customer and user.customer_id is not None:
        shared_org = customers_queries.shared_organization_of(session, user.customer_id)
    return Actor(
        role=Role(user.role),
        user_id=user.id,
        name=user.name,
        team_ids=team_ids,
        limited_to_teams=user.limited_to_teams,
        customer_id=user.customer_id,
        shared_organization_id=shared_org,
    )


# Every API request starts here: the user and their teams in one round trip (a row per team), by a
# statement built once.
_TOKEN_HOLDER = (
    sa.select(User, TeamMembership.team_id)
    .join(ApiToken, ApiToken.user_id == User.id)
    .outerjoin(TeamMembership, TeamMembership.user_id == User.id)
    .where(
        ApiToken.token_hash == sa.bindparam("token_hash"),
        ApiToken.revoked_at.is_(None),
        User.is_active.is_(True),
    )
)


def actor_for_token(session: Session, token: str) -> Actor:
    rows = session.execute(_TOKEN_HOLDER, {"token_hash": hash_api_token(token)}).all()
    if not rows:
        raise Unauthorized("The token is unknown, revoked, or its user is deactivated.")
    team_ids = frozenset(team_id for _, team_id in rows if team_id is not None)
    return actor_for(session, rows[0][0], team_ids)


def get_user(session: Session, actor: Actor, user_id: int) -> User:
    if not actor.is_staff and actor.user_id != user_id:
        raise NotFound("User not found.")
    user = session.scalar(sa.select(User).where(User.id == user_id).options(selectinload(User.teams)))
    if user is None:
        raise NotFound("User not found.")
    return user


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(sa.select(User).where(User.email == email.strip().lower()))


def _set_teams(session: Session, user: User, team_ids: list[int]) -> None:
    wanted = set(team_ids)
    found = set(session.scalars(sa.select(Team.id).where(Team.id.in_(wanted))))
    if missing := sorted(wanted - found):
        raise Invalid(f"unknown team ids: {missing}", field="team_ids")
    session.execute(sa.delete(TeamMembership).where(TeamMembership.user_id == user.id))
    session.add_all(TeamMembership(user_id=user.id, team_id=team_id) for team_id in sorted(wanted))


def _check_customer_link(session: Session, role: Role, customer_id: int | None) -> None:
    if role == Role.customer and customer_id is None:
        raise Invalid("a customer account must name its customer", field="customer_id")
    if role != Role.customer and customer_id is not None:
        raise Invalid("only customer accounts link to a customer", field="customer_id")
    if customer_id is not None and not customers_queries.customer_exists(session, customer_id):
        raise Invalid("no such customer", field="customer_id")


def create_user(session: Session, actor: Actor, *, data: UserCreate) -> User:
    require_admin(actor)
    email = str(data.email).lower()
    if find_user_by_email(session, email) is not None:
        raise Conflict("A user with this email exists.", code="email_taken")
    _check_customer_link(session, data.role, data.customer_id)
    now = utcnow(session)
    user = User(
        email=email,
        name=data.name,
        role=data.role,
        password_hash=hash_password(data.password) if data.password else None,
        is_active=True,
        customer_id=data.customer_id,
        limited_to_teams=data.limited_to_teams,
        languages=[code.lower() for code in data.languages],
        skills=data.skills,
        locale=data.locale,
        time_zone=data.time_zone,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    session.flush()
    _set_teams(session, user, data.team_ids)
    session.flush()
    return get_user(session, actor, user.id)


def update_user(session: Session, actor: Actor, user_id: int, *, changes: UserUpdate) -> User:
    given = set(changes.model_dump(exclude_unset=True))
    if actor.role != Role.admin:
        if actor.user_id != user_id:
            raise (
                NotFound("User not found.")
                if not actor.is_staff
                else Conflict("Only an administrator may change other users.", code="forbidden")
            )
        forbid_fields(actor, given, SELF_EDITABLE)
    user = get_user(session, actor, user_id)
    if changes.role is not None and (changes.role == Role.customer) != (user.role == Role.customer):
        raise Invalid("staff and customer accounts cannot be converted into each other", field="role")
    _keep_an_admin(
        session,
        user,
        role=changes.role or Role(user.role),
        active=user.is_active if changes.is_active is None else changes.is_active,
    )
    if changes.role is not None:
        user.role = changes.role
    for name in ("name", "limited_to_teams", "skills", "locale", "time_zone"):
        value = getattr(changes, name)
        if value is not None:
            setattr(user, name, value)
    if changes.languages is not None:
        user.languages = [code.lower() for code in changes.languages]
    if changes.password is not None:
        user.password_hash = hash_password(changes.password)
    if changes.team_ids is not None:
        _set_teams(session, user, changes.team_ids)
    if changes.is_active is False and user.is_active:
        deactivate_user(session, actor, user.id)
    elif changes.is_active is True and not user.is_active:
        user.is_active = True
        user.deactivated_at = None
    user.updated_at = utcnow(session)
    session.flush()
    session.expire(user, ["teams"])
    return get_user(session, actor, user.id)


def _keep_an_admin(session: Session, user: User, *, role: Role, active: bool) -> None:
    """The help desk always keeps an active administrator: without one, nobody could manage it.

    Every active administrator's row is locked in id order, so two administrators demoting
    each other at the same moment cannot both succeed (the second one sees the first change).
    """
    if user.role != Role.admin or not user.is_active or (role == Role.admin and active):
        return
    admins = session.scalars(
        sa.select(User.id).where(User.role == Role.admin, User.is_active.is_(True)).order_by(User.id).with_for_update()
    ).all()
    if not [admin_id for admin_id in admins if admin_id != user.id]:
        raise Conflict(
            "This is the last active administrator; make someone else an administrator first.", code="last_admin"
        )


def deactivate_user(session: Session, actor: Actor, user_id: int) -> int:
    """Keeps the user's history; revokes their tokens and hands their open tickets back to their teams.

    Returns how many open tickets went back.
    """
    require_admin(actor)
    user = get_user(session, actor, user_id)
    if actor.user_id == user.id:
        raise Conflict("You cannot deactivate yourself.", code="self_deactivation")
    _keep_an_admin(session, user, role=Role(user.role), active=False)
    now = utcnow(session)
    user.is_active = False
    user.deactivated_at = now
    session.execute(
        sa.update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).values(revoked_at=now)
    )
    session.execute(sa.delete(WebSession).where(WebSession.user_id == user.id))
    handed_back = 0
    if user.role in STAFF_ROLES:
        handed_back = tickets_changes.release_assignments(
            session, actor, assignee_id=user.id, reason="assignee_deactivated"
        )
    session.flush()
    return handed_back


def list_users(
    session: Session,
    actor: Actor,
    *,
    role: Role | None = None,
    active: bool | None = None,
    staff_only: bool = False,
) -> list[User]:
    require_staff(actor)
    query = sa.select(User).options(selectinload(User.teams)).order_by(User.id)
    if role is not None:
        query = query.where(User.role == role)
    if staff_only:
        query = query.where(User.role.in_(sorted(STAFF_ROLES)))
    if active is not None:
        query = query.where(User.is_active.is_(active))
    return list(session.scalars(query))


def login(session: Session, *, email: str, password: str, client: str, max_failures: int, window_s: int) -> User:
    """Checks the password; refuses while this address or client has too many recent failures.

    Raises Unauthorized on a bad password; the caller records the failure in its own
    transaction, since this one is rolled back with the error.
    """
    rate_limits.check(
        session,
        [
            rate_limits.Limit(f"email:{email.lower()}", max_failures, window_s),
            rate_limits.Limit(f"client:{client}", max_failures * 5, window_s),
        ],
        message="Too many failed sign-ins; try again later.",
    )
    user = find_user_by_email(session, email)
    if not verify_password(user.password_hash if user else None, password) or user is None or not user.is_active:
        raise Unauthorized("Wrong email or password.")
    return user


def record_login_failure(session: Session, *, email: str, client: str) -> None:
    rate_limits.record(session, [f"email:{email.lower()}", f"client:{client}"])


def issue_token(session: Session, user: User, *, name: str = "") -> tuple[ApiToken, str]:
    if not user.is_active:
        raise Invalid("the user is deactivated", field="email")
    token = new_api_token()
    row = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=hash_api_token(token),
        prefix=token[:12],
        created_at=utcnow(session),
    )
    session.add(row)
    session.flush()
    return row, token


def revoke_token(session: Session, actor: Actor, token_id: int) -> None:
    row = session.get(ApiToken, token_id)
    if row is None or (row.user_id != actor.user_id and actor.role != Role.admin):
        raise NotFound("Token not found.")
    row.revoked_at = row.revoked_at or utcnow(session)


def create_team(session: Session, actor: Actor, *, data: TeamCreate) -> Team:
    require_admin(actor)
    if session.scalar(sa.select(Team.id).where(Team.name == data.name)) is not None:
        raise Conflict("A team with this name exists.", code="name_taken")
    team = Team(name=data.name, description=data.description, created_at=utcnow(session))
    session.add(team)
    session.flush()
    return team


def get_team(session: Session, actor: Actor, team_id: int) -> Team:
    require_staff(actor)
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound("Team not found.")
    return team


def update_team(session: Session, actor: Actor, team_id: int, *, changes: TeamUpdate) -> Team:
    require_admin(actor)
    team = get_team(session, actor, team_id)
    if changes.name is not None and changes.name != team.name:
        if session.scalar(sa.select(Team.id).where(Team.name == changes.name)) is not None:
            raise Conflict("A team with this name exists.", code="name_taken")
        team.name = changes.name
    if changes.description is not None:
        team.description = changes.description
    session.flush()
    return team


def delete_team(session: Session, actor: Actor, team_id: int) -> None:
    require_admin(actor)
    team = get_team(session, actor, team_id)
    if tickets_changes.team_has_tickets(session, team.id):
        raise Conflict("The team still has tickets; move them to another team first.", code="in_use")
    session.delete(team)
    session.flush()


def list_teams(session: Session, actor: Actor) -> list[Team]:
    require_staff(actor)
    return list(session.scalars(sa.select(Team).order_by(Team.name)))


def relink_customer_accounts(session: Session, actor: Actor, *, from_customer_id: int, to_customer_id: int) -> int:
    """Points the sign-in accounts of one customer record at another (records of one person merged)."""
    require_staff(actor)
    result = session.execute(
        sa.update(User).where(User.customer_id == from_customer_id).values(customer_id=to_customer_id)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def customer_account(session: Session, *, customer_id: int, email: str, name: str, locale: str) -> User | None:
    """The portal account of a customer, made on their first sign-in; None when none may be used.

    Called once the customer proved they read mail at ``email`` (a magic link). An address that
    belongs to a member of staff, or to another customer's account, or a deactivated account,
    gives None: the portal never signs anyone into an account that is not theirs.
    """
    address = email.strip().lower()
    by_email = find_user_by_email(session, address)
    if by_email is not None:
        if by_email.role == Role.customer and by_email.customer_id == customer_id and by_email.is_active:
            return by_email
        return None
    linked = session.scalars(
        sa.select(User).where(User.customer_id == customer_id, User.role == Role.customer).order_by(User.id)
    ).first()
    if linked is not None:
        return linked if linked.is_active else None
    now = utcnow(session)
    user = User(
        email=address,
        name=name or address,
        role=Role.customer,
        password_hash=None,
        is_active=True,
        customer_id=customer_id,
        limited_to_teams=False,
        languages=[],
        skills=[],
        locale=locale,
        time_zone="UTC",
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    session.flush()
    return user


def set_team_members(session: Session, actor: Actor, team_id: int, *, data: TeamMembers) -> Team:
    """Sets which active staff belong to the team.

    Deactivated people keep their memberships untouched: they are part of the team's history
    and come back with them if the account is reactivated.
    """
    require_admin(actor)
    team = get_team(session, actor, team_id)
    wanted = set(data.user_ids)
    active_staff = sa.select(User.id).where(User.is_active.is_(True), User.role.in_(sorted(STAFF_ROLES)))
    found = set(session.scalars(active_staff.where(User.id.in_(wanted))))
    if missing := sorted(wanted - found):
        raise Invalid(f"not active staff: {missing}", field="user_ids")
    session.execute(
        sa.delete(TeamMembership).where(TeamMembership.team_id == team.id, TeamMembership.user_id.in_(active_staff))
    )
    session.add_all(TeamMembership(user_id=user_id, team_id=team.id) for user_id in sorted(wanted))
    session.flush()
    return team
