from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, field_validator

from okno.channels.widget.origins import normalise_origin
from okno.schemas import Id, InputModel

Origin = Annotated[str, Field(max_length=300), AfterValidator(normalise_origin)]
Position = Literal["right", "left"]
Language = Literal["auto", "en", "ru"]
MAX_TOPICS = 20
MAX_ORIGINS = 50


class TopicIn(InputModel):
    """A pre-chat topic; ``id`` keeps an existing topic (chats refer to it), none creates one."""

    id: Id | None = None
    label: str = Field(min_length=1, max_length=100)
    team_id: Id


class WidgetCreate(InputModel):
    name: str = Field(min_length=1, max_length=200)
    enabled: bool = True
    allowed_origins: list[Origin] = Field(default_factory=list, max_length=MAX_ORIGINS)
    color: str = Field(default="#2563eb", pattern=r"^#[0-9A-Fa-f]{6}$")
    position: Position = "right"
    # Empty: the widget greets in the visitor's language with its own words.
    greeting: str = Field(default="", max_length=500)
    language: Language = "auto"
    team_id: Id | None = None
    topics: list[TopicIn] = Field(default_factory=list, max_length=MAX_TOPICS)
    ask_name: bool = False
    ask_email: bool = True
    idle_close_minutes: int = Field(default=30, ge=5, le=1440)

    @field_validator("color")
    @classmethod
    def _lower_case(cls, value: str) -> str:
        return value.lower()

    @field_validator("allowed_origins")
    @classmethod
    def _once_each(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class WidgetUpdate(WidgetCreate):
    """Every setting at once, as the admin form sends them; topics not listed are removed."""


class TopicConfig(BaseModel):
    id: int
    label: str
    online: bool


class WidgetConfig(BaseModel):
    """What the widget's script reads before it shows the button (public: no secrets here)."""

    key: str
    name: str
    color: str
    position: Position
    greeting: str
    language: Language
    ask_name: bool
    ask_email: bool
    online: bool
    topics: list[TopicConfig]
