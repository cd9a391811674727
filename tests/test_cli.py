from __future__ import annotations

from pathlib import Path

import pytest

from tests import databases
from tests.served import admin_token, okno_env, run

COMMANDS = [
    [],
    ["init"],
    ["serve"],
    ["worker"],
    ["createuser"],
    ["token"],
    ["token", "create"],
    ["jobs"],
    ["jobs", "list"],
    ["jobs", "retry"],
    ["jobs", "run"],
    ["demo"],
    ["widget"],
    ["widget", "add"],
    ["widget", "list"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "okno")
def test_every_command_has_help(command: list[str], tmp_path: Path) -> None:
    result = run(okno_env("sqlite:///" + str(tmp_path / "x.db"), tmp_path), *command, "--help")
    assert result.returncode == 0 and "Usage:" in result.stdout, result.stderr


def test_init_users_tokens_and_jobs(sqlite_template: databases.Template, tmp_path: Path) -> None:
    env = okno_env(f"sqlite:///{tmp_path / 'fresh.db'}", tmp_path / "data")
    assert run(env, "token", "create", "--email", "a@example.com").returncode != 0  # no schema yet
    first = run(env, "init")
    assert first.returncode == 0 and "Database ready" in first.stdout
    assert run(env, "init").returncode == 0  # safe to repeat
    token = admin_token(env)
    assert token.startswith("okno_") and "\n" not in token
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
