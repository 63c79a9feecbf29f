"""The report in a headless Chromium, offline: a full-page screenshot for the docs, and the page
with every network request blocked for tests that check it needs none."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Page, Route, sync_playwright

CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
DEFAULT_CHROMIUM = "/usr/bin/chromium"
RENDER_TIMEOUT_MS = 60_000

# True once every plotly figure on the page has drawn its SVG.
FIGURES_DRAWN = (
    "() => [...document.querySelectorAll('.plotly-graph-div')]"
    ".every(div => div.querySelector('.main-svg') !== null)"
)


def chromium_path() -> str | None:
    """The Chromium to drive: `ACCOUNTS_CHROMIUM`, else Debian's, else `chromium` on the PATH."""
    configured = os.environ.get("ACCOUNTS_CHROMIUM")
    if configured:
        return configured
    if Path(DEFAULT_CHROMIUM).is_file():
        return DEFAULT_CHROMIUM
    return shutil.which("chromium")


@dataclass
class OfflinePage:
    """An open report page, with what went wrong while it loaded."""

    page: Page
    console_errors: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)


@contextmanager
def open_offline(report: Path, width: int = 1400, height: int = 900) -> Iterator[OfflinePage]:
    """Open the report with every request other than file: aborted (and recorded), and wait until
    every figure is drawn."""
    executable = chromium_path()
    if executable is None:
        raise FileNotFoundError("no Chromium found: set ACCOUNTS_CHROMIUM or install chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            visit = OfflinePage(page)
            page.on("console", lambda message: _record_error(visit, message.type, message.text))
            page.on("pageerror", lambda error: visit.console_errors.append(str(error)))

            def block_network(route: Route) -> None:
                if route.request.url.startswith("file:"):
                    route.continue_()
                else:
                    visit.blocked_requests.append(route.request.url)
                    route.abort()

            page.route("**/*", block_network)
            page.goto(Path(report).resolve().as_uri(), wait_until="load")
            page.wait_for_function(FIGURES_DRAWN, timeout=RENDER_TIMEOUT_MS)
            yield visit
        finally:
            browser.close()


def screenshot(report: Path, png: Path, width: int = 1400, max_height: int | None = None) -> None:
    """A full-page PNG of the report, offline; cut at `max_height` pixels when given (the call
    lists make the page long, and a docs image need not show all of them)."""
    with open_offline(report, width=width) as visit:
        clip = None
        if max_height is not None:
            height = min(max_height, visit.page.evaluate("document.documentElement.scrollHeight"))
            clip = {"x": 0, "y": 0, "width": width, "height": height}
        Path(png).parent.mkdir(parents=True, exist_ok=True)
        visit.page.screenshot(path=str(png), full_page=True, clip=clip)


def _record_error(visit: OfflinePage, kind: str, text: str) -> None:
    if kind == "error":
        visit.console_errors.append(text)
