"""Settings that every change reads and almost nothing changes, remembered per process for a few seconds.

Every reaction to every ticket change reads the active rules, the teams' routing policies and
their business-hours calendars, which change a few times a day. A ``Memo`` keeps what its
loader read for ``MEMO_SECONDS`` in this process (``db.shared``), so a setting changed in
another process applies from at most that long after it commits. A unit of work that changes
one of the models a memo ``reads`` (its objects, or by an insert, update or delete statement)
reads afresh while it runs, since what it changes may yet roll back, and makes this process
forget every memo as it commits.

What a loader returns must be plain data, never ORM objects: those belong to one session.
Memos are made at import time, so the models they read are known before anything changes them.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Hashable, Iterable
from typing import Any, Generic, TypeVar

import sqlalchemy.event
from sqlalchemy.orm import ORMExecuteState, Session

from okno.db import on_commit, shared

MEMO_SECONDS = 5.0
_MEMOS_KEY = "okno.memos"
_CHANGING_KEY = "okno.changes_memos"
_read_by_memos: set[type] = set()

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Memo(Generic[K, V]):
    """``load(session, key)``, remembered per key for ``MEMO_SECONDS``; ``reads``: the models it reads."""

    def __init__(self, name: str, load: Callable[[Session, K], V], *, reads: Iterable[type]) -> None:
        self.name = name
        self.load = load
        _read_by_memos.update(reads)

    def get(self, session: Session, key: K) -> V:
        if session.info.get(_CHANGING_KEY):
            return self.load(session, key)
        memos: dict[tuple[str, Any], tuple[Any, float]] = shared(session).setdefault(_MEMOS_KEY, {})
        now = time.monotonic()
        known = memos.get((self.name, key))
        if known is None or known[1] <= now:
            known = (self.load(session, key), now + MEMO_SECONDS)
            memos[(self.name, key)] = known
        value: V = known[0]
        return value


@sqlalchemy.event.listens_for(Session, "after_flush")
def _forget_memos_when_what_they_read_changes(session: Session, _flush_context: object) -> None:
    if session.info.get(_CHANGING_KEY) or not _read_by_memos:
        return
    watched = tuple(_read_by_memos)
    if any(isinstance(obj, watched) for obj in itertools.chain(session.new, session.dirty, session.deleted)):
        _changing(session)


@sqlalchemy.event.listens_for(Session, "do_orm_execute")
def _forget_memos_on_bulk_changes(state: ORMExecuteState) -> None:
    """Also an ``update``, ``delete`` or ``insert`` statement on a model memos read."""
    if state.session.info.get(_CHANGING_KEY) or not (state.is_update or state.is_delete or state.is_insert):
        return
    mapper = state.bind_mapper
    if mapper is not None and issubclass(mapper.class_, tuple(_read_by_memos)):
        _changing(state.session)


def _changing(session: Session) -> None:
    session.info[_CHANGING_KEY] = True
    on_commit(session, shared(session).setdefault(_MEMOS_KEY, {}).clear)
