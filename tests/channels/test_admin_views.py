"""The admin pages for mailboxes and quarantined mail."""

from __future__ import annotations

from email.message import EmailMessage

import sqlalchemy as sa
from fastapi.testclient import TestClient

from okno.channels.email import intake
from okno.channels.email.models import InboundEmail, Mailbox
from okno.crypto import Sealer
from okno.db import Database
from okno.runtime import Runtime
from tests.factories.personas import Personas
from tests.web.test_pages import HTML, csrf, set_password, sign_in

FORM = {
    "address": "Support@Shop.example",
    "display_name": "Shop support",
    "team_id": "",
    "receiving": "imap",
    "imap_host": "imap.shop.example",
    "imap_port": "",
    "imap_security": "tls",
    "imap_username": "support",
    "imap_password": "s3cret-imap",
    "imap_folder": "INBOX",
    "smtp_host": "smtp.shop.example",
    "smtp_port": "587",
    "smtp_security": "starttls",
    "smtp_username": "",
    "smtp_password": "",
    "is_active": "on",
}


def as_admin(client: TestClient, db: Database, people: Personas) -> str:
    set_password(db, people.admin.user_id)
    sign_in(client, people.admin.email)
    return csrf(client.get("/admin/mailboxes", headers=HTML).text)


def mailbox(db: Database) -> Mailbox:
    with db.read() as session:
        box = session.scalars(sa.select(Mailbox)).one()
        return box


def test_admins_add_and_edit_mailboxes_with_write_only_passwords(
    client: TestClient, db: Database, people: Personas, runtime: Runtime
) -> None:
    token = as_admin(client, db, people)
    empty = client.get("/admin/mailboxes", headers=HTML)
    assert empty.status_code == 200 and "No mailboxes yet" in empty.text and 'href="/admin/mailboxes"' in empty.text

    refused = client.post("/admin/mailboxes", data={**FORM, "imap_host": "", "csrf_token": token})
    assert refused.status_code == 422 and "Receiving by IMAP needs the IMAP server." in refused.text
    assert "s3cret-imap" not in refused.text  # never echoed back
    bad_port = client.post("/admin/mailboxes", data={**FORM, "imap_port": "99999", "csrf_token": token})
    assert bad_port.status_code == 422 and 'id="imap_port-error"' in bad_port.text

    created = client.post("/admin/mailboxes", data={**FORM, "csrf_token": token}, follow_redirects=False)
    assert created.status_code == 303, created.text
    box = mailbox(db)
    sealer = Sealer(runtime.settings.resolved_secret_key())
    assert box.address == "support@shop.example" and box.imap_password_sealed
    assert sealer.unseal(box.imap_password_sealed) == "s3cret-imap"
    listed = client.get("/admin/mailboxes", headers=HTML).text
    assert "support@shop.example" in listed and "IMAP: imap.shop.example" in listed and "Not yet" in listed

    page = client.get(f"/admin/mailboxes/{box.id}", headers=HTML).text
    assert "A password is stored. Leave this empty to keep it." in page and "s3cret-imap" not in page
    assert box.imap_password_sealed not in page
    # Saved with the password left empty: kept. Then removed on purpose.
    saved = client.post(
        f"/admin/mailboxes/{box.id}",
        data={**FORM, "imap_password": "", "display_name": "Shop", "csrf_token": token},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    box = mailbox(db)
    assert box.display_name == "Shop" and box.imap_password_sealed
    assert sealer.unseal(box.imap_password_sealed) == "s3cret-imap"
    client.post(
        f"/admin/mailboxes/{box.id}",
        data={**FORM, "imap_password": "", "clear_imap_password": "on", "csrf_token": token},
    )
    assert mailbox(db).imap_password_sealed is None

    with db.write() as session:
        stored = session.get(Mailbox, box.id)
        assert stored is not None
        stored.last_fetch_at = stored.created_at
        stored.last_fetch_error = "imap.shop.example:993 refused the login: [AUTHENTICATIONFAILED]"
    listed = client.get("/admin/mailboxes", headers=HTML).text
    assert "refused the login" in listed


def test_agents_cannot_open_the_mailbox_pages(client: TestClient, db: Database, people: Personas) -> None:
    set_password(db, people.agent.user_id)
    sign_in(client, people.agent.email)
    for path in ("/admin/mailboxes", "/admin/mailboxes/new", "/admin/mailboxes/quarantine"):
        assert client.get(path, headers=HTML).status_code in {403, 404}, path
    assert 'href="/admin/mailboxes"' not in client.get("/inbox", headers=HTML).text


def test_quarantined_mail_is_listed_downloaded_and_run_again(
    client: TestClient, db: Database, people: Personas, runtime: Runtime
) -> None:
    token = as_admin(client, db, people)
    client.post("/admin/mailboxes", data={**FORM, "receiving": "smtp", "csrf_token": token})
    broken = EmailMessage()
    broken["To"] = "support@shop.example"
    broken["Subject"] = "=?koi8-r?b?8NLJ18XU?="
    broken["Message-ID"] = "<nosender@x.example>"
    broken.set_content("No From header at all.")
    raw = broken.as_bytes()
    with db.write() as session:
        inbound_id = intake.store_raw(session, mailbox_id=mailbox(db).id, raw=raw, source="smtp").inbound_id
    runtime.worker.run_pending()

    assert "1 received mail could not be filed" in client.get("/admin/mailboxes", headers=HTML).text
    page = client.get("/admin/mailboxes/quarantine", headers=HTML)
    assert page.status_code == 200
    assert "Привет" in page.text and "the mail names no sender address" in page.text and "(no sender)" in page.text
    download = client.get(f"/admin/mailboxes/quarantine/{inbound_id}.eml")
    assert download.status_code == 200 and download.content == raw
    assert download.headers["content-disposition"] == f'attachment; filename="mail-{inbound_id}.eml"'

    again = client.post(
        f"/admin/mailboxes/quarantine/{inbound_id}/retry", data={"csrf_token": token}, follow_redirects=False
    )
    assert again.status_code == 303 and again.headers["location"].endswith("done=queued&n=1")
    with db.read() as session:
        assert session.scalar(sa.select(InboundEmail.status).where(InboundEmail.id == inbound_id)) == "queued"
    runtime.worker.run_pending()  # still no sender: back in quarantine, tried twice
    listed = client.get("/admin/mailboxes/quarantine", headers=HTML).text
    assert "2 attempts" in listed
    forged = client.post(f"/admin/mailboxes/quarantine/{inbound_id}/retry", data={"csrf_token": "forged"})
    assert forged.status_code in {400, 403}
    everything = client.post("/admin/mailboxes/quarantine/retry", data={"csrf_token": token}, follow_redirects=False)
    assert everything.headers["location"].endswith("done=queued&n=1")
    assert "No mail in quarantine" in client.get("/admin/mailboxes/quarantine", headers=HTML).text
