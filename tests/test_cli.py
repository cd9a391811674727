from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from okno.cli import main
from tests import databases
from tests.served import okno_env, run


def every_command(group: click.Group = main, path: tuple[str, ...] = ()) -> list[list[str]]:
    """``okno`` and each of its commands and subcommands, as the words that name it."""
    commands = [list(path)]
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            commands += every_command(command, (*path, name))
        else:
            commands.append([*path, name])
    return commands


@pytest.mark.parametrize("command", every_command(), ids=lambda c: " ".join(c) or "okno")
def test_every_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output, result.output


def test_the_installed_command_answers(tmp_path: Path) -> None:
    result = run(okno_env("sqlite:///" + str(tmp_path / "x.db"), tmp_path), "--help")
    assert result.returncode == 0 and "Usage: okno" in result.stdout, result.stderr


def test_init_users_tokens_and_jobs(sqlite_template: databases.Template, tmp_path: Path) -> None:
    env = okno_env(f"sqlite:///{tmp_path / 'fresh.db'}", tmp_path / "data")
    assert run(env, "token", "create", "--email", "a@example.com").returncode != 0  # no schema yet
    first = run(env, "init")
    assert first.returncode == 0 and "Database ready" in first.stdout
    assert run(env, "init").returncode == 0  # safe to repeat
    created = run(
        env, "createuser", "--email", "root@example.com", "--name", "Root", "--role", "admin",
        "--password", "root-password-1",
    )  # fmt: skip
    assert created.returncode == 0 and "Created admin root@example.com" in created.stdout, created.stderr
    issued = run(env, "token", "create", "--email", "root@example.com")
    token = issued.stdout.strip()
    assert issued.returncode == 0 and token.startswith("okno_") and "\n" not in token
    duplicate = run(env, "createuser", "--email", "root@example.com", "--name", "Again", "--password", "whatever-123")
    assert duplicate.returncode != 0 and "exists" in duplicate.stderr
    short = run(env, "createuser", "--email", "x@example.com", "--name", "X", "--password", "short")
    assert short.returncode != 0 and "password" in short.stderr
    prompted = run(
        env,
        "createuser",
        "--email",
        "p@example.com",
        "--name",
        "P",
        input="prompted-pass-1\nprompted-pass-1\n",
    )
    assert prompted.returncode == 0, prompted.stderr
    listed = run(env, "jobs", "list")
    assert listed.returncode == 0 and "queued:" in listed.stdout
    assert run(env, "jobs", "run").returncode == 0
    assert run(env, "jobs", "retry").returncode != 0  # needs an id or --all-dead
    assert run(env, "jobs", "retry", "--all-dead").returncode == 0


def test_demo_fills_a_database_and_resumes_without_duplicates(tmp_path: Path) -> None:
    env = okno_env("", tmp_path)
    database = str(tmp_path / "demo.db")
    first = run(env, "demo", "--no-serve", "--tickets", "60", "--database", database)
    assert first.returncode == 0, first.stderr
    assert "Okno demo is ready" in first.stdout and "okno-demo-2026" in first.stdout and "okno_" in first.stdout
    assert 'data-widget="' in first.stdout
    again = run(env, "demo", "--no-serve", "--tickets", "60", "--database", database)
    assert "nothing new to create" in again.stdout
    more = run(env, "demo", "--no-serve", "--tickets", "80", "--database", database)
    assert "80/80" in more.stdout
    import sqlite3

    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM tickets WHERE spam_at IS NULL").fetchone() == (80,)
        assert conn.execute("SELECT count(*) FROM tickets WHERE spam_at IS NOT NULL").fetchone() == (3,)
        # The seeded replies, and the reminders the time-based rules send at once, are the past: none waits to go out.
        unsent = "SELECT count(*) FROM messages WHERE delivery_status IN ('queued', 'failed')"
        assert conn.execute(unsent).fetchone() == (0,)
        statuses = {row[0] for row in conn.execute("SELECT DISTINCT status FROM tickets")}
        languages = {row[0] for row in conn.execute("SELECT DISTINCT language FROM tickets")}
        widgets = conn.execute("SELECT name, allowed_origins FROM chat_widgets").fetchall()
        topics = [row[0] for row in conn.execute("SELECT label FROM chat_widget_topics ORDER BY position")]
    assert widgets == [("Demo shop", '["http://127.0.0.1:8000", "http://localhost:8000"]')]
    assert topics == ["Buy", "Problem with an order", "Become a partner"]
    assert statuses == {"new", "open", "pending", "on_hold", "solved", "closed"} and languages == {"en", "ru"}
