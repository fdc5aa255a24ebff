"""Test fixtures: a real database per test on SQLite and PostgreSQL, the real app over httpx.

Every database-backed test runs once per backend (ids ``[sqlite]`` and ``[postgresql]``).
Each test gets its own copy of a migrated, bootstrapped template database, so tests never
see each other's rows and runs never collide. PostgreSQL comes from ``LIAISON_TEST_PG_URL``
(default: the local server); without it the PostgreSQL cases are skipped with the reason,
except under ``CI=true``, where a missing PostgreSQL fails the run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from service.app import create_app
from service.broker.bootstrap import bootstrap
from service.client import LiaisonClient
from service.db.engine import make_engine, make_sessionmaker
from service.db.migrations import upgrade
from service.protocol.clock import ManualClock
from service.protocol.crypto import EncryptionPrivateKey, SigningPrivateKey, b64url_encode
from service.protocol.crypto.aead import generate_key
from service.settings import Settings

PG_ADMIN_URL = os.environ.get("LIAISON_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgresql")
ADMIN_ID = "admin"


def _asyncpg_url(database: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return base.replace("postgresql://", "postgresql+asyncpg://", 1) + "/" + database


async def _pg_execute(statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _pg_unavailable_reason() -> str | None:
    try:
        asyncio.run(_pg_execute("SELECT 1"))
    except Exception as exc:
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(exc).__name__}: {exc}"
    return None


@dataclass
class DatabaseFactory:
    """Makes fresh, migrated databases of one backend for one test run."""

    backend: str
    workdir: Path
    run_id: str
    created: list[str]

    def new_empty(self) -> str:
        name = f"liaison_{self.run_id}_{len(self.created)}"
        self.created.append(name)
        if self.backend == "sqlite":
            return f"sqlite+aiosqlite:///{self.workdir / (name + '.sqlite3')}"
        asyncio.run(_pg_execute(f'CREATE DATABASE "{name}"'))
        return _asyncpg_url(name)

    def copy_of(self, template_url: str) -> str:
        name = f"liaison_{self.run_id}_{len(self.created)}"
        self.created.append(name)
        if self.backend == "sqlite":
            source = Path(template_url.split(":///", 1)[1])
            target = self.workdir / (name + ".sqlite3")
            shutil.copyfile(source, target)
            return f"sqlite+aiosqlite:///{target}"
        template = template_url.rsplit("/", 1)[1]
        asyncio.run(_pg_execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        return _asyncpg_url(name)

    def drop_all(self) -> None:
        if self.backend != "postgresql":
            return
        for name in self.created:
            asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass(frozen=True)
class Template:
    url: str
    kek: bytes
    admin_key: SigningPrivateKey


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name = str(request.param)
    if name == "postgresql":
        reason = _pg_unavailable_reason()
        if reason is not None:
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(f"CI=true requires PostgreSQL: {reason}")
            pytest.skip(reason)
    return name


@pytest.fixture(scope="session")
def databases(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(
        backend=backend,
        workdir=tmp_path_factory.mktemp(f"db-{backend}"),
        run_id=uuid.uuid4().hex[:10],
        created=[],
    )
    yield factory
    factory.drop_all()


async def _bootstrap_template(url: str, kek: bytes) -> SigningPrivateKey:
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            clock = ManualClock()
            return await bootstrap(session, kek, clock.now(), ADMIN_ID, "Test admin", "ZZ")
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def template(databases: DatabaseFactory) -> Template:
    url = databases.new_empty()
    upgrade(url)
    kek = generate_key()
    admin_key = asyncio.run(_bootstrap_template(url, kek))
    return Template(url=url, kek=kek, admin_key=admin_key)


@pytest.fixture
def database_url(databases: DatabaseFactory, template: Template) -> str:
    return databases.copy_of(template.url)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def settings(database_url: str, template: Template, tmp_path: Path) -> Settings:
    return Settings(
        env="test",
        data_dir=tmp_path / "data",
        database_url=database_url,
        kek=b64url_encode(template.kek),
    )


@pytest.fixture
async def app(settings: Settings, clock: ManualClock) -> AsyncIterator[FastAPI]:
    application = create_app(settings, clock)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """A separate engine for inspecting the test's database directly."""
    engine = create_async_engine(database_url)
    yield engine
    await engine.dispose()


ClientFactory = Callable[[SigningPrivateKey], LiaisonClient]


@pytest.fixture
async def client_for(app: FastAPI, clock: ManualClock) -> AsyncIterator[ClientFactory]:
    """SDK clients talking to the app in-process over httpx, signing with the test clock."""
    clients: list[LiaisonClient] = []

    def make(key: SigningPrivateKey) -> LiaisonClient:
        client = LiaisonClient(
            "http://testserver",
            key,
            transport=httpx.ASGITransport(app=app),
            clock=clock.now,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def admin(template: Template, client_for: ClientFactory) -> LiaisonClient:
    return client_for(template.admin_key)


@dataclass
class Party:
    """A registered agency with its private keys."""

    id: str
    signing: SigningPrivateKey
    encryption: EncryptionPrivateKey
    client: LiaisonClient


@pytest.fixture
def register(admin: LiaisonClient, client_for: ClientFactory) -> Callable[..., Any]:
    async def make(
        agency_id: str,
        *,
        roles: tuple[str, ...] = ("agency",),
        groups: tuple[str, ...] = (),
        country: str = "FR",
        attributes: dict[str, Any] | None = None,
    ) -> Party:
        signing, encryption = SigningPrivateKey.generate(), EncryptionPrivateKey.generate()
        await admin.register_agency(
            {
                "id": agency_id,
                "name": f"Agency {agency_id}",
                "country": country,
                "groups": list(groups),
                "roles": list(roles),
                "attributes": attributes or {},
                "signing_keys": [signing.public.to_jwk()],
                "encryption_keys": [encryption.public.to_jwk()],
            }
        )
        return Party(agency_id, signing, encryption, client_for(signing))

    return make


async def settle(app: FastAPI) -> None:
    """Wait until every committed audit entry is integrated (whoever integrates it)."""
    integrator = app.state.runtime.integrator
    assert integrator is not None
    await integrator.drain(wait=True)


async def table_snapshot(
    engine: AsyncEngine, app: FastAPI | None = None
) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, for asserting that a rejected request changed nothing.

    With ``app``, the audit queue is settled first so that background integration cannot
    move rows between the two snapshots being compared.
    """
    from service.tables import Base

    if app is not None:
        await settle(app)
    snapshot: dict[str, list[tuple[Any, ...]]] = {}
    async with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            rows = (await connection.execute(text(f'SELECT * FROM "{table.name}"'))).all()
            snapshot[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return snapshot


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say plainly how many tests passed, failed or were skipped on each backend."""
    counts: Counter[tuple[str, str]] = Counter()
    for outcome in ("passed", "failed", "skipped", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", "")
            for name in BACKENDS:
                if f"[{name}" in nodeid or f"-{name}]" in nodeid or f"-{name}-" in nodeid:
                    counts[(name, outcome)] += 1
    if counts:
        terminalreporter.section("backends")
        for name in BACKENDS:
            parts = [f"{counts[(name, o)]} {o}" for o in ("passed", "failed", "skipped", "error")]
            terminalreporter.write_line(f"{name:<11} " + ", ".join(parts))
