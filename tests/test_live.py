"""``service.live``: the runtime built outside the lifespan, and live servers."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from service.live import LiveServer, ServerDidNotStart, build_runtime, free_port, open_runtime
from service.protocol.clock import ManualClock
from service.protocol.errors import NotReady
from service.settings import Settings


def test_free_port_can_be_bound() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


async def test_open_runtime_loads_keys_integrator_and_policy(
    settings: Settings, clock: ManualClock
) -> None:
    async with open_runtime(settings, clock) as runtime:
        assert runtime.clock is clock
        assert runtime.require_broker_keys().checkpoint is not None
        assert runtime.integrator is not None
        assert runtime.require_policy() is not None


async def test_build_runtime_without_policy(settings: Settings) -> None:
    async with open_runtime(settings, load_policy=False) as runtime:
        assert runtime.policy is None
        assert runtime.integrator is not None


async def test_build_runtime_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    settings = Settings(
        env="test",
        data_dir=tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}",
        kek="A" * 43,
    )
    with pytest.raises(NotReady, match="liaison db upgrade"):
        await build_runtime(settings)


async def test_serve_app_serves_over_http(app: FastAPI) -> None:
    from service.live import serve_app

    async with serve_app(app, lifespan="off") as base, httpx.AsyncClient() as client:
        assert (await client.get(base + "/v1/ready")).status_code == 200


@pytest.mark.slow
def test_live_server_that_cannot_start_says_why(tmp_path: Path) -> None:
    server = LiveServer(tmp_path / "missing", ready_timeout=30)
    with pytest.raises(ServerDidNotStart, match="run `liaison init` first"), server:
        pass
