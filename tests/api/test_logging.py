"""Structured logs: a request id per request (accepted, returned, generated), one JSON access
line per request with its principal, route template, status and duration, and application
events such as a policy reload."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from service.api.logging import JSONFormatter, configure_logging, formatter_for
from service.client import LiaisonClient


class _Lines:
    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line]

    def access(self) -> list[dict[str, Any]]:
        return [r for r in self.records() if r.get("event") == "http.request"]


@pytest.fixture
def logs() -> Iterator[_Lines]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    configure_logging("INFO", stream)
    yield _Lines(stream)
    root.handlers[:], root.level = saved[0], saved[1]


@pytest.fixture
def plain(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


def test_json_lines_when_not_a_terminal() -> None:
    assert isinstance(formatter_for(io.StringIO()), JSONFormatter)


async def test_a_well_formed_request_id_is_kept_and_returned(
    plain: httpx.AsyncClient, logs: _Lines
) -> None:
    answer = await plain.get("/v1/health", headers={"X-Request-ID": "trace-42.a:b"})
    assert answer.headers["x-request-id"] == "trace-42.a:b"
    [line] = logs.access()
    assert line["request_id"] == "trace-42.a:b"


async def test_a_missing_or_malformed_request_id_is_replaced(
    plain: httpx.AsyncClient, logs: _Lines
) -> None:
    generated = (await plain.get("/v1/health")).headers["x-request-id"]
    replaced = (
        await plain.get("/v1/health", headers={"X-Request-ID": "bad id" + "x" * 200})
    ).headers["x-request-id"]
    assert len(generated) == 32 and len(replaced) == 32 and generated != replaced
    assert [line["request_id"] for line in logs.access()] == [generated, replaced]


async def test_the_access_line_names_principal_route_status_and_duration(
    admin: LiaisonClient, logs: _Lines
) -> None:
    await admin.request("GET", "/v1/agencies/admin")
    [line] = [r for r in logs.access() if r["route"] == "/v1/agencies/{agency_id}"]
    assert line["principal"] == "admin"
    assert line["method"] == "GET" and line["status"] == 200
    assert isinstance(line["duration_ms"], float) and line["level"] == "info"
    assert line["logger"] == "liaison.access" and line["request_id"]


async def test_a_policy_reload_is_logged_with_its_version(app: FastAPI, logs: _Lines) -> None:
    version = await app.state.runtime.reload_policy(actor="operator")
    [event] = [r for r in logs.records() if r.get("event") == "policy.loaded"]
    assert event["policy_version"] == version and event["actor"] == "operator"
