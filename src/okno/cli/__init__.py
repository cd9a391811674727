"""The ``okno`` command. One module per command group; each opens a unit of work and calls a service."""

from __future__ import annotations

import click

from okno import __version__
from okno.cli import db, demo, jobs, mailbox, serve, users, widget


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="okno")
def main() -> None:
    """Okno: one window for every customer request.

    Configuration comes from OKNO_* environment variables (see README); with none set, Okno
    uses a SQLite file okno.db in the working directory.
    """


main.add_command(db.init)
main.add_command(serve.serve)
main.add_command(serve.worker)
main.add_command(users.createuser)
main.add_command(users.token)
main.add_command(jobs.jobs)
main.add_command(demo.demo)
main.add_command(mailbox.mailbox)
main.add_command(widget.widget)
