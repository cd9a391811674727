"""Memos: settings read on every change, remembered per process, forgotten when this process changes them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno import memo
from okno.db import Database
from okno.tickets.models import Tag

reads: list[str] = []


def _tag_names(session: Session, prefix: str) -> tuple[str, ...]:
    reads.append(prefix)
    return tuple(session.scalars(sa.select(Tag.name).where(Tag.name.startswith(prefix)).order_by(Tag.name)))


TAG_NAMES: memo.Memo[str, tuple[str, ...]] = memo.Memo("tests.tag_names", _tag_names, reads=(Tag,))


def _add_tag(db: Database, name: str) -> None:
    with db.write() as session:
        session.add(Tag(name=name, created_at=sa.func.now()))  # type: ignore[arg-type]


def test_a_memo_is_read_once_per_key_until_it_expires(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    reads.clear()
    _add_tag(db, "memo-a")
    for _ in range(3):
        with db.read() as session:
            assert TAG_NAMES.get(session, "memo-") == ("memo-a",)
    with db.read() as session:
        TAG_NAMES.get(session, "other-")
    assert reads == ["memo-", "other-"]
    monkeypatch.setattr(memo, "MEMO_SECONDS", 0.0)
    for _ in range(2):
        with db.read() as session:
            TAG_NAMES.get(session, "expiring-")
    assert reads == ["memo-", "other-", "expiring-", "expiring-"]


def test_a_unit_of_work_changing_what_a_memo_reads_reads_afresh_and_forgets_it_on_commit(db: Database) -> None:
    reads.clear()
    _add_tag(db, "memo-a")
    with db.read() as session:
        assert TAG_NAMES.get(session, "memo-") == ("memo-a",)
    with db.write() as session:
        session.add(Tag(name="memo-b", created_at=sa.func.now()))  # type: ignore[arg-type]
        session.flush()
        assert TAG_NAMES.get(session, "memo-") == ("memo-a", "memo-b")  # its own change, not the memo
    with db.read() as session:
        assert TAG_NAMES.get(session, "memo-") == ("memo-a", "memo-b")
    assert len(reads) == 3


def test_a_delete_statement_makes_it_forget_too(db: Database) -> None:
    _add_tag(db, "memo-a")
    with db.read() as session:
        assert TAG_NAMES.get(session, "memo-") == ("memo-a",)
    with db.write() as session:
        session.execute(sa.delete(Tag).where(Tag.name == "memo-a"))
    with db.read() as session:
        assert TAG_NAMES.get(session, "memo-") == ()


def test_a_rolled_back_change_leaves_the_memo_as_it_was(db: Database) -> None:
    reads.clear()
    _add_tag(db, "memo-a")
    with db.read() as session:
        TAG_NAMES.get(session, "memo-")
    with pytest.raises(RuntimeError), db.write() as session:
        session.add(Tag(name="memo-b", created_at=sa.func.now()))  # type: ignore[arg-type]
        session.flush()
        TAG_NAMES.get(session, "memo-")
        raise RuntimeError("undone")
    with db.read() as session:
        assert TAG_NAMES.get(session, "memo-") == ("memo-a",)
    assert reads == ["memo-", "memo-"]
