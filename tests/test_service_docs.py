"""``/docs``: Swagger UI served from the package, with nothing fetched from elsewhere."""

from __future__ import annotations

import hashlib
import re
from importlib import resources


def test_docs_page_and_assets_are_served_from_the_package(http):
    page = http.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(not a.startswith(("http:", "https:", "//")) for a in assets)
    for asset in assets:
        answer = http.get("/" + asset)
        assert answer.status_code == 200, asset
        assert b"https://cdn" not in answer.content[:4096]
    script = http.get("/docs/assets/docs.js").text
    assert "openapi.json" in script and "Authorization" in script


def test_vendored_swagger_ui_matches_its_record():
    """The files are the ones VENDORED.md names, unchanged, with their licence."""
    folder = resources.files("policykb.service") / "static" / "swagger-ui"
    record = (folder / "VENDORED.md").read_text(encoding="utf-8")
    sums = dict((name, digest) for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", record, re.M))
    assert set(sums) == {"swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-bundle.js.LICENSE.txt", "LICENSE", "NOTICE"}
    for name, digest in sums.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
    assert "Apache License" in (folder / "LICENSE").read_text(encoding="utf-8")
