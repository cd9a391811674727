"""The migrations build exactly the schema the models describe, on each database."""

from __future__ import annotations

import warnings

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from okno import model_registry


def _models_own(name: str | None, kind: str, parent_names: object) -> bool:
    # SQLite has no sequences: the migrations give it a counter table that no model maps.
    return not (kind == "table" and name == "okno_sequences")


def test_migrated_schema_matches_the_models(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False, "include_name": _models_own})
        with warnings.catch_warnings():
            # users and customers point at each other; only the order of creating them cares.
            warnings.simplefilter("ignore", sa.exc.SAWarning)
            differences = compare_metadata(context, model_registry.metadata)
    assert differences == []
