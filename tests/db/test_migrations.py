"""Migrations are the only way the schema is made: they round-trip and match the models."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import create_async_engine

from service.db.migrations import (
    alembic_config,
    downgrade,
    ensure_current,
    head_revision,
    upgrade,
)
from service.tables import Base
from tests.conftest import DatabaseFactory


def _drift(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def _inspect(url: str) -> tuple[set[str], list[object]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(_tables)
            drift = await connection.run_sync(_drift)
        await ensure_current(engine) if tables - {"alembic_version"} else None
        return tables, drift
    finally:
        await engine.dispose()


def test_upgrade_downgrade_upgrade_without_drift(databases: DatabaseFactory) -> None:
    url = databases.new_empty()
    model_tables = {table.name for table in Base.metadata.sorted_tables}

    upgrade(url)
    tables, drift = asyncio.run(_inspect(url))
    assert model_tables <= tables
    assert drift == []

    downgrade(url, "base")
    tables, _ = asyncio.run(_inspect(url))
    assert tables <= {"alembic_version"}

    upgrade(url)
    tables, drift = asyncio.run(_inspect(url))
    assert model_tables <= tables
    assert drift == [], f"models and migrations differ: {drift}"


def _parent(down_revision: str | Sequence[str] | None) -> str:
    """The one revision below, ``base`` for the first; the history has no merges to walk."""
    if down_revision is None:
        return "base"
    assert isinstance(down_revision, str), f"merge revision below {down_revision}"
    return down_revision


def test_every_step_downgrades(databases: DatabaseFactory) -> None:
    """Each revision's downgrade undoes exactly its upgrade (walk down one step at a time)."""
    url = databases.new_empty()
    upgrade(url)
    script = ScriptDirectory.from_config(alembic_config(url))
    revisions = [_parent(r.down_revision) for r in script.walk_revisions()]
    assert revisions[-1] == "base"
    for revision in revisions:  # newest first: down one step, back up, down again
        downgrade(url, revision)
        upgrade(url)
        downgrade(url, revision)
    upgrade(url, head_revision())
    _, drift = asyncio.run(_inspect(url))
    assert drift == []
