"""Test databases: a migrated template per kind, a rollback per test, fresh copies for served processes.

SQLite always; PostgreSQL when OKNO_TEST_POSTGRES_URL is set. In CI an unreachable
PostgreSQL is a failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import sqlalchemy as sa
from alembic import command

from okno.db import make_engine
from okno.schema import alembic_config, upgrade

POSTGRES_URL = os.environ.get("OKNO_TEST_POSTGRES_URL", "")
KINDS = ["sqlite"] + (["postgres"] if POSTGRES_URL else [])


def _admin_conninfo(url: str) -> str:
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _with_database(url: str, name: str) -> str:
    return sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False)


@dataclass
class Template:
    kind: str
    url: str
    path: Path | None = None  # SQLite only
    name: str | None = None  # PostgreSQL only

    def fresh_url(self, directory: Path) -> str:
        """A new database with the migrated schema, for a test that runs a server process."""
        if self.kind == "sqlite":
            assert self.path is not None
            target = directory / f"okno-{uuid.uuid4().hex[:8]}.db"
            shutil.copyfile(self.path, target)
            return f"sqlite:///{target}"
        return _with_database(POSTGRES_URL, _create_postgres_database(f"okno_test_{uuid.uuid4().hex[:12]}", self.name))


_created: list[str] = []


def _create_postgres_database(name: str, template: str | None = None) -> str:
    """Creates it (a copy of ``template`` when given) and drops it when the session ends; its name."""
    copy = f' TEMPLATE "{template}"' if template else ""
    with psycopg.connect(_admin_conninfo(POSTGRES_URL), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"{copy}')
    _created.append(name)
    return name


def blank_url(kind: str, directory: Path) -> str:
    """A new empty database, for a test that runs the migrations itself (say, up to an old revision)."""
    if kind == "sqlite":
        return f"sqlite:///{directory / f'blank-{uuid.uuid4().hex[:8]}.db'}"
    return _with_database(POSTGRES_URL, _create_postgres_database(f"okno_blank_{uuid.uuid4().hex[:12]}"))


@contextmanager
def at_revision(url: str, revision: str) -> Iterator[tuple[sa.Connection, Callable[[], None]]]:
    """A transaction on a new database migrated up to ``revision``, and what migrates it the rest of the way.

    For a migration's test: write rows as the older schema had them, migrate on, then look.
    """
    engine = make_engine(url)
    config = alembic_config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            yield connection, lambda: command.upgrade(config, "head")
    finally:
        engine.dispose()


def make_template(kind: str, directory: Path) -> Template:
    if kind == "sqlite":
        path = directory / "template.db"
        url = f"sqlite:///{path}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        return Template(kind, url, path=path)
    name = _create_postgres_database(f"okno_tmpl_{os.getpid()}_{uuid.uuid4().hex[:6]}")
    url = _with_database(POSTGRES_URL, name)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return Template(kind, url, name=name)


def drop_created() -> None:
    if not _created:
        return
    with psycopg.connect(_admin_conninfo(POSTGRES_URL), autocommit=True) as conn:
        for name in reversed(_created):
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _created.clear()
