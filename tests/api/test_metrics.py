"""Metrics across worker processes, and the domain's figures: two workers share one set of
counters, the database gauges are reported once, the domain counters move."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from service.live import LiveServer
from service.protocol.crypto import b64url_encode
from tests.alerts.conftest import Member, MemberFactory, member
from tests.conftest import DatabaseFactory, Template

__all__ = ["member"]
HEALTH = 'liaison_http_requests_total{method="GET",route="/v1/health",status="200"}'


def sample(text: str, name: str) -> float | None:
    """The value of the sample ``name`` (with its labels) in exposition ``text``."""
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    return None if match is None else float(match.group(1))


@pytest.fixture
def workers_database(databases: DatabaseFactory, template: Template) -> str:
    # Synchronous: copying a PostgreSQL database runs its own event loop.
    return databases.copy_of(template.url)


@pytest.fixture
async def two_workers(
    workers_database: str, template: Template, tmp_path: Path
) -> AsyncIterator[LiveServer]:
    data = tmp_path / "data"
    data.mkdir()
    counters = tmp_path / "prometheus"
    counters.mkdir()
    live = LiveServer(
        data,
        database_url=workers_database,
        workers=2,
        env={"LIAISON_KEK": b64url_encode(template.kek), "PROMETHEUS_MULTIPROC_DIR": str(counters)},
        log_path=tmp_path / "server.log",
    )
    async with live:
        yield live


async def test_two_workers_report_one_total(two_workers: LiveServer) -> None:
    requests = 24
    for _ in range(requests):
        # A connection each, so that both workers take some.
        async with httpx.AsyncClient(base_url=two_workers.base_url) as client:
            assert (await client.get("/v1/health")).status_code == 200
    for _ in range(5):
        async with httpx.AsyncClient(base_url=two_workers.base_url) as client:
            text = (await client.get("/metrics")).text
        assert sample(text, HEALTH) == requests
        # The database gauges appear once, not once per worker.
        assert text.count("\nliaison_audit_backlog ") == 1


@pytest.fixture
def plain(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def _scrape(plain: httpx.AsyncClient) -> str:
    return (await plain.get("/metrics")).text


async def test_domain_figures_exist_and_move(
    plain: httpx.AsyncClient, member: MemberFactory
) -> None:
    fr: Member = await member("fr-police", groups=("eu",), country="FR")
    de: Member = await member("de-bka", groups=("eu",), country="DE")
    before = await _scrape(plain)
    for name in (
        "liaison_reviews_pending",
        "liaison_purges_overdue",
        "liaison_audit_backlog",
        "liaison_checkpoint_age_seconds",
        "process_cpu_seconds_total",
    ):
        assert sample(before, name) is not None, name
    await fr.post()
    items, _ = await de.poll()
    assert len(items) == 1
    unsigned = await plain.get("/v1/agencies")
    assert unsigned.status_code == 401
    after = await _scrape(plain)

    def moved(name: str) -> float:
        return (sample(after, name) or 0) - (sample(before, name) or 0)

    assert moved("liaison_feed_items_served_total") == 1
    assert moved('liaison_publication_decisions_total{outcome="received"}') == 1
    assert (
        moved('liaison_authentication_failures_total{type="urn:liaison:problem:unsigned-request"}')
        == 1
    )
