"""Serve the console's static files from the package, each answer with the security headers.

``install_console(app)`` mounts ``GET /console`` (the page) and ``/console/static/*`` (its
ES modules and stylesheet). Nothing is fetched from elsewhere: the policy below allows only
this origin, no inline script or style, and no framing, so the console works air-gapped.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC_DIR = Path(__file__).resolve().parent / "static"
PREFIX = "/console"

CONSOLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONSOLE_CSP.encode("ascii")),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    # The console holds keys for a session: a shared cache must never keep its pages.
    (b"cache-control", b"no-store"),
)


class ConsoleHeaders:
    """ASGI middleware: every response under ``/console`` carries SECURITY_HEADERS (whatever
    the status: a 404 under /console is a console page too)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in SECURITY_HEADERS}
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": [*headers, *SECURITY_HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _index(request: Request) -> Response:
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8")


async def _slash(request: Request) -> Response:
    return RedirectResponse(PREFIX, status_code=308)


def install_console(app: FastAPI) -> None:
    """Serve the console on ``app``: ``GET /console`` and ``/console/static/*`` from the
    package directory, every answer with the CSP, ``nosniff`` and ``no-referrer`` headers.

    Raises RuntimeError if the package was installed without its static files.
    """
    if not (STATIC_DIR / "index.html").is_file():
        raise RuntimeError(f"the console's files are missing from {STATIC_DIR}")
    app.add_api_route(PREFIX, _index, methods=["GET"], include_in_schema=False)
    app.add_api_route(PREFIX + "/", _slash, methods=["GET"], include_in_schema=False)
    app.mount(PREFIX + "/static", StaticFiles(directory=STATIC_DIR), name="console-static")
    app.add_middleware(ConsoleHeaders)
