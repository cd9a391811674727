from __future__ import annotations

import click
from pydantic import ValidationError

from okno.accounts import queries as accounts_queries
from okno.accounts.permissions import Actor
from okno.channels.email import mailboxes
from okno.channels.email.models import Receiving, Security
from okno.channels.email.schemas import MailboxCreate
from okno.cli.common import load_settings, runtime_for, validation_message
from okno.crypto import Sealer
from okno.errors import OknoError

SECURITY = click.Choice([s.value for s in Security])


@click.group()
def mailbox() -> None:
    """Mailboxes: the addresses customers write to."""


@mailbox.command("add")
@click.option("--address", required=True, help="The address customers write to, e.g. support@shop.example.")
@click.option("--name", "display_name", default="", help="The name replies are sent under, e.g. 'Shop support'.")
@click.option("--team", help="The team new tickets from this mailbox go to (its name).")
@click.option(
    "--receiving",
    type=click.Choice([r.value for r in Receiving]),
    default="smtp",
    show_default=True,
    help="smtp: mail is forwarded to Okno's SMTP receiver; imap: Okno fetches it from --imap-host.",
)
@click.option("--imap-host")
@click.option("--imap-port", type=click.IntRange(1, 65535))
@click.option("--imap-security", type=SECURITY, default="tls", show_default=True)
@click.option("--imap-username")
@click.option("--imap-password", help="Prompted for (hidden) when --imap-username is given without it.")
@click.option("--imap-folder", default="INBOX", show_default=True)
@click.option("--smtp-host", help="The server replies are sent through.")
@click.option("--smtp-port", type=click.IntRange(1, 65535))
@click.option("--smtp-security", type=SECURITY, default="starttls", show_default=True)
@click.option("--smtp-username")
@click.option("--smtp-password", help="Prompted for (hidden) when --smtp-username is given without it.")
def mailbox_add(team: str | None, **options: object) -> None:
    """Create a mailbox; its replies go out through --smtp-host."""
    for kind in ("imap", "smtp"):
        if options[f"{kind}_username"] and options[f"{kind}_password"] is None:
            options[f"{kind}_password"] = click.prompt(f"{kind.upper()} password", hide_input=True)
    settings = load_settings()
    runtime = runtime_for(settings)
    try:
        with runtime.db.write() as session:
            team_id = None
            if team:
                team_id = accounts_queries.team_id_by_name(session, team)
                if team_id is None:
                    raise click.ClickException(f"no team named {team!r}")
            data = MailboxCreate.model_validate({**options, "team_id": team_id})
            created = mailboxes.add_mailbox(
                session, Actor.system("cli"), data=data, sealer=Sealer(settings.resolved_secret_key())
            )
            click.echo(f"Created mailbox {created.address} (id {created.id})")
    except ValidationError as exc:
        raise click.ClickException(validation_message(exc)) from exc
    except OknoError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        runtime.close()


@mailbox.command("list")
def mailbox_list() -> None:
    """List the mailboxes."""
    runtime = runtime_for(load_settings())
    try:
        with runtime.db.read() as session:
            for box in mailboxes.list_mailboxes(session, Actor.system("cli")):
                sending = f"{box.smtp_host}:{box.smtp_port or ''}" if box.smtp_host else "no SMTP server"
                state = "" if box.is_active else " (inactive)"
                click.echo(f"{box.id}\t{box.address}\treceives by {box.receiving}\tsends via {sending}{state}")
    finally:
        runtime.close()
