"""``/v1/ready`` checks what the docs say: the database at the current migration, the broker
keys, the policy set, and the running audit integrator."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from service.api.problems import problem_type


async def _ready(app: FastAPI) -> httpx.Response:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        return await client.get("/v1/ready")


async def test_ready_when_everything_is_loaded(app: FastAPI) -> None:
    assert (await _ready(app)).status_code == 200


async def test_not_ready_without_the_policy_set(app: FastAPI) -> None:
    app.state.runtime.policy = None
    answer = await _ready(app)
    assert answer.status_code == 503
    assert answer.json()["type"] == problem_type("not-ready")
    assert "policy" in answer.json()["detail"]


async def test_not_ready_when_the_integrator_has_stopped(app: FastAPI) -> None:
    task = app.state.runtime.background["audit-integrator"]
    task.cancel()
    answer = await _ready(app)
    assert answer.status_code == 503
    assert "integrator" in answer.json()["detail"]
