from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from okno.db import Base, BigId, JSONData, UTCDateTime


class IdempotencyRecord(Base):
    """The first answer to a POST carrying an ``Idempotency-Key``, kept to answer its retries.

    Written in the same transaction as the request's own changes: either both exist or neither.
    """

    __tablename__ = "idempotency_records"
    __table_args__ = (sa.UniqueConstraint("principal", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    principal: Mapped[str] = mapped_column(sa.String(100))
    key: Mapped[str] = mapped_column(sa.String(255))
    method: Mapped[str] = mapped_column(sa.String(10))
    path: Mapped[str] = mapped_column(sa.String(500))
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    status_code: Mapped[int]
    response_body: Mapped[Any] = mapped_column(JSONData)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
