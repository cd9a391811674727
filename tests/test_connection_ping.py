"""PostgreSQL connections: pinged before use only after sitting idle, and replaced when the ping finds them cut."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from okno import db as okno_db
from okno.db import make_engine
from tests import databases


def _pings(engine: sa.Engine) -> list[int]:
    """Counts the pings the engine's dialect sends (each call appends one)."""
    sent: list[int] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: object) -> bool:
        sent.append(1)
        return ping(dbapi_connection)

    engine.dialect.do_ping = counted  # type: ignore[method-assign]
    return sent


def _backend_pid(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(sa.text("SELECT pg_backend_pid()")) or 0)


def test_a_connection_cut_while_idle_is_replaced(
    served_template: databases.Template, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if served_template.kind != "postgres":
        pytest.skip("PostgreSQL is not configured (OKNO_TEST_POSTGRES_URL); CI always sets it")
    engine = make_engine(served_template.fresh_url(tmp_path), pool_size=1)
    try:
        pings = _pings(engine)
        first = _backend_pid(engine)
        assert _backend_pid(engine) == first and not pings  # in steady use: no round trip before each use

        admin = databases.POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://", 1)
        with psycopg.connect(admin, autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", (first,))
        monkeypatch.setattr(okno_db, "PING_AFTER_IDLE_SECONDS", 0.0)

        replaced = _backend_pid(engine)  # the ping finds the connection gone: a new one, no error
        assert replaced != first and pings
    finally:
        engine.dispose()
