"""`okno widget add` and `okno widget list`, run as a user would."""

from __future__ import annotations

import re
from pathlib import Path

from tests import databases
from tests.served import okno_env, run


def test_widget_add_prints_the_key_snippet_and_secret(sqlite_template: databases.Template, tmp_path: Path) -> None:
    env = okno_env(
        sqlite_template.fresh_url(tmp_path),
        tmp_path / "data",
        OKNO_BASE_URL="https://help.shop.example/",
    )
    refused = run(env, "widget", "add", "--name", "Shop", "--origin", "https://shop.example/page")
    assert refused.returncode != 0 and "origin" in refused.stderr
    no_team = run(env, "widget", "add", "--name", "Shop", "--origin", "https://shop.example", "--team", "Nobody")
    assert no_team.returncode != 0 and "no team named 'Nobody'" in no_team.stderr
    added = run(
        env, "widget", "add", "--name", "Shop", "--origin", "https://Shop.example", "--origin", "http://x.test:81"
    )
    assert added.returncode == 0, added.stderr
    key = re.search(r"^Key: ([a-z0-9]{20})$", added.stdout, re.M)
    assert key, added.stdout
    snippet = f'<script src="https://help.shop.example/widget.js" data-widget="{key.group(1)}" async></script>'
    assert snippet in added.stdout
    assert re.search(r"Identity secret .*: wsec_\S{40,}$", added.stdout, re.M)
    listed = run(env, "widget", "list")
    assert listed.returncode == 0
    assert f"{key.group(1)}\tShop\thttps://shop.example, http://x.test:81" in listed.stdout
