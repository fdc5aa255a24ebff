"""What every benchmark shares: scratch databases, the machine, statistics, targets."""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import secrets
import statistics
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from service.broker.bootstrap import bootstrap
from service.broker.keys import BrokerKeys, load_broker_keys
from service.db.engine import make_engine, make_sessionmaker
from service.db.migrations import upgrade
from service.protocol.crypto.aead import generate_key

Backend = Literal["sqlite", "postgresql"]
BACKENDS: tuple[Backend, ...] = ("sqlite", "postgresql")
# The administrative database used only to CREATE and DROP the benchmark's own database.
PG_ADMIN_URL = os.environ.get("LIAISON_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


@dataclass(frozen=True)
class ScratchDatabase:
    """A migrated, bootstrapped database that exists for one benchmark run only."""

    backend: Backend
    url: str
    kek: bytes
    keys: BrokerKeys


async def _pg_admin(statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(PG_ADMIN_URL, timeout=10)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _pg_url(database: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return base.replace("postgresql://", "postgresql+asyncpg://", 1) + "/" + database


async def _bootstrap(url: str) -> tuple[bytes, BrokerKeys]:
    kek = generate_key()
    engine = make_engine(url)
    try:
        sessionmaker = make_sessionmaker(engine)
        async with sessionmaker() as session, session.begin():
            await bootstrap(session, kek, datetime.now(UTC), "admin", "Bench admin", "ZZ")
        async with sessionmaker() as session:
            return kek, await load_broker_keys(session, kek)
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def scratch_database(backend: Backend) -> AsyncIterator[ScratchDatabase]:
    """Create, migrate and bootstrap a throw-away database; drop it afterwards, whatever happens.

    SQLite lives in a temporary directory; PostgreSQL is a database ``bench_<random>`` on the
    server at ``LIAISON_BENCH_PG_URL``. Raises whatever the driver raises if PostgreSQL is
    unreachable.
    """
    with tempfile.TemporaryDirectory(prefix="liaison-bench-") as workdir:
        name = f"bench_{secrets.token_hex(6)}"
        if backend == "sqlite":
            url = f"sqlite+aiosqlite:///{Path(workdir) / (name + '.sqlite3')}"
        else:
            await _pg_admin(f'CREATE DATABASE "{name}"')
            url = _pg_url(name)
        try:
            # Alembic's env.py runs its own event loop, so it gets a thread of its own.
            await asyncio.to_thread(upgrade, url)
            kek, keys = await _bootstrap(url)
            yield ScratchDatabase(backend=backend, url=url, kek=kek, keys=keys)
        finally:
            if backend == "postgresql":
                await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def stop(task: asyncio.Task[None]) -> None:
    """Cancel ``task`` and wait until it has ended.

    Cancels again until it ends: on Python 3.11, ``Integrator.run``'s
    ``asyncio.wait_for(wake.wait(), ...)`` swallows a cancellation that arrives while the wake
    event is being set (CPython gh-86296), so a single ``cancel()`` can leave it running.
    """
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.1)
    error = None if task.cancelled() else task.exception()
    if error is not None:
        raise error


def machine() -> dict[str, str]:
    """The CPU count and model, memory, Python and database versions of this machine."""
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    return {
        "cpus": str(os.cpu_count()),
        "cpu": model,
        "memory": memory,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


async def postgresql_version() -> str:
    """``SHOW server_version`` of the benchmark server, or why it is unreachable."""
    import asyncpg

    try:
        connection = await asyncpg.connect(PG_ADMIN_URL, timeout=10)
    except Exception as exc:  # reported, not raised: the SQLite half can still run
        return f"unreachable ({type(exc).__name__})"
    try:
        return str(await connection.fetchval("SHOW server_version"))
    finally:
        await connection.close()


@dataclass(frozen=True)
class Distribution:
    """Summary statistics of a sample, in the sample's unit."""

    count: int
    median: float
    p95: float
    p99: float
    maximum: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Distribution:
        """Summarise ``values``; raises ValueError if there are none."""
        if not values:
            raise ValueError("no samples to summarise")
        ordered = sorted(values)

        def quantile(q: float) -> float:
            # Nearest rank: a reported p99 is a value that was actually observed.
            rank = max(0, min(len(ordered) - 1, int(q * len(ordered) + 0.5) - 1))
            return ordered[rank]

        return cls(
            count=len(ordered),
            median=statistics.median(ordered),
            p95=quantile(0.95),
            p99=quantile(0.99),
            maximum=ordered[-1],
        )


def against(value: float, target: float, *, higher_is_better: bool) -> str:
    """``"(target 5,000, 1.48x)"`` with a verdict: the factor is always >1 when met."""
    if higher_is_better:
        factor = value / target if target else float("inf")
    else:
        factor = target / value if value else float("inf")
    # Judged at the precision shown: at 5,000/s over 10 s one 100-entry transaction is 0.2%.
    verdict = "met" if round(factor, 2) >= 1 else "MISSED"
    return f"(target {target:,g}, {factor:.2f}x, {verdict})"
