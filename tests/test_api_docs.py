"""`flywheel serve`'s /docs and /redoc work offline: every asset is served by the API itself."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

pytest.importorskip("fastapi")

from flywheel_middleware import Flywheel  # noqa: E402
from flywheel_middleware.serve import create_app  # noqa: E402

from chromium import CHROMIUM, render  # noqa: E402
from test_serve import running  # noqa: E402

TOKEN = "alice-token-0123456789abcdef"


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


@pytest.fixture
def docs_api(tmp_path: Path):
    fw = Flywheel(tmp_path / "store", start_worker=False)
    try:
        with running(create_app(fw, {TOKEN: "alice"})) as url:
            yield url
    finally:
        fw.close()


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_every_asset_from_the_api_itself(docs_api, page):
    with httpx.Client(base_url=docs_api, timeout=30) as client:
        html = client.get(page).text
        parser = _Assets()
        parser.feed(html)
        scripts = re.findall(r"""['"](https?://[^'"]+)['"]""", html)
        assert not [u for u in parser.urls + scripts if u.startswith(("http:", "https:", "//"))], "an asset from outside"
        assert any(u.endswith(".js") for u in parser.urls)
        for asset in parser.urls:
            answer = client.get(asset)
            assert answer.status_code == 200 and len(answer.content) > 1000, asset
        assert client.get("/openapi.json").status_code == 200


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")
def test_swagger_ui_renders_the_endpoints_with_the_internet_cut_off(docs_api, tmp_path):
    dom = render(f"{docs_api}/docs", screenshot=tmp_path / "docs.png")
    assert "/v1/interactions/{interaction_id}/feedback" in dom  # Swagger UI fetched the schema and drew it
    assert "opblock" in dom
