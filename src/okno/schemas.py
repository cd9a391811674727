"""Base classes and types shared by every domain's Pydantic schemas."""

from __future__ import annotations

from typing import Annotated, Any, TypeGuard

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_ID = 2**63 - 1  # BIGINT on PostgreSQL; SQLite's INTEGER is as wide
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
"""An object's id wherever a request names one (path, query, body): a number no database row can
have is refused as invalid input naming its field, before it reaches the database."""
AfterId = Annotated[int, Field(ge=0, le=MAX_ID)]
"""The last event id a client saw, to resume after (0: from the first)."""


def is_id(value: object) -> TypeGuard[int]:
    """Whether a value read by hand from JSON (a WebSocket message, a rule) is an id a row could have."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_holds_nul(item) for item in value)
    return False


class InputModel(BaseModel):
    """Request bodies: unknown fields are refused, not ignored, so typos never pass silently.

    No text in them may hold a NUL character: PostgreSQL's text cannot store one, and no help desk
    text needs one, so it is refused on both databases as the field's error.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if _holds_nul(value):
            raise ValueError("must not contain NUL characters")
        return value


class OutputModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)
