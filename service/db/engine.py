"""Engine construction for SQLite (WAL) and PostgreSQL (asyncpg)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _sqlite_engine(url: str, *, connections: int, pragmas: list[str], begin: str) -> AsyncEngine:
    """A SQLite engine of ``connections`` pooled connections, each set up with ``pragmas``,
    whose transactions start with ``begin``.

    The driver's own lazy transactions would upgrade a read lock to a write lock
    mid-transaction, which SQLite answers with SQLITE_BUSY instead of waiting; we take over
    BEGIN ourselves (``isolation_level = None`` and the ``begin`` event).
    """
    engine = create_async_engine(
        url, connect_args={"timeout": 30}, pool_size=connections, max_overflow=0, pool_timeout=60
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _set_up(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in [*pragmas, "PRAGMA busy_timeout=30000"]:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    return engine


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An async engine configured for Liaison's guarantees on either database.

    SQLite gets WAL, enforced foreign keys and a busy timeout so that concurrent writers wait
    instead of failing; PostgreSQL gets a bounded pool.
    """
    if is_sqlite(url):
        # One connection per process: every transaction is a writer (BEGIN IMMEDIATE), so
        # they run one at a time anyway; queueing for the pool's single connection is fair
        # and immediate, where SQLite's busy handler would sleep and retry (seconds of p99).
        # Code must therefore never open a second session while holding one.
        # synchronous=FULL: a commit is on disk before the response that depends on it.
        return _sqlite_engine(
            url,
            connections=1,
            pragmas=[
                "PRAGMA journal_mode=WAL",
                "PRAGMA foreign_keys=ON",
                "PRAGMA synchronous=FULL",
            ],
            begin="BEGIN IMMEDIATE",
        )
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def make_read_engine(url: str) -> AsyncEngine | None:
    """A second engine for read-only snapshots on SQLite; None on PostgreSQL (its pool is
    shared by readers and writers).

    SQLite's one writer connection (above) serialises every transaction of the process. In
    WAL mode readers need no lock at all, so work that only reads and then computes (a
    publication's policy decisions are made before its transaction, see
    ``service.alerts.prepare``) reads here instead of queueing behind the writer. Each
    connection refuses writes (``query_only``) and its transactions are deferred (a
    snapshot), never ``BEGIN IMMEDIATE``.
    """
    if not is_sqlite(url):
        return None
    return _sqlite_engine(url, connections=2, pragmas=["PRAGMA query_only=ON"], begin="BEGIN")


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
