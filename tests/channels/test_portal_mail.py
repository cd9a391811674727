"""The portal's sign-in link by real mail: a served Okno sends it through aiosmtpd, and it works."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests import databases
from tests.channels.mail_servers import smtp_server
from tests.served import admin_token, okno_env, run, serving


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no {name} on the page"
    return match.group(1)


def test_the_sign_in_link_arrives_by_mail_and_signs_in_once(
    served_template: databases.Template, tmp_path: Path
) -> None:
    env = okno_env(served_template.fresh_url(tmp_path), tmp_path / "data", OKNO_BASE_URL="https://help.shop.example")
    token = admin_token(env)
    with smtp_server() as (smtp_port, outbox):
        added = run(
            env, "mailbox", "add", "--address", "support@shop.example", "--name", "Shop support",
            "--smtp-host", "127.0.0.1", "--smtp-port", str(smtp_port), "--smtp-security", "none",
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        with (
            serving(env) as (base, _process),
            httpx.Client(
                base_url=base, timeout=10, headers={"accept-language": "ru"}, follow_redirects=True
            ) as browser,
        ):
            api = {"Authorization": f"Bearer {token}"}
            created = browser.post(
                "/api/v1/tickets",
                headers=api,
                json={
                    "subject": "Order 1042 has not arrived",
                    "customer": {"email": "anna@customer.example", "name": "Anna"},
                    "message": {"body": "It was due on Monday."},
                },
            )
            assert created.status_code == 201, created.text
            form = browser.get("/portal/sign-in")
            asked = browser.post(
                "/portal/sign-in",
                data={"email": "Anna@Customer.example", "csrf_token": hidden(form.text, "csrf_token")},
            )
            assert asked.status_code == 200 and "ссылка для входа уже в пути" in asked.text

            [(recipients, mail)] = outbox.wait_for(1)
            assert recipients == ["anna@customer.example"]
            assert str(mail["From"]).endswith("<support@shop.example>") and mail["Auto-Submitted"] == "auto-generated"
            assert mail["Subject"] == "Ваша ссылка для входа"
            text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            link = re.search(r"https://help\.shop\.example(/portal/sign-in/[\w-]+)", text)
            assert link, text

            confirm = browser.get(link.group(1))
            assert confirm.status_code == 200
            signed_in = browser.post(link.group(1), data={"csrf_token": hidden(confirm.text, "csrf_token")})
            assert signed_in.status_code == 200 and str(signed_in.url).endswith("/portal")
            assert "Order 1042 has not arrived" in signed_in.text

            browser.cookies.clear()
            again = browser.get(link.group(1))
            assert again.status_code == 410
