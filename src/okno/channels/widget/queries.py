"""What the widget's script reads: its public configuration, with who is online."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from okno.channels.widget import service
from okno.channels.widget.schemas import TopicConfig, WidgetConfig
from okno.errors import Forbidden


def public_config(
    session: Session, key: str, *, origin: str | None, at: datetime, timeout_seconds: int
) -> WidgetConfig:
    """The widget's look and its topics, each saying whether its team answers live now.

    ``NotFound`` for an unknown or disabled key; ``Forbidden`` for a page of an origin that is
    not on the allow-list. A request without an ``Origin`` is not a browser's cross-site request
    (browsers send one on every cross-origin fetch): it gets the configuration, which holds
    nothing secret, and no CORS header.
    """
    settings = service.settings_by_key(session, key)
    if origin is not None and not service.origin_allowed(settings, origin):
        raise Forbidden("This site is not allowed to show the chat widget.", code="origin_not_allowed")
    teams = [settings.team_id, *(t.team_id if t.team_id is not None else settings.team_id for t in settings.topics)]
    available = service.teams_available(session, teams, at, timeout_seconds=timeout_seconds)
    return WidgetConfig(
        key=settings.key,
        name=settings.name,
        color=settings.color,
        position=settings.position,
        greeting=settings.greeting,
        language=settings.language,
        ask_name=settings.ask_name,
        ask_email=settings.ask_email,
        online=available[settings.team_id],
        topics=[
            TopicConfig(
                id=t.id,
                label=t.label,
                online=available[t.team_id if t.team_id is not None else settings.team_id],
            )
            for t in settings.topics
        ],
    )
