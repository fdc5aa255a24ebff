"""Running Alembic from code: the only way Liaison's schema is made or changed."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from service.protocol.errors import NotReady


def script_location() -> Path:
    """Where the migration scripts are: the checkout's ``migrations/`` when running from source
    (editable installs, tests), else the copy installed as ``service.migrations``."""
    checkout = Path(__file__).resolve().parents[2] / "migrations"
    if (checkout / "env.py").is_file():
        return checkout
    return Path(str(resources.files("service.migrations")))


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at the migration scripts and ``url``."""
    config = Config()
    config.set_main_option("script_location", str(script_location()))
    config.set_main_option("sqlalchemy.url", url)
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` up to ``revision`` (blocking; run in a thread if async)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Migrate the database at ``url`` down to ``revision`` (``base`` empties it)."""
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str:
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"migrations must have exactly one head, found {heads}")
    return heads[0]


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(_current)


async def ensure_current(engine: AsyncEngine) -> None:
    """Return if the database is at the head revision; raise NotReady saying what to run."""
    try:
        current = await current_revision(engine)
    except Exception as exc:  # any driver error means the database cannot be used
        raise NotReady(f"database unreachable: {type(exc).__name__}") from None
    head = head_revision()
    if current != head:
        raise NotReady(
            f"database schema is at {current or 'nothing'}, code needs {head}: "
            "run `liaison db upgrade` (or `liaison init` for a new data directory)"
        )
