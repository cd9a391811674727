"""What every command needs: settings, a runtime, a migrated database."""

from __future__ import annotations

import logging

import click
from pydantic import ValidationError

from okno.config import Settings
from okno.runtime import Runtime
from okno.schema import pending_revisions, upgrade


def load_settings(**overrides: object) -> Settings:
    given = {name: value for name, value in overrides.items() if value is not None}
    try:
        return Settings(**given)  # type: ignore[arg-type]
    except Exception as exc:  # pydantic's message names the setting and the reason
        raise click.ClickException(f"invalid configuration: {exc}") from exc


def validation_message(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())


def runtime_for(settings: Settings, *, migrate: bool = False) -> Runtime:
    runtime = Runtime.build(settings)
    engine = runtime.db.bind
    if migrate:
        upgrade(engine)  # type: ignore[arg-type]
    elif pending_revisions(engine):  # type: ignore[arg-type]
        raise click.ClickException("the database schema is missing or old: run `okno init` first")
    return runtime


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
