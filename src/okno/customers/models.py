from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from okno.db import NEVER_REUSE_IDS, Base, BigId, JSONData, UTCDateTime


class Plan(StrEnum):
    free = "free"
    standard = "standard"
    priority = "priority"


class IdentityKind(StrEnum):
    email = "email"
    phone = "phone"
    chat = "chat"
    messenger = "messenger"


class Organization(Base):
    __tablename__ = "organizations"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    domain_rows: Mapped[list[OrganizationDomain]] = relationship(
        lazy="selectin", order_by="OrganizationDomain.domain", cascade="all, delete-orphan"
    )
    plan: Mapped[Plan] = mapped_column(sa.String(20), default=Plan.free)
    # When on, every customer of the organization sees all of its tickets (a shared account).
    shared_tickets: Mapped[bool] = mapped_column(default=False)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def domains(self) -> list[str]:
        return [row.domain for row in self.domain_rows]

    @domains.setter
    def domains(self, wanted: list[str]) -> None:
        # Rows of domains that stay are kept: deleting and re-inserting one key in a flush would collide.
        keep = set(wanted)
        self.domain_rows = [row for row in self.domain_rows if row.domain in keep] + [
            OrganizationDomain(domain=domain) for domain in sorted(keep - set(self.domains))
        ]


class OrganizationDomain(Base):
    """An email domain whose new customers join the organization; a domain belongs to one organization."""

    __tablename__ = "organization_domains"

    domain: Mapped[str] = mapped_column(sa.String(253), primary_key=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    organization_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    # None: the customer's plan is the organization's (or free without one).
    plan: Mapped[Plan | None] = mapped_column(sa.String(20))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set when this record was merged into another one (the same person); see customers/merge.py.
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("customers.id"), index=True)
    merged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    merged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    identities: Mapped[list[CustomerIdentity]] = relationship(
        lazy="raise", order_by="CustomerIdentity.id", cascade="all, delete-orphan"
    )
    organization: Mapped[Organization | None] = relationship(lazy="raise", foreign_keys=[organization_id])


class CustomerIdentity(Base):
    """One way to reach a customer; values are normalised so matching is exact."""

    __tablename__ = "customer_identities"
    __table_args__ = (sa.UniqueConstraint("kind", "value"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    kind: Mapped[IdentityKind] = mapped_column(sa.String(20))
    value: Mapped[str] = mapped_column(sa.String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CustomerNote(Base):
    __tablename__ = "customer_notes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The last edit (None while the note is as written); every earlier text is a revision.
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    edited_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class CustomerNoteRevision(Base):
    """A note's text as it was before an edit, with who replaced it and when."""

    __tablename__ = "customer_note_revisions"
    __table_args__ = (sa.Index("ix_customer_note_revisions_note", "note_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    note_id: Mapped[int] = mapped_column(sa.ForeignKey("customer_notes.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(sa.Text)
    # Who wrote this text and when it was written (the author at first, then each editor).
    written_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    written_at: Mapped[datetime] = mapped_column(UTCDateTime)
    replaced_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime)
