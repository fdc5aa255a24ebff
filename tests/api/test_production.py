"""Production does not answer anyone with its API map or its metrics (issue 11, finding 7)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.app import create_app
from service.protocol.clock import ManualClock
from service.protocol.crypto import b64url_encode
from service.settings import Settings
from tests.conftest import Template

DOCS = ("/docs", "/redoc", "/openapi.json")
TOKEN = "metrics-token-0123456789abcdef"


@contextlib.asynccontextmanager
async def serving(
    database_url: str, template: Template, tmp_path: Path, **options: Any
) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        kek=b64url_encode(template.kek),
        public_url="http://testserver",
        **options,
    )
    app = create_app(settings, ManualClock())
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            base_url="http://testserver", transport=httpx.ASGITransport(app=app)
        ) as client,
    ):
        yield client


@pytest.fixture
def serve(database_url: str, template: Template, tmp_path: Path) -> Any:
    def make(**options: Any) -> contextlib.AbstractAsyncContextManager[httpx.AsyncClient]:
        return serving(database_url, template, tmp_path, **options)

    return make


async def test_production_hides_docs_and_metrics_by_default(serve: Any) -> None:
    async with serve(env="production") as http:
        for path in (*DOCS, "/metrics"):
            response = await http.get(path)
            assert response.status_code == 404, path
            assert response.headers["content-type"].startswith("application/problem+json")
        assert (await http.get("/v1/health")).status_code == 200


async def test_production_serves_docs_when_enabled(serve: Any) -> None:
    async with serve(env="production", api_docs=True) as http:
        for path in DOCS:
            assert (await http.get(path)).status_code == 200, path


@pytest.mark.parametrize(
    "authorization", [None, "", "Bearer", "Bearer wrong", f"bearer {TOKEN}", f"Bearer {TOKEN}x"]
)
async def test_production_metrics_need_the_token(serve: Any, authorization: str | None) -> None:
    headers = {"authorization": authorization} if authorization is not None else {}
    async with serve(env="production", metrics_token=TOKEN) as http:
        assert (await http.get("/metrics", headers=headers)).status_code == 404
        allowed = await http.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
        assert allowed.status_code == 200 and "liaison" in allowed.text


async def test_development_keeps_docs_and_metrics_open(serve: Any) -> None:
    async with serve(env="development") as http:
        for path in (*DOCS, "/metrics"):
            assert (await http.get(path)).status_code == 200, path
