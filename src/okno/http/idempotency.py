"""``Idempotency-Key`` on every POST: a retried request gets the first answer, nothing twice.

The first answer is stored in the request's own transaction, so it exists exactly when
the request's changes do. Two concurrent requests with one key: the second one's insert
of the record fails on the unique key, its transaction rolls back, and it answers with
the first one's stored result (or 409 while that one is still running).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from okno.db import utcnow
from okno.errors import Conflict, Invalid
from okno.http.deps import CurrentActor, DbSession
from okno.http.models import IdempotencyRecord

REPLAY_HEADER = "Idempotent-Replayed"
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(description="Any unique string (a UUID); a retry with the same key returns the first result."),
]


class Idempotency:
    def __init__(self, request: Request, session: Session, principal: str, key: str | None, body: bytes) -> None:
        self.request = request
        self.session = session
        self.principal = principal
        self.key = key
        self.request_hash = hashlib.sha256(
            request.method.encode() + b" " + request.url.path.encode() + b"\n" + body
        ).hexdigest()

    def _stored(self) -> IdempotencyRecord | None:
        return self.session.scalar(
            sa.select(IdempotencyRecord).where(
                IdempotencyRecord.principal == self.principal, IdempotencyRecord.key == self.key
            )
        )

    def respond(self, status_code: int, produce: Callable[[], BaseModel | dict[str, Any] | None]) -> JSONResponse:
        """Runs ``produce`` once per key and answers with its JSON (or the stored first answer)."""
        if self.key is None:
            return JSONResponse(_json(produce()), status_code=status_code)
        stored = self._stored()
        if stored is not None:
            if stored.request_hash != self.request_hash:
                raise Conflict(
                    "This Idempotency-Key was used for a different request.",
                    code="idempotency_key_reused",
                    details={"field": "Idempotency-Key"},
                )
            return JSONResponse(stored.response_body, status_code=stored.status_code, headers={REPLAY_HEADER: "true"})
        record = IdempotencyRecord(
            principal=self.principal,
            key=self.key,
            method=self.request.method,
            path=self.request.url.path[:500],
            request_hash=self.request_hash,
            status_code=0,
            response_body=None,
            created_at=utcnow(self.session),
        )
        # Claim the key before doing the work: a concurrent twin waits here on PostgreSQL's
        # unique index until the first commits, then fails and replays the first answer.
        try:
            with self.session.begin_nested():
                self.session.add(record)
                self.session.flush()
        except sa.exc.IntegrityError:
            winner = self._stored()
            if winner is None or winner.status_code == 0:
                raise Conflict(
                    "A request with this Idempotency-Key is still being processed; retry shortly.",
                    code="idempotency_in_progress",
                ) from None
            return JSONResponse(winner.response_body, status_code=winner.status_code, headers={REPLAY_HEADER: "true"})
        body = _json(produce())
        record.status_code = status_code
        record.response_body = body
        return JSONResponse(body, status_code=status_code)


def _json(produced: BaseModel | dict[str, Any] | None) -> Any:
    # A schema dumps itself to JSON types in one pass; the generic encoder would walk the result again.
    return (
        produced.model_dump(mode="json", by_alias=True)
        if isinstance(produced, BaseModel)
        else jsonable_encoder(produced)
    )


async def _idempotency(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Idempotency:
    return Idempotency(request, session, actor.principal, checked_key(idempotency_key), await request.body())


def checked_key(key: str | None) -> str | None:
    if key is not None and not (1 <= len(key) <= 255):
        raise Invalid("must be 1 to 255 characters", field="Idempotency-Key")
    return key


IdempotencyDep = Annotated[Idempotency, Depends(_idempotency)]
