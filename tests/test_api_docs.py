"""The interactive API documentation works without the internet: its assets come from Okno itself."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient


def test_swagger_ui_and_redoc_load_only_what_okno_serves(client: TestClient) -> None:
    for page in ("/api/docs", "/api/redoc"):
        html = client.get(page)
        assert html.status_code == 200 and "/api/openapi.json" in html.text
        assets = re.findall(r'(?:src|href)="([^"]+)"', html.text)
        assert assets and all(a.startswith("/api/docs-assets/") for a in assets), assets
        assert "cdn." not in html.text and "fonts.googleapis" not in html.text
        for asset in assets:
            served = client.get(asset)
            assert served.status_code == 200 and len(served.content) > 1000, asset
