"""What the console's end-to-end tests share: a live broker with the console, principals with
key files as ``liaison keygen`` writes them, Chromium driven by Playwright, a request log.

The broker runs under uvicorn in the test's event loop (``service.live.serve_app``) on
``http://127.0.0.1:PORT``: a secure context for WebCrypto, and an authority the non-production
settings accept. It runs on the real clock, since the browser signs with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from playwright.async_api import Browser, Page, Request, async_playwright

from service.app import create_app
from service.client import LiaisonClient
from service.client.alerts import AlertsClient
from service.console import install_console
from service.live import serve_app
from service.protocol.crypto import EncryptionPrivateKey, SigningPrivateKey
from service.settings import Settings
from tests.console.conftest import CHROMIUM, CHROMIUM_ARGS

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "console"
# Playwright's own wait for a condition in the page (not an assertion on elapsed time).
WAIT_MS = 20_000


@dataclass
class Principal:
    """A registered principal with its private keys and the key files the console loads."""

    id: str
    signing: SigningPrivateKey
    encryption: EncryptionPrivateKey
    sign_file: Path
    enc_file: Path
    client: LiaisonClient

    def alerts(self) -> AlertsClient:
        return AlertsClient(self.client, self.id, self.encryption)


@dataclass
class Broker:
    """The live broker: its app, base URL, admin client and a place for key files."""

    app: FastAPI
    base_url: str
    admin: LiaisonClient
    key_dir: Path
    principals: dict[str, Principal] = field(default_factory=dict)
    clients: list[LiaisonClient] = field(default_factory=list)

    async def register(
        self,
        principal_id: str,
        *,
        roles: tuple[str, ...] = ("agency",),
        country: str = "XA",
        groups: tuple[str, ...] = (),
        attributes: dict[str, Any] | None = None,
    ) -> Principal:
        """Register a principal through the admin API and write its keygen-style files."""
        signing, encryption = SigningPrivateKey.generate(), EncryptionPrivateKey.generate()
        await self.admin.register_agency(
            {
                "id": principal_id,
                "name": f"{principal_id} (test)",
                "country": country,
                "groups": list(groups),
                "roles": list(roles),
                "attributes": attributes or {},
                "signing_keys": [signing.public.to_jwk()],
                "encryption_keys": [encryption.public.to_jwk()],
            }
        )
        sign_file = self.key_dir / f"{principal_id}.sign.jwk"
        enc_file = self.key_dir / f"{principal_id}.enc.jwk"
        sign_file.write_text(json.dumps(signing.to_jwk()))
        enc_file.write_text(json.dumps(encryption.to_jwk()))
        client = LiaisonClient(self.base_url, signing)
        self.clients.append(client)
        principal = Principal(principal_id, signing, encryption, sign_file, enc_file, client)
        self.principals[principal_id] = principal
        return principal

    async def settle(self) -> None:
        """Every committed audit entry integrated into a signed checkpoint."""
        integrator = self.app.state.runtime.integrator
        assert integrator is not None
        await integrator.drain(wait=True)


@contextlib.asynccontextmanager
async def live_broker(
    settings: Settings, admin_key: SigningPrivateKey, key_dir: Path
) -> AsyncIterator[Broker]:
    """A broker with the console installed, served on loopback for the block.

    ``install_console`` is applied here because ``create_app`` does not (yet) apply it.
    """
    app = create_app(settings)
    if not any(getattr(route, "path", "") == "/console" for route in app.routes):
        install_console(app)
    async with serve_app(app, log_level="error") as base_url:
        admin = LiaisonClient(base_url, admin_key)
        broker = Broker(app=app, base_url=base_url, admin=admin, key_dir=key_dir)
        try:
            yield broker
        finally:
            for client in [admin, *broker.clients]:
                await client.aclose()


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Headless Chromium (the system's), closed after the block."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class RequestLog:
    """Every request a page made: URL, headers and body, for asserting what left the browser."""

    requests: list[dict[str, Any]] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("request", self._record)

    def _record(self, request: Request) -> None:
        body = request.post_data_buffer
        self.requests.append(
            {
                "method": request.method,
                "url": request.url,
                "headers": dict(request.headers),
                "body": body or b"",
            }
        )

    def text(self) -> str:
        """Everything recorded, as one searchable text."""
        parts = []
        for request in self.requests:
            parts.append(request["url"])
            parts.extend(f"{k}: {v}" for k, v in request["headers"].items())
            parts.append(request["body"].decode("latin-1"))
        return "\n".join(parts)


async def new_console_page(browser: Browser, broker: Broker, log: RequestLog | None = None) -> Page:
    """A fresh browser context (its own IndexedDB) with the console open."""
    context = await browser.new_context(viewport={"width": 1440, "height": 900})
    page = await context.new_page()
    if log is not None:
        log.attach(page)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: errors.append(message.text) if message.type == "error" else None,
    )
    page.console_errors = errors  # type: ignore[attr-defined]
    await page.goto(broker.base_url + "/console")
    return page


async def sign_in(page: Page, principal: Principal, *, keep: bool = False) -> None:
    """Load the principal's key files in the sign-in form and wait for the views."""
    await page.set_input_files("#signing-key", str(principal.sign_file))
    await page.set_input_files("#encryption-key", str(principal.enc_file))
    if keep:
        await page.check("#keep-keys")
    await page.click("#signin-submit")
    await page.wait_for_selector("#views button", timeout=WAIT_MS)
    status = await page.text_content("#status") or ""
    assert f"Signed in as {principal.id}" in status, (
        status,
        await page.text_content("#errors"),
    )


async def open_view(page: Page, view: str) -> None:
    """Switch to a view and wait until it has rendered (its loading line is gone)."""
    await page.click(f"#nav-{view}")
    await page.wait_for_selector(f'#view[data-view="{view}"] h1', timeout=WAIT_MS)


async def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def eventually(check: Callable[[], Awaitable[bool]], attempts: int = 50) -> None:
    """Retry ``check`` (e.g. a reload of a view) until it holds: for effects the server
    applies in the background, such as audit integration. Fails after ``attempts``."""
    for _ in range(attempts):
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError("the condition never held")


EXTERNAL = re.compile(
    r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//|fetch\(\s*["'`]\s*(?:https?:)?//|from\s+["'](?:https?:)?//|import\(\s*["'](?:https?:)?//""",
    re.IGNORECASE,
)
ANY_URL = re.compile(r"https?://[^\s\"'`)<>]+", re.IGNORECASE)
# The one absolute URL an asset may contain: the SVG namespace, an identifier never fetched.
ALLOWED_URLS = frozenset({"http://www.w3.org/2000/svg"})


def external_references(text: str) -> list[str]:
    """Every reference to another origin in an asset: src/href/url(/fetch/import targets,
    and any absolute http(s) URL other than the SVG namespace."""
    found = [match.group(0) for match in EXTERNAL.finditer(text)]
    found += [url for url in ANY_URL.findall(text) if url not in ALLOWED_URLS]
    return found
