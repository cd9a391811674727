"""Creates (or continues) the demo database, prints how to get in, and serves it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import click
import uvicorn

from okno.accounts import service as accounts_service
from okno.accounts.permissions import Actor
from okno.channels.widget import service as widget_service
from okno.clock import FrozenClock, SystemClock
from okno.config import Settings
from okno.crypto import SECRET_KEY_INFO
from okno.db import Database, make_engine
from okno.demo import data
from okno.demo.seed import seed
from okno.demo.widgets import NAME, demo_origins
from okno.schema import upgrade


def run_demo(*, database: str, port: int, reset: bool, ticket_count: int, serve: bool) -> None:
    db_path = Path(database).resolve()
    data_dir = db_path.with_name(db_path.stem + "-data")
    if reset:
        for path in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
            path.unlink(missing_ok=True)
        shutil.rmtree(data_dir, ignore_errors=True)
    url = f"sqlite:///{db_path}"
    engine = make_engine(url)
    upgrade(engine)
    clock = FrozenClock(SystemClock().now())
    demo_db = Database(engine, clock=clock)
    # The key `okno serve` below will use too: from OKNO_SECRET_KEY, else generated in the data directory.
    demo_db.session_info[SECRET_KEY_INFO] = Settings(database_url=url, data_dir=data_dir).resolved_secret_key

    def progress(done: int, total: int) -> None:
        click.echo(f"Demo data: {done}/{total} tickets")

    report = seed(demo_db, clock, ticket_count=ticket_count, progress=progress, widget_origins=demo_origins(port))
    with Database(engine).write() as session:
        admin = accounts_service.find_user_by_email(session, data.AGENTS[0].email)
        assert admin is not None
        _row, token = accounts_service.issue_token(session, admin, name="demo")
        widget_key = next(w.key for w in widget_service.list_widgets(session, Actor.system("demo")) if w.name == NAME)
    engine.dispose()

    base = f"http://127.0.0.1:{port}"
    click.echo("")
    click.secho("Okno demo is ready" + (" (nothing new to create)" if not report.tickets_created else ""), bold=True)
    click.echo(f"  Database:  {db_path}")
    click.echo(f"  URL:       {base}")
    click.echo(f"  API docs:  {base}/api/docs")
    click.echo(f"  Logins (password for all: {data.PASSWORD}):")
    for agent in data.AGENTS:
        click.echo(f"    {agent.role:<12} {agent.email:<34} {agent.name}")
    click.echo(f"  Admin API token: {token}")
    click.echo(f'  Try:  curl -H "Authorization: Bearer {token}" "{base}/api/v1/tickets?limit=5"')
    click.echo(
        f'  Chat widget for pages on {base}: <script src="{base}/widget.js" data-widget="{widget_key}" async></script>'
    )
    if not serve:
        return
    os.environ["OKNO_DATABASE_URL"] = url
    os.environ["OKNO_DATA_DIR"] = str(data_dir)
    click.echo("")
    click.echo("Serving; press Ctrl+C to stop.")
    uvicorn.run("okno.app:create_app_from_environment", factory=True, host="127.0.0.1", port=port, log_level="warning")
