from __future__ import annotations

import click
from pydantic import ValidationError

from okno.accounts import queries as accounts_queries
from okno.accounts.permissions import Actor
from okno.channels.email import imap, mailboxes, quarantine
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


@mailbox.command("fetch")
@click.option("--address", help="Only this mailbox (default: every active mailbox that receives by IMAP).")
def mailbox_fetch(address: str | None) -> None:
    """Fetch new mail from IMAP mailboxes now (the worker also does it every OKNO_IMAP_POLL_SECONDS)."""
    settings = load_settings()
    runtime = runtime_for(settings)
    sealer = Sealer(settings.resolved_secret_key())
    failed = False
    try:
        with runtime.db.read() as session:
            boxes = [
                (box.id, box.address)
                for box in mailboxes.list_mailboxes(session, Actor.system("cli"))
                if box.is_active and box.receiving == Receiving.imap
            ]
        if address is not None:
            boxes = [b for b in boxes if b[1] == mailboxes.normalise_address(address)]
            if not boxes:
                raise click.ClickException(f"no active IMAP mailbox {address!r}")
        for mailbox_id, box_address in boxes:
            stored = duplicates = 0
            for _ in range(imap.MAX_BATCHES_PER_POLL):
                # One unit of work per batch: committed, then marked seen on the server.
                with runtime.db.write() as session:
                    fetched = imap.fetch_batch(session, mailbox_id, sealer)
                stored += fetched.stored
                duplicates += fetched.duplicates
                if fetched.error or not (fetched.more and fetched.uids):
                    break
            if fetched.error:
                failed = True
                click.echo(f"{box_address}: {fetched.error}", err=True)
            else:
                click.echo(f"{box_address}: {stored} new, {duplicates} stored already")
    finally:
        runtime.close()
    if failed:
        raise SystemExit(1)


@mailbox.command("retry")
@click.argument("inbound_id", type=int, required=False)
@click.option("--all", "everything", is_flag=True, help="Every quarantined mail.")
def mailbox_retry(inbound_id: int | None, everything: bool) -> None:
    """Run a quarantined mail (by its id, or --all) through processing again."""
    if (inbound_id is None) == (not everything):
        raise click.UsageError("give the id of a quarantined mail, or --all")
    runtime = runtime_for(load_settings())
    try:
        with runtime.db.write() as session:
            if everything:
                count = quarantine.retry_all(session, Actor.system("cli"))
                click.echo(f"Queued {count} quarantined mail(s) again")
            else:
                assert inbound_id is not None
                quarantine.retry(session, Actor.system("cli"), inbound_id)
                click.echo(f"Queued mail {inbound_id} again")
    except OknoError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        runtime.close()


@mailbox.command("quarantine")
def mailbox_quarantine() -> None:
    """List mail that could not be filed (with the reason)."""
    runtime = runtime_for(load_settings())
    try:
        with runtime.db.read() as session:
            found, total = quarantine.list_quarantined(session, Actor.system("cli"))
            for mail in found:
                click.echo(
                    f"{mail.id}\t{mail.received_at:%Y-%m-%d %H:%M}\t{mail.mailbox_address}\t{mail.sender}\t"
                    f"{mail.subject}\t{mail.error.splitlines()[0] if mail.error else ''}"
                )
            if total > len(found):
                click.echo(f"… and {total - len(found)} more")
    finally:
        runtime.close()
