"""Creating and upgrading the database schema with the packaged Alembic migrations."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

FILE_TEMPLATE = "%%(year)d-%%(month).2d-%%(day).2d-%%(hour).2d%%(minute).2d_%%(slug)s"


def alembic_config(url: str = "") -> Config:
    config = Config()
    config.set_main_option("script_location", "okno:migrations")
    config.set_main_option("file_template", FILE_TEMPLATE)
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision; safe to run again."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def pending_revisions(engine: Engine) -> bool:
    """True when the database is behind the code (or empty)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return current != head
