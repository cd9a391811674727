"""The README cannot drift from the settings and commands."""

from __future__ import annotations

from pathlib import Path

from okno.cli import main
from okno.config import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    missing = [f"OKNO_{name.upper()}" for name in Settings.model_fields if f"`OKNO_{name.upper()}`" not in README]
    assert missing == []


def test_every_command_is_documented() -> None:
    assert all(f"okno {name}" in README for name in main.commands)


def test_readme_opens_with_the_two_commands() -> None:
    opening = README[:600]
    assert "scripts/demo" in opening and "scripts/test" in opening
