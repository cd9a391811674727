"""The migrations build exactly the schema the models describe, on each database."""

from __future__ import annotations

import warnings

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from okno import model_registry

# Alembic cannot compare indexes on expressions (``priority_rank DESC``): it reports them removed
# and added again. Their presence is checked below instead.
EXPRESSION_INDEXES = {
    index.name
    for table in model_registry.metadata.tables.values()
    for index in table.indexes
    if any(not isinstance(part, sa.Column) for part in index.expressions)
}


def _models_own(name: str | None, kind: str, parent_names: object) -> bool:
    # SQLite has no sequences: the migrations give it a counter table that no model maps.
    if kind == "table" and name == "okno_sequences":
        return False
    return not (kind == "index" and name in EXPRESSION_INDEXES)


def _compared(item: object, name: str | None, kind: str, reflected: bool, compare_to: object) -> bool:
    return _models_own(name, kind, None)


def test_migrated_schema_matches_the_models(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": False, "include_name": _models_own, "include_object": _compared}
        )
        with warnings.catch_warnings():
            # users and customers point at each other; only the order of creating them cares.
            warnings.simplefilter("ignore", sa.exc.SAWarning)
            differences = compare_metadata(context, model_registry.metadata)
    assert differences == []
    with engine.connect() as connection:
        inspector = sa.inspect(connection)
        built = {index["name"] for table in inspector.get_table_names() for index in inspector.get_indexes(table)}
    assert built >= EXPRESSION_INDEXES
