from __future__ import annotations

import click
from pydantic import ValidationError

from okno.accounts import queries as accounts_queries
from okno.accounts.permissions import Actor
from okno.channels.widget import service
from okno.channels.widget.schemas import WidgetCreate
from okno.cli.common import load_settings, runtime_for, validation_message
from okno.errors import OknoError


@click.group()
def widget() -> None:
    """Chat widgets: the chat button on your website."""


@widget.command("add")
@click.option("--name", required=True, help="The chat's title, e.g. 'Shop support'.")
@click.option(
    "--origin",
    "origins",
    multiple=True,
    help="A site allowed to show the widget, as scheme://host[:port] (repeat for several).",
)
@click.option("--team", help="The team that answers its chats (its name).")
def widget_add(name: str, origins: tuple[str, ...], team: str | None) -> None:
    """Create a chat widget; prints its key, the line to put on the site and its identity secret."""
    settings = load_settings()
    runtime = runtime_for(settings)
    try:
        with runtime.db.write() as session:
            team_id = None
            if team:
                team_id = accounts_queries.team_id_by_name(session, team)
                if team_id is None:
                    raise click.ClickException(f"no team named {team!r}")
            data = WidgetCreate(name=name, allowed_origins=list(origins), team_id=team_id)
            created = service.create_widget(session, Actor.system("cli"), data=data)
            secret = service.identity_secret(session, created.id).decode("ascii")
    except ValidationError as exc:
        raise click.ClickException(validation_message(exc)) from exc
    except OknoError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        runtime.close()
    base_url = settings.base_url.rstrip("/")
    click.echo(f"Created chat widget {created.name!r} (id {created.id})")
    click.echo(f"Key: {created.key}")
    click.echo("Put this on the site's pages:")
    click.echo(f'  <script src="{base_url}/widget.js" data-widget="{created.key}" async></script>')
    click.echo(f"Identity secret (shown only now; for signing visitors' emails on the site's server): {secret}")


@widget.command("list")
def widget_list() -> None:
    """List the chat widgets."""
    runtime = runtime_for(load_settings())
    try:
        with runtime.db.read() as session:
            for found in service.list_widgets(session, Actor.system("cli")):
                state = "" if found.enabled else " (disabled)"
                sites = ", ".join(found.allowed_origins) or "no sites yet"
                click.echo(f"{found.id}\t{found.key}\t{found.name}{state}\t{sites}")
    finally:
        runtime.close()
