"""Health, readiness, metrics, the broker identity, body limits and problem responses."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from service.api.problems import problem_type
from service.app import create_app
from service.client import LiaisonAPIError, LiaisonClient
from service.settings import Settings


@pytest.fixture
async def plain(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield client


async def test_health_and_ready(plain: httpx.AsyncClient) -> None:
    assert (await plain.get("/v1/health")).json() == {"status": "ok"}
    ready = await plain.get("/v1/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "broker_keys": "ok"}


async def test_broker_identity(plain: httpx.AsyncClient, settings: Settings) -> None:
    identity = (await plain.get("/v1/broker")).json()
    assert identity["origin"] == settings.origin
    name, keyid_hex, key_b64 = identity["checkpoint_vkey"].split("+", 2)
    assert name == settings.origin and len(keyid_hex) == 8 and key_b64
    assert identity["kb_key"]["crv"] == "Ed25519" and "d" not in identity["kb_key"]


async def test_metrics_count_requests_by_route_template(
    plain: httpx.AsyncClient, admin: LiaisonClient
) -> None:
    await admin.get_agency("admin")
    with pytest.raises(LiaisonAPIError):
        await admin.get_agency("nobody")
    text = (await plain.get("/metrics")).text
    series = 'liaison_http_requests_total{method="GET",route="/v1/agencies/{agency_id}"'
    assert series + ',status="200"} 1.0' in text
    assert series + ',status="404"} 1.0' in text
    assert "liaison_http_request_duration_seconds_bucket" in text


async def test_oversized_body_is_413_before_authentication(
    settings: Settings, plain: httpx.AsyncClient
) -> None:
    body = b"x" * (settings.max_body_bytes + 1)
    response = await plain.post("/v1/agencies", content=body)
    assert response.status_code == 413
    assert response.json()["type"] == problem_type("payload-too-large")


async def test_body_limit_is_configurable(settings: Settings, admin: LiaisonClient) -> None:
    small = settings.model_copy(update={"max_body_bytes": 2048})
    application = create_app(small)
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://testserver"
        ) as client,
    ):
        response = await client.post("/v1/agencies", content=b"{" + b" " * 3000 + b"}")
    assert response.status_code == 413


async def test_unknown_route_is_a_problem(plain: httpx.AsyncClient) -> None:
    response = await plain.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_not_ready_before_migrations(tmp_path, template) -> None:  # type: ignore[no-untyped-def]
    from service.protocol.crypto import b64url_encode

    settings = Settings(
        env="test",
        data_dir=tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}",
        kek=b64url_encode(template.kek),
    )
    application = create_app(settings)
    from service.protocol.errors import NotReady

    with pytest.raises(NotReady, match="liaison db upgrade"):
        async with application.router.lifespan_context(application):
            pass


def test_production_refuses_missing_secrets(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="LIAISON_KEK and LIAISON_DATABASE_URL"):
        Settings(env="production", data_dir=tmp_path)
    with pytest.raises(ValueError, match="LIAISON_KEK"):
        Settings(env="production", data_dir=tmp_path, database_url="postgresql+asyncpg://x/y")
