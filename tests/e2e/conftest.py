"""Browser tests: Debian's Chromium driven by Playwright against a real `okno serve`."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from tests import databases
from tests.served import admin_token, okno_env, serving

CHROMIUM = os.environ.get("OKNO_TEST_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "e2e-password-1"


# Package scope: Playwright's sync API holds an event loop open until it stops, which would break
# later tests that run their own (asyncio.run).
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    if not shutil.which(CHROMIUM):
        pytest.fail(f"Chromium is missing at {CHROMIUM}; scripts/test installs Debian's chromium package")
    with sync_playwright() as runner:
        yield runner


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-background-networking"]
    )
    yield browser
    browser.close()


class Desk:
    """A served help desk with an admin API client to set the scene."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10)

    def agent(
        self, email: str, name: str, *, locale: str = "en", team_ids: list[int] | None = None
    ) -> dict[str, object]:
        response = self.api.post(
            "/api/v1/users",
            json={"email": email, "name": name, "password": PASSWORD, "locale": locale, "team_ids": team_ids or []},
        )
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    def ticket(self, **fields: object) -> dict[str, object]:
        body = {
            "subject": "Order 1042 has not arrived",
            "customer": {"email": "anna@example.com", "name": "Anna"},
            "message": {"body": "It was due on Monday."},
            **fields,
        }
        response = self.api.post("/api/v1/tickets", json=body)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]


@pytest.fixture
def desk(served_template: databases.Template, tmp_path: Path) -> Iterator[Desk]:
    env = okno_env(served_template.fresh_url(tmp_path), tmp_path / "data")
    token = admin_token(env)
    with serving(env) as (base, _process):
        desk = Desk(base, token)
        yield desk
        desk.api.close()
