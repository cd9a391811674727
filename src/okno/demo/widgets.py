"""The demo shop's chat widget: three pre-chat topics, each answered by a team of the demo.

Seeded through the widget service. A rerun creates nothing twice; it only adds the origins the
demo is served on now (another ``--port``) to the allow-list.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from okno.accounts import queries as accounts_queries
from okno.accounts.permissions import Actor
from okno.channels.widget import service as widget_service
from okno.channels.widget.schemas import TopicIn, WidgetCreate, WidgetUpdate

NAME = "Demo shop"
TEAM = "Поддержка"
TOPICS = (("Buy", "Поддержка"), ("Problem with an order", "Delivery"), ("Become a partner", "Billing"))


def demo_origins(port: int) -> tuple[str, ...]:
    """The origins the demo's own pages have when served on ``port``."""
    return (f"http://127.0.0.1:{port}", f"http://localhost:{port}")


def seed_widget(session: Session, *, origins: Sequence[str]) -> widget_service.WidgetSettings:
    system = Actor.system("demo")
    found = [w for w in widget_service.list_widgets(session, system) if w.name == NAME]
    if not found:
        # By exact name: SQLite's lower() leaves Cyrillic as it is, so a case-blind lookup would miss.
        teams = {name: team_id for team_id, name in accounts_queries.team_names(session).items()}
        data = WidgetCreate(
            name=NAME,
            allowed_origins=list(origins),
            greeting="Здравствуйте! Чем можем помочь? / Hello! How can we help?",
            team_id=teams.get(TEAM),
            topics=[TopicIn(label=label, team_id=teams[team]) for label, team in TOPICS if team in teams],
            ask_name=True,
            ask_email=True,
        )
        return widget_service.create_widget(session, system, data=data)
    widget = found[0]
    missing = [o for o in origins if o not in widget.allowed_origins]
    if not missing:
        return widget
    current = WidgetUpdate(
        name=widget.name,
        enabled=widget.enabled,
        allowed_origins=[*widget.allowed_origins, *missing],
        color=widget.color,
        position=widget.position,
        greeting=widget.greeting,
        language=widget.language,
        team_id=widget.team_id,
        topics=[TopicIn(id=t.id, label=t.label, team_id=t.team_id) for t in widget.topics if t.team_id is not None],
        ask_name=widget.ask_name,
        ask_email=widget.ask_email,
        idle_close_minutes=widget.idle_close_minutes,
    )
    return widget_service.update_widget(session, system, widget.id, data=current)
