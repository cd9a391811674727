"""Alembic environment: runs on a connection handed in by ``okno.schema`` or on the configured URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from okno.db import make_engine
from okno.model_registry import metadata

config = context.config


def _include(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    # SQLite's stand-in for sequences is made by migrations, not declared as a model.
    return not (type_ == "table" and name == "okno_sequences")


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_object=_include,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


run_migrations_online()
