"""Organizations' email domains in a table of their own: a new customer's organization is one indexed lookup

Revision ID: 6a0b1c2d3e40
Revises: 5e1d7a9c3f20
Create Date: 2026-11-30 06:00:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from okno.db import JSONData

revision: str = "6a0b1c2d3e40"
down_revision: str | None = "5e1d7a9c3f20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "organization_domains",
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("organization_id", BIG_ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_organization_domains_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("domain", name=op.f("pk_organization_domains")),
    )
    op.create_index(
        op.f("ix_organization_domains_organization_id"), "organization_domains", ["organization_id"], unique=False
    )
    connection = op.get_bind()
    claimed: set[str] = set()
    rows = connection.execute(sa.text("SELECT id, domains FROM organizations ORDER BY id")).all()
    for organization_id, domains in rows:
        listed = json.loads(domains) if isinstance(domains, str) else domains or []
        # A domain listed by two organizations stays with the older one, which matched first until now.
        for domain in sorted({str(d).lower().strip() for d in listed if str(d).strip()} - claimed):
            claimed.add(domain)
            connection.execute(
                sa.text("INSERT INTO organization_domains (domain, organization_id) VALUES (:domain, :id)"),
                {"domain": domain, "id": organization_id},
            )
    # SQLite drops the column in place (3.35+): no table copy, which would cascade to the customers.
    op.drop_column("organizations", "domains")


def downgrade() -> None:
    op.add_column("organizations", sa.Column("domains", JSONData, nullable=True))
    connection = op.get_bind()
    listed: dict[int, list[str]] = {}
    for domain, organization_id in connection.execute(
        sa.text("SELECT domain, organization_id FROM organization_domains ORDER BY domain")
    ):
        listed.setdefault(organization_id, []).append(domain)
    for organization_id, domains in listed.items():
        connection.execute(
            sa.text("UPDATE organizations SET domains = :domains WHERE id = :id"),
            {"domains": json.dumps(domains), "id": organization_id},
        )
    op.drop_index(op.f("ix_organization_domains_organization_id"), table_name="organization_domains")
    op.drop_table("organization_domains")
