"""Chat widgets: their settings, the sites allowed to embed them, their identity secrets.

The chat itself (visitors, the WebSocket, the widget's script) reads a widget through
``settings_by_key`` and asks ``origin_allowed`` before it talks to a page; a site that signs
its visitors' identities uses the secret from ``identity_secret`` (see okno.channels.widget.identity
for the exact message). Settings change only through administrators.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts import presence
from okno.accounts import queries as accounts_queries
from okno.accounts.permissions import Actor, require_admin
from okno.automation.business_hours import service as business_hours
from okno.channels.widget import origins
from okno.channels.widget.identity import verify_identity
from okno.channels.widget.models import ChatWidget, ChatWidgetTopic
from okno.channels.widget.schemas import WidgetCreate, WidgetUpdate
from okno.config import Settings
from okno.crypto import Sealer, sealer_for
from okno.db import utcnow
from okno.errors import Invalid, NotFound

__all__ = [
    "WidgetSettings",
    "WidgetTopic",
    "create_widget",
    "get_widget",
    "identity_secret",
    "list_widgets",
    "origin_allowed",
    "rotate_secret",
    "settings_by_key",
    "team_available",
    "update_widget",
    "verify_identity",
]

# Sealed under their own key derived from the installation's secret (not the mailboxes' one).
SECRET_PURPOSE = b"okno chat widget identity secrets"
SECRET_PREFIX = "wsec_"
# Public keys go into HTML attributes and URLs: letters and digits only.
KEY_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
PRESENCE_TIMEOUT_SECONDS: int = Settings.model_fields["presence_timeout_seconds"].default


@dataclass(frozen=True)
class WidgetTopic:
    id: int
    label: str
    team_id: int | None  # None once the team was deleted: the widget's own team takes the chat


@dataclass(frozen=True)
class WidgetSettings:
    id: int
    key: str
    name: str
    enabled: bool
    allowed_origins: tuple[str, ...]  # normalised: "https://shop.example", scheme://host[:port]
    color: str  # "#rrggbb"
    position: str  # "right" | "left"
    greeting: str  # empty: the widget's own greeting in the visitor's language
    language: str  # "auto" | "en" | "ru"
    team_id: int | None  # default team when no topic is chosen
    topics: tuple[WidgetTopic, ...]  # in the menu's order
    ask_name: bool
    ask_email: bool
    idle_close_minutes: int

    def topic(self, topic_id: int) -> WidgetTopic | None:
        return next((t for t in self.topics if t.id == topic_id), None)


def _settings(widget: ChatWidget, topics: list[ChatWidgetTopic]) -> WidgetSettings:
    return WidgetSettings(
        id=widget.id,
        key=widget.key,
        name=widget.name,
        enabled=widget.enabled,
        allowed_origins=tuple(widget.allowed_origins),
        color=widget.color,
        position=widget.position,
        greeting=widget.greeting,
        language=widget.language,
        team_id=widget.team_id,
        topics=tuple(WidgetTopic(t.id, t.label, t.team_id) for t in topics),
        ask_name=widget.ask_name,
        ask_email=widget.ask_email,
        idle_close_minutes=widget.idle_close_minutes,
    )


def _topics(session: Session, widget_ids: list[int]) -> dict[int, list[ChatWidgetTopic]]:
    found: dict[int, list[ChatWidgetTopic]] = {widget_id: [] for widget_id in widget_ids}
    if widget_ids:
        rows = session.scalars(
            sa.select(ChatWidgetTopic)
            .where(ChatWidgetTopic.widget_id.in_(widget_ids))
            .order_by(ChatWidgetTopic.widget_id, ChatWidgetTopic.position, ChatWidgetTopic.id)
        )
        for topic in rows:
            found[topic.widget_id].append(topic)
    return found


def _read(session: Session, widget: ChatWidget) -> WidgetSettings:
    return _settings(widget, _topics(session, [widget.id])[widget.id])


# ---- what the chat reads ----


def settings_by_key(session: Session, key: str) -> WidgetSettings:
    """The enabled widget with this public key; ``NotFound`` when there is none (or it is disabled)."""
    widget = session.scalar(sa.select(ChatWidget).where(ChatWidget.key == key))
    if widget is None or not widget.enabled:
        raise NotFound("No such chat widget.", code="widget_not_found")
    return _read(session, widget)


def origin_allowed(settings: WidgetSettings, origin: str | None) -> bool:
    """Whether a page of ``origin`` (the request's ``Origin`` header) may use the widget.

    Exact match of scheme, host and port after normalisation; no origin, or ``null``, never.
    """
    return origins.is_allowed(settings.allowed_origins, origin)


def identity_secret(session: Session, widget_id: int, *, sealer: Sealer | None = None) -> bytes:
    """The widget's secret for HMAC-signed visitor identities: the text shown to admins, as bytes.

    ``sealer`` defaults to the installation's (the session's runtime knows the secret key).
    """
    widget = session.get(ChatWidget, widget_id)
    if widget is None:
        raise NotFound("No such chat widget.", code="widget_not_found")
    return _sealer(session, sealer).unseal(widget.secret_sealed).encode("ascii")


def _sealer(session: Session, sealer: Sealer | None) -> Sealer:
    return sealer if sealer is not None else sealer_for(session, purpose=SECRET_PURPOSE)


def team_available(
    session: Session, team_id: int | None, at: datetime, *, timeout_seconds: int = PRESENCE_TIMEOUT_SECONDS
) -> bool:
    """Whether a chat for ``team_id`` can be answered live at ``at``: the team is on shift (its
    business hours) and one of its agents is online.

    ``None`` (no team) means anyone at all, on the default calendar. Presence counts an agent
    whose pages sent a heartbeat within ``timeout_seconds`` (the ``presence_timeout_seconds`` setting).
    """
    return teams_available(session, [team_id], at, timeout_seconds=timeout_seconds)[team_id]


def teams_available(
    session: Session, team_ids: list[int | None], at: datetime, *, timeout_seconds: int = PRESENCE_TIMEOUT_SECONDS
) -> dict[int | None, bool]:
    """``team_available`` for several teams with one look at presence (the widget's topics)."""
    online = presence.online_teams(session, at=at, timeout_seconds=timeout_seconds)
    found = {}
    for team_id in set(team_ids):
        someone = online.anyone if team_id is None else team_id in online.team_ids
        # Presence first: it is already loaded, and nobody online needs no calendar.
        found[team_id] = someone and business_hours.on_shift(session, team_id, at)
    return found


# ---- administration ----


def list_widgets(session: Session, actor: Actor) -> list[WidgetSettings]:
    require_admin(actor)
    widgets = list(session.scalars(sa.select(ChatWidget).order_by(ChatWidget.name, ChatWidget.id)))
    topics = _topics(session, [w.id for w in widgets])
    return [_settings(w, topics[w.id]) for w in widgets]


def get_widget(session: Session, actor: Actor, widget_id: int) -> WidgetSettings:
    """Any widget, enabled or not, for its admin page."""
    require_admin(actor)
    widget = session.get(ChatWidget, widget_id)
    if widget is None:
        raise NotFound("No such chat widget.", code="widget_not_found")
    return _read(session, widget)


def _check_teams(session: Session, data: WidgetCreate) -> None:
    teams = set(accounts_queries.team_names(session))
    if data.team_id is not None and data.team_id not in teams:
        raise Invalid("No such team.", field="team_id")
    for index, topic in enumerate(data.topics):
        if topic.team_id not in teams:
            raise Invalid("No such team.", field=f"topics.{index}.team_id")


def _new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _new_key(session: Session) -> str:
    while True:  # about 100 random bits: a repeat is not expected, but a key must never be shared
        key = "".join(secrets.choice(KEY_ALPHABET) for _ in range(20))
        if session.scalar(sa.select(ChatWidget.id).where(ChatWidget.key == key)) is None:
            return key


def _apply(widget: ChatWidget, data: WidgetCreate) -> None:
    for name in (
        "name",
        "enabled",
        "color",
        "position",
        "greeting",
        "language",
        "team_id",
        "ask_name",
        "ask_email",
        "idle_close_minutes",
    ):
        setattr(widget, name, getattr(data, name))
    widget.allowed_origins = list(data.allowed_origins)


def create_widget(
    session: Session, actor: Actor, *, data: WidgetCreate, sealer: Sealer | None = None
) -> WidgetSettings:
    """A new widget with a fresh public key and identity secret (read it once with ``identity_secret``)."""
    require_admin(actor)
    _check_teams(session, data)
    for index, topic in enumerate(data.topics):
        if topic.id is not None:
            raise Invalid("A new widget has no topics yet.", field=f"topics.{index}.id")
    now = utcnow(session)
    widget = ChatWidget(
        key=_new_key(session),
        secret_sealed=_sealer(session, sealer).seal(_new_secret()),
        secret_rotated_at=now,
        created_at=now,
        updated_at=now,
    )
    _apply(widget, data)
    session.add(widget)
    session.flush()
    for position, topic in enumerate(data.topics):
        session.add(ChatWidgetTopic(widget_id=widget.id, position=position, label=topic.label, team_id=topic.team_id))
    session.flush()
    return _read(session, widget)


def update_widget(session: Session, actor: Actor, widget_id: int, *, data: WidgetUpdate) -> WidgetSettings:
    """Replaces every setting; topics keep their ids when sent with them, others are removed."""
    require_admin(actor)
    widget = session.get(ChatWidget, widget_id, with_for_update=True)
    if widget is None:
        raise NotFound("No such chat widget.", code="widget_not_found")
    _check_teams(session, data)
    existing = {t.id: t for t in _topics(session, [widget_id])[widget_id]}
    kept: set[int] = set()
    for index, topic in enumerate(data.topics):
        if topic.id is not None and (topic.id not in existing or topic.id in kept):
            raise Invalid("This topic does not belong to the widget.", field=f"topics.{index}.id")
        if topic.id is not None:
            kept.add(topic.id)
    for topic_id in set(existing) - kept:
        session.delete(existing[topic_id])
    for position, topic in enumerate(data.topics):
        row = existing[topic.id] if topic.id is not None else ChatWidgetTopic(widget_id=widget_id)
        row.position, row.label, row.team_id = position, topic.label, topic.team_id
        session.add(row)
    _apply(widget, data)
    widget.updated_at = utcnow(session)
    session.flush()
    return _read(session, widget)


def rotate_secret(session: Session, actor: Actor, widget_id: int, *, sealer: Sealer | None = None) -> str:
    """Replaces the widget's identity secret and returns the new one (to be shown once).

    Identities signed with the old secret stop verifying at once: the site must switch too.
    """
    require_admin(actor)
    widget = session.get(ChatWidget, widget_id, with_for_update=True)
    if widget is None:
        raise NotFound("No such chat widget.", code="widget_not_found")
    secret = _new_secret()
    widget.secret_sealed = _sealer(session, sealer).seal(secret)
    widget.secret_rotated_at = widget.updated_at = utcnow(session)
    session.flush()
    return secret
