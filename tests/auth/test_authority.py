"""The signed ``@authority`` must be this broker's (issue 11, finding 6): a request correctly
signed for another deployment is refused with ``wrong-authority`` and writes nothing."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from service.client.signing import SignatureAuth
from service.protocol.clock import ManualClock
from service.protocol.crypto import b64url_encode
from service.settings import Settings
from tests.conftest import Template, table_snapshot

PUBLIC_URL = "https://liaison.example, https://liaison.example:8443"


@pytest.fixture
def settings(database_url: str, template: Template, tmp_path: Path) -> Settings:
    return Settings(
        env="test",
        data_dir=tmp_path / "data",
        database_url=database_url,
        kek=b64url_encode(template.kek),
        public_url=PUBLIC_URL,
    )


def admin_http(
    app: FastAPI, template: Template, clock: ManualClock, base: str
) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base,
        transport=httpx.ASGITransport(app=app),
        auth=SignatureAuth(template.admin_key, clock.now),
    )


AGENCY = {
    "id": "xx-agency",
    "name": "X",
    "country": "FR",
    "groups": [],
    "roles": ["agency"],
    "attributes": {},
    "signing_keys": [],
    "encryption_keys": [],
}


@pytest.mark.parametrize("base", ["https://other.example", "http://liaison.example:8080"])
async def test_request_signed_for_another_authority_is_refused_and_writes_nothing(
    app: FastAPI, template: Template, clock: ManualClock, engine: AsyncEngine, base: str
) -> None:
    before = await table_snapshot(engine, app)
    async with admin_http(app, template, clock, base) as http:
        response = await http.post("/v1/agencies", json=AGENCY)
        listed = await http.get("/v1/agencies")
    for answer in (response, listed):
        assert answer.status_code == 401, answer.text
        assert answer.json()["type"] == "urn:liaison:problem:wrong-authority"
    assert await table_snapshot(engine, app) == before


@pytest.mark.parametrize(
    "base", ["https://liaison.example", "https://liaison.example:8443", "http://testserver"]
)
async def test_request_signed_for_a_public_authority_is_accepted(
    app: FastAPI, template: Template, clock: ManualClock, base: str
) -> None:
    async with admin_http(app, template, clock, base) as http:
        response = await http.get("/v1/agencies")
    assert response.status_code == 200, response.text


def test_production_accepts_only_its_public_urls(tmp_path: Path) -> None:
    production = Settings(
        env="production",
        data_dir=tmp_path,
        database_url="postgresql+asyncpg://x/y",
        kek="k" * 43,
        public_url="https://Liaison.example",
    )
    assert production.accepts_authority("liaison.example")
    assert production.accepts_authority("liaison.example:443")
    for authority in ("localhost:8000", "127.0.0.1", "testserver", "other.example", ""):
        assert not production.accepts_authority(authority), authority


def test_production_refuses_to_start_without_a_public_url(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="LIAISON_PUBLIC_URL"):
        Settings(
            env="production", data_dir=tmp_path, database_url="postgresql+asyncpg://x/y", kek="k"
        )
    with pytest.raises(ValueError, match="LIAISON_PUBLIC_URL"):
        Settings(env="test", public_url="ftp://liaison.example")
