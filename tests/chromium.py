"""Headless Chromium for the rendering checks (report, API docs, Phoenix): skipped where it is not installed."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: every host but loopback fails to resolve: a page that needs the internet shows it
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"


def render(url: str, *, screenshot: Path | None = None, size: tuple[int, int] = (1280, 2000),
           wait_ms: int = 8000, timeout_s: float = 120) -> str:
    """The page's DOM after its scripts ran for ``wait_ms`` (virtual time), optionally a PNG of it."""
    assert CHROMIUM, "chromium is not installed"
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", OFFLINE,
            f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}", f"--virtual-time-budget={wait_ms}"]
    try:
        if screenshot is not None:
            subprocess.run([*args, f"--screenshot={screenshot}", url], check=True, capture_output=True, timeout=timeout_s)
        done = subprocess.run([*args, "--dump-dom", url], check=True, capture_output=True, text=True, timeout=timeout_s)
        return done.stdout
    finally:
        shutil.rmtree(profile, ignore_errors=True)


class _Text(HTMLParser):
    """The text a reader sees: every text node outside script/style, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._hidden += tag in ("script", "style", "template")

    def handle_endtag(self, tag: str) -> None:
        self._hidden -= tag in ("script", "style", "template") and self._hidden > 0

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.parts.append(" ".join(data.split()))


def page_text(dom: str) -> str:
    """A rendered DOM as one line of visible text (words separated by single spaces)."""
    parser = _Text()
    parser.feed(dom)
    return " ".join(parser.parts)
