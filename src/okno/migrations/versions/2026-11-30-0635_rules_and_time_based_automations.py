"""rules and time-based automations; the email acknowledgement becomes a default rule

Revision ID: 909749f48f99
Revises: 6a2c4e8b1d05
Create Date: 2026-11-30 06:35:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import okno.db

revision: str = "909749f48f99"
down_revision: str | None = "6a2c4e8b1d05"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

REMINDER = {
    "default": "Hello {{customer.first_name}},\n\n"
    "we are still waiting for your answer about your request #{{ticket.number}} “{{ticket.subject}}”. "
    "If you still need help, just reply to this message.\n\n"
    "If we do not hear from you, we will consider the request solved in a few days.",
    "ru": "Здравствуйте, {{customer.first_name}}!\n\n"
    "Мы всё ещё ждём вашего ответа по обращению #{{ticket.number}} «{{ticket.subject}}». "
    "Если помощь ещё нужна, просто ответьте на это сообщение.\n\n"
    "Если ответа не будет, через несколько дней мы будем считать вопрос решённым.",
}

# What every installation starts with; admins may edit, switch off or delete each of them.
DEFAULT_RULES = [
    {
        "system_key": "acknowledge_email",
        "kind": "trigger",
        "position": 10,
        "name": "Acknowledge new email tickets",
        "description": "Tells the customer their request arrived and its number. Never sent to automatic mail, "
        "lists or no-reply addresses, and at most a few times per sender and hour.",
        "triggers": ["ticket_created"],
        "timer": {},
        "conditions": {"all": [{"field": "channel", "op": "is", "value": "email"}], "any": []},
        "actions": [{"type": "acknowledge", "value": None}],
    },
    {
        "system_key": "remind_pending",
        "kind": "timed",
        "position": 10,
        "name": "Remind the customer after 3 days pending",
        "description": "We asked the customer something and they have not answered for three days.",
        "triggers": [],
        "timer": {"state": "pending", "minutes": 3 * 24 * 60, "business_time": False},
        "conditions": {"all": [], "any": []},
        "actions": [{"type": "send_reply", "value": REMINDER}],
    },
    {
        "system_key": "solve_pending",
        "kind": "timed",
        "position": 20,
        "name": "Solve tickets pending for 7 days",
        "description": "No answer from the customer for a week: the request is considered solved.",
        "triggers": [],
        "timer": {"state": "pending", "minutes": 7 * 24 * 60, "business_time": False},
        "conditions": {"all": [], "any": []},
        "actions": [{"type": "set_status", "value": "solved"}],
    },
    {
        "system_key": "close_solved",
        "kind": "timed",
        "position": 30,
        "name": "Close tickets solved for 4 days",
        "description": "A solved ticket the customer did not reopen is closed; a later message opens a follow-up.",
        "triggers": [],
        "timer": {"state": "solved", "minutes": 4 * 24 * 60, "business_time": False},
        "conditions": {"all": [], "any": []},
        "actions": [{"type": "set_status", "value": "closed"}],
    },
    {
        "system_key": "notify_unassigned",
        "kind": "timed",
        "position": 40,
        "name": "Tell supervisors about tickets unassigned for 10 minutes",
        "description": "Nobody took a new ticket: the team's supervisors (or the admins) are notified.",
        "triggers": [],
        "timer": {"state": "unassigned", "minutes": 10, "business_time": False},
        "conditions": {"all": [], "any": []},
        "actions": [{"type": "notify_supervisors", "value": None}],
    },
]


def upgrade() -> None:
    rules = op.create_table(
        "rules",
        sa.Column("id", ID, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("triggers", JSON, nullable=False),
        sa.Column("timer", JSON, nullable=False),
        sa.Column("conditions", JSON, nullable=False),
        sa.Column("actions", JSON, nullable=False),
        sa.Column("system_key", sa.String(length=40), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", okno.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", okno.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", okno.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_rules_updated_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rules")),
        sa.UniqueConstraint("system_key", name=op.f("uq_rules_system_key")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_rules_kind_position", "rules", ["kind", "active", "position", "id"], unique=False)
    op.create_table(
        "rule_firings",
        sa.Column("id", ID, nullable=False),
        sa.Column("rule_id", ID, nullable=False),
        sa.Column("ticket_id", ID, nullable=False),
        sa.Column("anchor_at", okno.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("fired_at", okno.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["rules.id"], name=op.f("fk_rule_firings_rule_id_rules"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_rule_firings_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_firings")),
        sa.UniqueConstraint(
            "rule_id", "ticket_id", "anchor_at", name=op.f("uq_rule_firings_rule_id_ticket_id_anchor_at")
        ),
    )
    op.create_index(op.f("ix_rule_firings_ticket_id"), "rule_firings", ["ticket_id"], unique=False)
    # Plain ADD COLUMN (no batch mode): on SQLite a batch rebuild of these tables would cascade deletes.
    op.add_column("inbound_emails", sa.Column("answer_to", sa.String(length=320), nullable=True))
    op.add_column("inbound_emails", sa.Column("answer_in_reply_to", sa.String(length=998), nullable=True))
    op.add_column("notifications", sa.Column("rule_id", sa.BigInteger(), nullable=True))
    now = datetime.now(UTC)
    op.bulk_insert(rules, [{**rule, "active": True, "created_at": now, "updated_at": now} for rule in DEFAULT_RULES])


def downgrade() -> None:
    op.drop_column("notifications", "rule_id")
    op.drop_column("inbound_emails", "answer_in_reply_to")
    op.drop_column("inbound_emails", "answer_to")
    op.drop_index(op.f("ix_rule_firings_ticket_id"), table_name="rule_firings")
    op.drop_table("rule_firings")
    op.drop_index("ix_rules_kind_position", table_name="rules")
    op.drop_table("rules")
