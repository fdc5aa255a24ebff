"""The interactive API docs (Swagger UI at /docs, ReDoc at /redoc), served by the app itself.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, and their favicon and fonts from
other hosts: on an air-gapped network they are blank. Here the assets come from an installed
package (``fastapi-offline``, which ships Swagger UI's and ReDoc's distribution builds) and
are served under ``/docs/assets``; the pages reference nothing outside the app.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
ASSETS_PATH = "/docs/assets"
ASSETS_NAME = "docs-assets"
# Swagger UI's config: no online validator badge (it would fetch from validator.swagger.io).
SWAGGER_UI_PARAMETERS = {"validatorUrl": None}
# The bundles hold URLs in code; one is fetched: ReDoc's sidebar shows Redocly's logo from
# its CDN. The pages let the browser load images and data from the app only (the logo then
# hides itself), so opening the docs sends nothing outside, air-gapped or not.
CONTENT_SECURITY_POLICY = "img-src 'self' data:; connect-src 'self'"


def assets_directory() -> Path:
    """The installed Swagger UI and ReDoc files (``swagger-ui-bundle.js``,
    ``swagger-ui.css``, ``redoc.standalone.js``, ``favicon.png``). Raises FileNotFoundError
    if the package is installed without them."""
    directory = Path(str(files("fastapi_offline") / "static"))
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png"):
        if not (directory / name).is_file():
            raise FileNotFoundError(f"fastapi-offline ships no {name} in {directory}")
    return directory


def _drop_framework_pages(app: FastAPI) -> None:
    """Remove the CDN-backed pages FastAPI registered itself (if ``docs_url`` or
    ``redoc_url`` were left on), so that ours answer at their paths."""
    framework = {app.docs_url, app.redoc_url}
    if app.docs_url and app.swagger_ui_oauth2_redirect_url:
        framework.add(app.swagger_ui_oauth2_redirect_url)
    framework.discard(None)
    app.router.routes[:] = [
        route for route in app.router.routes if getattr(route, "path", None) not in framework
    ]
    app.docs_url = app.redoc_url = None


def install_docs(app: FastAPI, enabled: bool) -> None:
    """Serve the docs pages and their assets from the app when ``enabled``; otherwise leave
    the app without any, removing ours if an earlier call installed them (FastAPI's own CDN
    pages are removed either way).

    Safe to call more than once. Raises ValueError if docs are enabled on an app without an
    OpenAPI document (``openapi_url=None``), FileNotFoundError if the assets are missing.
    """
    _drop_framework_pages(app)
    if not enabled:
        # Off means off, even if an earlier call turned the pages on.
        ours = {DOCS_PATH, REDOC_PATH}
        app.router.routes[:] = [
            route
            for route in app.router.routes
            if getattr(route, "path", None) not in ours
            and getattr(route, "name", None) != ASSETS_NAME
        ]
        return
    if any(getattr(r, "name", None) == ASSETS_NAME for r in app.router.routes):
        return
    openapi_url = app.openapi_url
    if openapi_url is None:
        raise ValueError("the docs pages need the OpenAPI document: openapi_url is None")
    app.mount(ASSETS_PATH, StaticFiles(directory=assets_directory()), name=ASSETS_NAME)
    title = f"{app.title} - API"

    def prefixed(request: Request, path: str) -> str:
        # Behind a proxy that mounts the app under a prefix, every URL carries it.
        return str(request.scope.get("root_path", "")).rstrip("/") + path

    def confined(page: HTMLResponse) -> HTMLResponse:
        page.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        return page

    async def swagger_ui(request: Request) -> HTMLResponse:
        return confined(
            get_swagger_ui_html(
                openapi_url=prefixed(request, openapi_url),
                title=title,
                swagger_js_url=prefixed(request, f"{ASSETS_PATH}/swagger-ui-bundle.js"),
                swagger_css_url=prefixed(request, f"{ASSETS_PATH}/swagger-ui.css"),
                swagger_favicon_url=prefixed(request, f"{ASSETS_PATH}/favicon.png"),
                swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
            )
        )

    async def redoc(request: Request) -> HTMLResponse:
        return confined(
            get_redoc_html(
                openapi_url=prefixed(request, openapi_url),
                title=title,
                redoc_js_url=prefixed(request, f"{ASSETS_PATH}/redoc.standalone.js"),
                redoc_favicon_url=prefixed(request, f"{ASSETS_PATH}/favicon.png"),
                with_google_fonts=False,
            )
        )

    app.add_route(DOCS_PATH, swagger_ui, include_in_schema=False)
    app.add_route(REDOC_PATH, redoc, include_in_schema=False)
