from __future__ import annotations

import click

from okno.cli.common import load_settings, runtime_for


@click.command()
@click.option("--database-url", help="Overrides OKNO_DATABASE_URL.")
def init(database_url: str | None) -> None:
    """Create the database schema, or upgrade it to this version. Safe to run again."""
    settings = load_settings(database_url=database_url)
    runtime = runtime_for(settings, migrate=True)
    runtime.db.dispose()
    click.echo(f"Database ready: {settings.effective_database_url.split('@')[-1]}")
