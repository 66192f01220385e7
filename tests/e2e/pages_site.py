"""A served demo ledger and a headless Debian Chromium for the browser tests, with axe-core injected
into pages and screenshots saved for reviewers (build/screenshots, named in the README).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from rich.console import Console

from api.app import create_app
from ledger.demo import run_demo
from ledger.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "tests/e2e/axe/node_modules/axe-core/axe.min.js"
SCREENSHOTS = ROOT / "build/screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 780}
ZOOMED = {"width": DESKTOP["width"] // 2, "height": DESKTOP["height"] // 2}


def require_browser() -> None:
    """Skip (fail under CI=true) when chromium or axe-core is missing: scripts/test installs both."""
    missing = [
        what for what, ok in (("chromium", Path(CHROMIUM).exists()), (str(AXE), AXE.exists())) if not ok
    ]
    if missing:
        message = f"the browser tests need {' and '.join(missing)} (scripts/test installs them)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@dataclass
class Site:
    """The demo ledger served on localhost, and its summary (tokens, credentials)."""

    url: str
    summary: dict[str, Any]

    def api(self, token: str) -> httpx.Client:
        """An HTTP client for the API with a bearer token."""
        return httpx.Client(base_url=self.url, headers={"authorization": f"Bearer {token}"}, timeout=30)

    def learner(self, index: int = 0) -> tuple[str, str]:
        """A demo learner's id and token."""
        learner = self.summary["learners"][index]["id"]
        return learner, self.summary["tokens"]["learners"][learner]


def serve_demo(folder: Path) -> Iterator[Site]:
    """Build the demo in `folder` and serve it on a free localhost port until the generator closes."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://localhost:{port}"
    quiet = Console(file=open(os.devnull, "w"))  # noqa: SIM115 (closed with the process)
    summary = run_demo(folder, quiet, url)
    settings = Settings(data_dir=folder, database_url="", mode="development", public_url=url)  # type: ignore[arg-type]
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the demo server did not start")
        time.sleep(0.05)
    try:
        yield Site(url, summary)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def axe_violations(page: Any) -> list[str]:
    """axe-core's WCAG 2.2 A/AA (and best-practice) violations on the page, one line each."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}})).violations"
        ".map(v => v.id + ': ' + v.help + ' at ' + v.nodes.map(n => n.target.join(' ')).join(', '))",
        AXE_TAGS,
    )
    return list(found)


def check_page(page: Any, name: str) -> None:
    """Assert axe finds nothing and nothing scrolls sideways, at desktop width, at 200% zoom (half
    the width in CSS pixels) and at phone width; save a screenshot of the desktop and phone views."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width, viewport in (("desktop", DESKTOP), ("zoom-200", ZOOMED), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        violations = axe_violations(page)
        assert violations == [], f"{name} ({width}): axe found {violations}"
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{name} ({width}): the page scrolls sideways by {overflow} px"
        if width != "zoom-200":
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
