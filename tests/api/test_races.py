"""Unique-constraint races (issue 11, finding 4a): concurrent requests that collide on a unique
key answer 409 (or the idempotent 200), never 500, on both databases.

The requests run concurrently over the ASGI app (``asyncio.gather``); each request takes its
own session and connection from the app's pool, so on PostgreSQL both transactions pass the
"already there?" read before either commits and the database's unique index decides.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.client.alerts import SD_JWT_MEDIA_TYPE, alert_token
from service.client.signing import SignatureAuth
from service.protocol.clock import ManualClock
from service.protocol.crypto import EncryptionPrivateKey, SigningPrivateKey
from tests.alerts.conftest import default_clear, default_content
from tests.conftest import Party, Template

CONCURRENCY = 6


def signed_client(app: FastAPI, key: SigningPrivateKey, clock: ManualClock) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url="http://testserver",
        transport=httpx.ASGITransport(app=app),
        auth=SignatureAuth(key, clock.now),
    )


@pytest.fixture
async def admin_http(
    app: FastAPI, template: Template, clock: ManualClock
) -> AsyncIterator[httpx.AsyncClient]:
    async with signed_client(app, template.admin_key, clock) as client:
        yield client


def statuses(responses: list[httpx.Response]) -> Counter[int]:
    for response in responses:
        if response.status_code >= 400:
            assert response.headers["content-type"].startswith("application/problem+json")
    return Counter(r.status_code for r in responses)


async def count(engine: AsyncEngine, sql: str, **params: Any) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text(sql), params)).scalar_one())


async def test_same_jti_with_different_bytes_one_wins_the_rest_conflict(
    app: FastAPI,
    clock: ManualClock,
    register: Callable[..., Awaitable[Party]],
    engine: AsyncEngine,
) -> None:
    fr = await register("fr-police", groups=("eu",), country="FR")
    await register("de-bka", groups=("eu",), country="DE")
    async with signed_client(app, fr.signing, clock) as http:
        broker = (await http.get("/v1/broker")).json()
        jti = str(uuid.uuid4())
        tokens = [
            alert_token(
                fr.signing,
                fr.id,
                broker["kb_key"],
                default_clear() | {"jti": jti},
                default_content() | {"narrative": f"version {n}"},
                now=clock.now(),
            )
            for n in range(CONCURRENCY)
        ]
        responses = await asyncio.gather(
            *(
                http.post(
                    "/v1/alerts",
                    content=token.encode("ascii"),
                    headers={"content-type": SD_JWT_MEDIA_TYPE},
                )
                for token in tokens
            )
        )
    assert statuses(responses) == {201: 1, 409: CONCURRENCY - 1}, [r.text for r in responses]
    assert await count(engine, "SELECT count(*) FROM alerts WHERE id = :id", id=jti) == 1


async def test_same_kid_registered_concurrently_one_wins_the_rest_conflict(
    admin_http: httpx.AsyncClient,
    register: Callable[..., Awaitable[Party]],
    engine: AsyncEngine,
) -> None:
    await register("de-bka", groups=("eu",), country="DE")
    jwk = SigningPrivateKey.generate().public.to_jwk()
    responses = await asyncio.gather(
        *(admin_http.post("/v1/agencies/de-bka/keys", json=jwk) for _ in range(CONCURRENCY))
    )
    assert statuses(responses) == {201: 1, 409: CONCURRENCY - 1}, [r.text for r in responses]
    assert (
        await count(engine, "SELECT count(*) FROM principal_keys WHERE kid = :kid", kid=jwk["kid"])
        == 1
    )


async def test_same_agency_registered_concurrently_one_wins_the_rest_conflict(
    admin_http: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    def body() -> dict[str, Any]:
        return {
            "id": "it-polizia",
            "name": "Polizia",
            "country": "IT",
            "groups": [],
            "roles": ["agency"],
            "attributes": {},
            "signing_keys": [SigningPrivateKey.generate().public.to_jwk()],
            "encryption_keys": [EncryptionPrivateKey.generate().public.to_jwk()],
        }

    responses = await asyncio.gather(
        *(admin_http.post("/v1/agencies", json=body()) for _ in range(CONCURRENCY))
    )
    assert statuses(responses) == {201: 1, 409: CONCURRENCY - 1}, [r.text for r in responses]
    assert await count(engine, "SELECT count(*) FROM principals WHERE id = 'it-polizia'") == 1
