"""The console's JavaScript runs in the real browser: headless Chromium (the system package)
driven by Playwright, on a page served from ``service/console/static`` over
``http://127.0.0.1:<port>`` (WebCrypto needs a secure context, and localhost is one).

Chromium is launched once per session with a fresh user-data directory; each test gets its
own page. A missing ``/usr/bin/chromium`` fails the tests: ``.ci/run`` installs it.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import BrowserContext, Page, async_playwright

STATIC = Path(__file__).resolve().parents[2] / "service" / "console" / "static"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class _QuietStaticHandler(SimpleHTTPRequestHandler):
    """Serves the static directory without logging every request to stderr."""

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="session")
def console_origin() -> Iterator[str]:
    """``http://127.0.0.1:<free port>`` serving service/console/static, for the session."""
    handler = functools.partial(_QuietStaticHandler, directory=str(STATIC))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="console-static", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="session")
def chromium_executable() -> Path:
    """The system Chromium; a missing one fails (never skips) the tests that need it."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the console tests need the system Chromium, "
            "which .ci/run installs (apt-get install chromium)"
        )
    return CHROMIUM


@pytest.fixture(scope="session")
def chromium_profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh, empty user-data directory for this session's Chromium."""
    return tmp_path_factory.mktemp("chromium-profile")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def chromium_context(
    chromium_executable: Path, chromium_profile: Path
) -> AsyncIterator[BrowserContext]:
    """Headless system Chromium with a fresh user-data directory, for the session."""
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(chromium_profile),
            executable_path=str(chromium_executable),
            headless=True,
            args=CHROMIUM_ARGS,
        )
        try:
            yield context
        finally:
            await context.close()


@pytest_asyncio.fixture(loop_scope="session")
async def browser_page(
    chromium_context: BrowserContext, console_origin: str
) -> AsyncIterator[Page]:
    """A fresh page on the console's origin (a secure context), closed after the test."""
    page = await chromium_context.new_page()
    try:
        response = await page.goto(f"{console_origin}/js/protocol.js")
        assert response is not None
        assert response.ok, f"the static server answered {response.status}"
        assert await page.evaluate("window.isSecureContext"), "WebCrypto needs a secure context"
        yield page
    finally:
        await page.close()
