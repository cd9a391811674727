from __future__ import annotations

import click
from pydantic import ValidationError

from okno.accounts import service as accounts_service
from okno.accounts.models import Role
from okno.accounts.permissions import Actor
from okno.accounts.schemas import UserCreate
from okno.cli.common import load_settings, runtime_for, validation_message
from okno.errors import OknoError


@click.command()
@click.option("--email", required=True, help="Sign-in address.")
@click.option("--name", required=True, help="Display name.")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role if r != Role.customer]),
    default="agent",
    show_default=True,
)
@click.option("--password", help="At least 10 characters; prompted for (hidden) when absent.")
@click.option("--language", "languages", multiple=True, help="Language the agent speaks (repeat), e.g. ru.")
def createuser(email: str, name: str, role: str, password: str | None, languages: tuple[str, ...]) -> None:
    """Create a staff user (admin, supervisor, agent, light_agent)."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        data = UserCreate(email=email, name=name, role=Role(role), password=password, languages=list(languages))
    except ValidationError as exc:
        raise click.ClickException(validation_message(exc)) from exc
    runtime = runtime_for(load_settings())
    try:
        with runtime.db.write() as session:
            user = accounts_service.create_user(session, Actor.system("cli"), data=data)
            click.echo(f"Created {user.role} {user.email} (id {user.id})")
    except OknoError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        runtime.close()


@click.group()
def token() -> None:
    """API tokens."""


@token.command("create")
@click.option("--email", required=True, help="The user the token acts as.")
@click.option("--name", default="cli", show_default=True, help="A label to recognise the token by.")
def token_create(email: str, name: str) -> None:
    """Create an API token and print only the token (it is shown once)."""
    runtime = runtime_for(load_settings())
    try:
        with runtime.db.write() as session:
            user = accounts_service.find_user_by_email(session, email)
            if user is None:
                raise click.ClickException(f"no user with email {email}")
            _row, secret = accounts_service.issue_token(session, user, name=name)
    except OknoError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        runtime.close()
    click.echo(secret)
