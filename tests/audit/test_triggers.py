"""The database itself refuses to change or remove audit rows (migration 0002's triggers)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import settle

APPEND_ONLY = ("audit_entries", "audit_nodes", "audit_checkpoints")

# One statement per table and operation; each would change at least one existing row.
UPDATES = {
    "audit_entries": "UPDATE audit_entries SET leaf = :junk WHERE idx = 0",
    "audit_nodes": "UPDATE audit_nodes SET hash = :junk WHERE level = 0 AND idx = 0",
    "audit_checkpoints": "UPDATE audit_checkpoints SET root = :junk",
}
JUNK = b"\x00" * 32


async def rows(engine: AsyncEngine, table: str) -> list[tuple[Any, ...]]:
    async with engine.connect() as connection:
        result = await connection.execute(text(f"SELECT * FROM {table}"))
        return sorted((tuple(row) for row in result.all()), key=repr)


@pytest.fixture
async def log(app: FastAPI, register: Any) -> None:
    await register("fr-police")
    await settle(app)


async def assert_refused(engine: AsyncEngine, table: str, statement: str) -> None:
    before = await rows(engine, table)
    assert before, f"{table} is empty, so the statement would prove nothing"
    with pytest.raises(DBAPIError, match="append-only"):
        async with engine.begin() as connection:
            await connection.execute(text(statement), {"junk": JUNK})
    assert await rows(engine, table) == before


@pytest.mark.usefixtures("log")
@pytest.mark.parametrize("table", APPEND_ONLY)
async def test_update_is_refused(engine: AsyncEngine, table: str) -> None:
    await assert_refused(engine, table, UPDATES[table])


@pytest.mark.usefixtures("log")
@pytest.mark.parametrize("table", APPEND_ONLY)
async def test_delete_is_refused(engine: AsyncEngine, table: str) -> None:
    await assert_refused(engine, table, f"DELETE FROM {table}")


@pytest.mark.usefixtures("log")
@pytest.mark.parametrize("table", APPEND_ONLY)
async def test_truncate_is_refused_on_postgresql(engine: AsyncEngine, table: str) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE; its DELETE trigger covers an unqualified DELETE")
    await assert_refused(engine, table, f"TRUNCATE {table}")


@pytest.mark.usefixtures("log")
async def test_appending_is_still_allowed(app: FastAPI, register: Any, engine: AsyncEngine) -> None:
    # The triggers must not refuse the integrator's own INSERTs.
    before = len(await rows(engine, "audit_entries"))
    await register("de-bka")
    await settle(app)
    assert len(await rows(engine, "audit_entries")) > before
