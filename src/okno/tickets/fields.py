"""Tags and typed custom fields: validation and the changes they make to a ticket."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from okno.accounts.permissions import Actor, require_admin, require_staff
from okno.db import utcnow
from okno.errors import Conflict, Invalid, NotFound
from okno.tickets.models import CustomFieldDefinition, FieldType, Tag, Ticket, TicketTag
from okno.tickets.schemas import CustomFieldCreate, CustomFieldUpdate

MAX_TEXT_FIELD = 10_000
# Nearly every new ticket names a tag or two: built once, not per ticket.
_TAGS_NAMED = sa.select(Tag).where(Tag.name.in_(sa.bindparam("names", expanding=True)))


def tags_by_name(session: Session, names: list[str]) -> list[Tag]:
    """The tags with these (normalised) names, created on first use."""
    if not names:
        return []
    existing = {t.name: t for t in session.scalars(_TAGS_NAMED, {"names": names})}
    missing = [name for name in names if name not in existing]
    if missing:
        # Two requests may be first to use a tag at once: insert-or-ignore, then read back.
        now = utcnow(session)
        dialect = session.get_bind().dialect.name
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Tag)
        session.execute(
            insert.on_conflict_do_nothing(index_elements=[Tag.name]), [{"name": n, "created_at": now} for n in missing]
        )
        existing.update({t.name: t for t in session.scalars(_TAGS_NAMED, {"names": missing})})
    return [existing[name] for name in sorted(names)]


def set_tags(session: Session, ticket: Ticket, names: set[str]) -> tuple[list[str], list[str]]:
    """Replaces the ticket's tags (loaded); returns (added, removed) names."""
    current = {t.name for t in ticket.tags}
    added, removed = sorted(names - current), sorted(current - names)
    if added or removed:
        ticket.tags = tags_by_name(session, sorted(names))
    return added, removed


def _coerce(definition: CustomFieldDefinition, value: Any) -> Any:
    field = f"custom_fields.{definition.key}"
    kind = FieldType(definition.field_type)
    if value is None:
        return None
    if kind == FieldType.text:
        if not isinstance(value, str) or len(value) > MAX_TEXT_FIELD:
            raise Invalid(f"must be text of at most {MAX_TEXT_FIELD} characters", field=field)
        return value
    if kind == FieldType.number:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Invalid("must be a number", field=field)
        return value
    if kind == FieldType.boolean:
        if not isinstance(value, bool):
            raise Invalid("must be true or false", field=field)
        return value
    if kind == FieldType.date:
        try:
            return date.fromisoformat(value).isoformat()
        except (TypeError, ValueError):
            raise Invalid("must be a date such as 2026-03-31", field=field) from None
    if value not in definition.options:
        raise Invalid(f"must be one of: {', '.join(definition.options)}", field=field)
    return value


def validate_custom_fields(session: Session, values: dict[str, Any]) -> dict[str, tuple[CustomFieldDefinition, Any]]:
    if not values:
        return {}
    definitions = {
        d.key: d for d in session.scalars(sa.select(CustomFieldDefinition).where(CustomFieldDefinition.key.in_(values)))
    }
    result = {}
    for key, value in values.items():
        definition = definitions.get(key)
        if definition is None:
            raise Invalid("no such custom field", field=f"custom_fields.{key}")
        if not definition.is_active and value is not None:
            # Values already on tickets stay; clearing one is still allowed.
            raise Invalid("this custom field is deactivated and takes no new values", field=f"custom_fields.{key}")
        result[key] = (definition, _coerce(definition, value))
    return result


def loggable(definition: CustomFieldDefinition, value: Any) -> Any:
    """Free text may hold personal data and stays out of the event log; codes go in."""
    return None if definition.field_type == FieldType.text else value


def list_tags(session: Session, actor: Actor) -> list[Tag]:
    require_staff(actor)
    return list(session.scalars(sa.select(Tag).order_by(Tag.name)))


def create_tag(session: Session, actor: Actor, *, name: str) -> Tag:
    require_admin(actor)
    if session.scalar(sa.select(Tag.id).where(Tag.name == name)) is not None:
        raise Conflict("This tag exists.", code="name_taken")
    return tags_by_name(session, [name])[0]


def delete_tag(session: Session, actor: Actor, tag_id: int) -> None:
    """Only unused tags go: removing one from tickets is a change each ticket's history must show."""
    require_admin(actor)
    tag = session.get(Tag, tag_id)
    if tag is None:
        raise NotFound("Tag not found.")
    if session.scalar(sa.select(TicketTag.ticket_id).where(TicketTag.tag_id == tag_id).limit(1)) is not None:
        raise Conflict("The tag is on tickets; remove it from them first.", code="in_use")
    session.delete(tag)
    session.flush()


def list_custom_fields(session: Session, actor: Actor) -> list[CustomFieldDefinition]:
    require_staff(actor)
    return list(session.scalars(sa.select(CustomFieldDefinition).order_by(CustomFieldDefinition.key)))


def create_custom_field(session: Session, actor: Actor, *, data: CustomFieldCreate) -> CustomFieldDefinition:
    require_admin(actor)
    if session.scalar(sa.select(CustomFieldDefinition.id).where(CustomFieldDefinition.key == data.key)):
        raise Conflict("A custom field with this key exists.", code="key_taken")
    if data.field_type == FieldType.select and not data.options:
        raise Invalid("a select field needs options", field="options")
    if data.field_type != FieldType.select and data.options:
        raise Invalid("only select fields have options", field="options")
    row = CustomFieldDefinition(
        key=data.key,
        label=data.label,
        field_type=data.field_type,
        options=data.options,
        created_at=utcnow(session),
    )
    session.add(row)
    session.flush()
    return row


def rename_tag(session: Session, actor: Actor, tag_id: int, *, name: str) -> Tag:
    """Renames a tag everywhere; past events keep the name the tag had then."""
    require_admin(actor)
    tag = session.get(Tag, tag_id)
    if tag is None:
        raise NotFound("Tag not found.")
    if name != tag.name and session.scalar(sa.select(Tag.id).where(Tag.name == name)) is not None:
        raise Conflict("A tag with this name exists.", code="name_taken")
    tag.name = name
    session.flush()
    return tag


def tag_usage(session: Session) -> dict[int, int]:
    """How many tickets carry each tag (unused tags are absent)."""
    rows = session.execute(sa.select(TicketTag.tag_id, sa.func.count()).group_by(TicketTag.tag_id))
    return {tag_id: count for tag_id, count in rows}


def get_custom_field(session: Session, actor: Actor, field_id: int) -> CustomFieldDefinition:
    require_staff(actor)
    definition = session.get(CustomFieldDefinition, field_id)
    if definition is None:
        raise NotFound("Custom field not found.")
    return definition


def custom_field_usage(session: Session, definition: CustomFieldDefinition, *, values: list[str] | None = None) -> int:
    """How many tickets hold a value of this field (only those values, when given). Scans the tickets."""
    value = Ticket.custom_fields[definition.key].as_string()
    condition = value.in_(values) if values is not None else value.is_not(None)
    return session.scalar(sa.select(sa.func.count()).select_from(Ticket).where(condition)) or 0


def update_custom_field(
    session: Session, actor: Actor, field_id: int, *, changes: CustomFieldUpdate
) -> CustomFieldDefinition:
    """New label, choices or state; a choice tickets still hold cannot be taken away."""
    require_admin(actor)
    definition = get_custom_field(session, actor, field_id)
    if changes.label is not None:
        definition.label = changes.label
    if changes.options is not None and changes.options != definition.options:
        if definition.field_type != FieldType.select:
            raise Invalid("only select fields have options", field="options")
        if not changes.options:
            raise Invalid("a select field needs options", field="options")
        removed = sorted(set(definition.options) - set(changes.options))
        if removed and custom_field_usage(session, definition, values=removed):
            in_use = [o for o in removed if custom_field_usage(session, definition, values=[o])]
            raise Conflict(
                f"Tickets still hold these options: {', '.join(in_use)}.",
                code="option_in_use",
                details=[{"field": "options", "reason": "in use", "options": in_use}],
            )
        definition.options = changes.options
    if changes.is_active is not None:
        definition.is_active = changes.is_active
    session.flush()
    return definition


def delete_custom_field(session: Session, actor: Actor, field_id: int) -> None:
    """Only a field no ticket holds a value of goes; one in use is deactivated instead, keeping the values."""
    require_admin(actor)
    definition = get_custom_field(session, actor, field_id)
    if custom_field_usage(session, definition):
        raise Conflict("Tickets hold values of this field; deactivate it instead.", code="in_use")
    session.delete(definition)
    session.flush()
