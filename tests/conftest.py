from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from okno.app import create_app
from okno.clock import FrozenClock
from okno.config import Settings
from okno.db import Database, make_engine
from okno.runtime import Runtime
from tests import databases
from tests.factories.personas import Personas, make_personas

warnings.filterwarnings("ignore", message=".*httpx.*", category=DeprecationWarning)

if os.environ.get("CI") and not databases.POSTGRES_URL:
    raise pytest.UsageError("CI runs the suite on PostgreSQL too: set OKNO_TEST_POSTGRES_URL")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    databases.drop_created()


@pytest.fixture(scope="session", params=databases.KINDS)
def template(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> databases.Template:
    """The migrated schema on each database kind; tests using it run once per kind."""
    return databases.make_template(request.param, tmp_path_factory.mktemp(request.param))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> databases.Template:
    return databases.make_template("sqlite", tmp_path_factory.mktemp("sqlite-only"))


@pytest.fixture(params=databases.KINDS)
def idle_template(request: pytest.FixtureRequest) -> databases.Template:
    """A template on each database kind that no test holds a connection to: PostgreSQL clones only an idle one."""
    return request.getfixturevalue("sqlite_template" if request.param == "sqlite" else "served_template")


@pytest.fixture(scope="session")
def served_template(tmp_path_factory: pytest.TempPathFactory) -> databases.Template:
    """For tests that run once (server processes, crashes): PostgreSQL when configured."""
    kind = "postgres" if databases.POSTGRES_URL else "sqlite"
    return databases.make_template(kind, tmp_path_factory.mktemp("served"))


@pytest.fixture(scope="session")
def engine(template: databases.Template) -> Iterator[sa.Engine]:
    eng = make_engine(template.url)
    yield eng
    eng.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def db(engine: sa.Engine, clock: FrozenClock) -> Iterator[Database]:
    """A database whose every unit of work happens inside one transaction rolled back after the test."""
    with engine.connect() as connection:
        outer = connection.begin()
        yield Database(connection, clock=clock)
        outer.rollback()


@pytest.fixture
def settings(tmp_path: Path, template: databases.Template) -> Settings:
    return Settings(
        database_url=template.url,
        data_dir=tmp_path / "data",
        secret_key="test-secret",
        realtime="memory",
        embedded_worker=False,
        max_request_bytes=64 * 1024,
        max_attachment_bytes=256 * 1024,
    )


@pytest.fixture
def runtime(settings: Settings, db: Database) -> Iterator[Runtime]:
    rt = Runtime.build(settings, db=db)
    rt.bus.start()
    yield rt
    rt.bus.stop()


@pytest.fixture
def client(runtime: Runtime) -> TestClient:
    """In-process HTTP against the real app (no lifespan: the test drives the worker)."""
    return TestClient(create_app(runtime=runtime), raise_server_exceptions=False)


@pytest.fixture
def people(db: Database) -> Personas:
    return make_personas(db)
