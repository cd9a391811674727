from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from okno.clock import FrozenClock
from okno.db import Database
from okno.runtime import Runtime
from okno.tickets.attachments import sniff_raster_image, sweep_orphans
from tests.factories.personas import Personas
from tests.factories.tickets import make_ticket

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def upload(client: TestClient, headers: dict[str, str], name: str, data: bytes, content_type: str) -> dict[str, object]:
    response = client.post("/api/v1/attachments", files={"file": (name, data, content_type)}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_upload_attach_download(client: TestClient, db: Database, people: Personas) -> None:
    ticket_id = make_ticket(db, people.customer.actor)
    doc = upload(client, people.agent.headers, "../../etc/счёт.html", b"<script>alert(1)</script>", "text/html")
    image = upload(client, people.agent.headers, "photo.png", PNG, "image/png")
    assert doc["id"].startswith("att_") and len(doc["id"]) > 30 and doc["inline_image"] is False
    assert image["inline_image"] is True
    reply = client.post(
        f"/api/v1/tickets/{ticket_id}/messages",
        json={"body": "See files", "attachment_ids": [doc["id"], image["id"]]},
        headers=people.agent.headers,
    )
    assert reply.status_code == 201 and len(reply.json()["attachments"]) == 2
    download = client.get(f"/api/v1/attachments/{doc['id']}", headers=people.customer.headers)
    assert download.status_code == 200 and download.content == b"<script>alert(1)</script>"
    assert download.headers["content-disposition"].startswith("attachment")
    assert "html" not in download.headers["content-type"] and download.headers["x-content-type-options"] == "nosniff"
    assert "%D1%81%D1%87%D1%91%D1%82.html" in download.headers["content-disposition"]  # path stripped, name kept
    # Asking for inline does nothing for a non-image.
    forced = client.get(f"/api/v1/attachments/{doc['id']}?inline=true", headers=people.customer.headers)
    assert forced.headers["content-disposition"].startswith("attachment")
    inline = client.get(f"/api/v1/attachments/{image['id']}?inline=true", headers=people.customer.headers)
    assert inline.headers["content-disposition"].startswith("inline") and inline.headers["content-type"] == "image/png"
    assert inline.headers["content-security-policy"].startswith("sandbox")
    used_twice = client.post(
        f"/api/v1/tickets/{ticket_id}/messages",
        json={"body": "again", "attachment_ids": [doc["id"]]},
        headers=people.agent.headers,
    )
    assert used_twice.status_code == 422


def test_note_attachments_stay_internal(client: TestClient, db: Database, people: Personas) -> None:
    ticket_id = make_ticket(db, people.customer.actor)
    file = upload(client, people.agent.headers, "internal.txt", b"margin 40%", "text/plain")
    client.post(
        f"/api/v1/tickets/{ticket_id}/messages",
        json={"body": "x", "kind": "note", "attachment_ids": [file["id"]]},
        headers=people.agent.headers,
    )
    assert client.get(f"/api/v1/attachments/{file['id']}", headers=people.customer.headers).status_code == 404
    assert client.get(f"/api/v1/attachments/{file['id']}", headers=people.colleague.headers).status_code == 200


def test_size_limit(client: TestClient, people: Personas) -> None:
    too_big = client.post(
        "/api/v1/attachments",
        files={"file": ("big.bin", b"x" * (400 * 1024), "application/octet-stream")},
        headers=people.agent.headers,
    )
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "too_large"


def test_orphans_are_swept(
    client: TestClient, db: Database, people: Personas, runtime: Runtime, clock: FrozenClock
) -> None:
    kept_ticket = make_ticket(db, people.customer.actor)
    kept = upload(client, people.agent.headers, "kept.txt", b"kept", "text/plain")
    client.post(
        f"/api/v1/tickets/{kept_ticket}/messages",
        json={"body": "x", "attachment_ids": [kept["id"]]},
        headers=people.agent.headers,
    )
    orphan = upload(client, people.agent.headers, "orphan.txt", b"orphan", "text/plain")
    stray = runtime.storage.put(__import__("io").BytesIO(b"no row"), max_bytes=100)  # a crash before commit
    for path in runtime.storage.root.glob("??/*"):
        old = (clock.now() - timedelta(hours=30)).timestamp()
        __import__("os").utime(path, (old, old))
    clock.advance(timedelta(hours=25))
    with db.write() as session:
        removed = sweep_orphans(session, runtime.storage, older_than_hours=24)
    assert removed == 2
    assert not Path(runtime.storage.path(stray.key)).exists()
    assert client.get(f"/api/v1/attachments/{orphan['id']}", headers=people.agent.headers).status_code == 404
    assert client.get(f"/api/v1/attachments/{kept['id']}", headers=people.agent.headers).status_code == 200


def test_raster_sniffing() -> None:
    assert sniff_raster_image(PNG) == "image/png"
    assert sniff_raster_image(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert sniff_raster_image(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff_raster_image(b"<svg onload=alert(1)>") is None
    assert sniff_raster_image(b"GIF89a") == "image/gif"
