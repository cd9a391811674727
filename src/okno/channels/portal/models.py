from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from okno.db import Base, BigId, UTCDateTime


class MagicLink(Base):
    """A single-use sign-in link for the customer portal, mailed to a known customer's address.

    Only a SHA-256 of the link's 256 random bits is stored (as for sessions and invitations):
    a leaked table signs nobody in. A link is spent by a conditional update on ``used_at``,
    so two clicks at the same moment sign in once.
    """

    __tablename__ = "portal_magic_links"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(sa.String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
