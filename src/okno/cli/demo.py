from __future__ import annotations

import click

from okno.cli.common import configure_logging, load_settings


@click.command()
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--database", default="okno-demo.db", show_default=True, help="SQLite file for the demo.")
@click.option("--reset", is_flag=True, help="Start over with a fresh database.")
@click.option("--tickets", "ticket_count", default=300, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--no-serve", is_flag=True, help="Only create the demo data.")
def demo(port: int, database: str, reset: bool, ticket_count: int, no_serve: bool) -> None:
    """Fill a SQLite database with realistic demo data, then serve it and print the logins."""
    from okno.demo.run import run_demo

    settings = load_settings(log_level="warning")
    configure_logging(settings.log_level)
    run_demo(database=database, port=port, reset=reset, ticket_count=ticket_count, serve=not no_serve)
