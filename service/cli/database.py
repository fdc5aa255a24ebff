"""``liaison db``: schema migrations (the only way the schema is made)."""

from __future__ import annotations

from pathlib import Path

import click

from service.cli.common import data_dir_option, database_option, run, settings_for
from service.db.engine import make_engine
from service.db.migrations import current_revision, downgrade, head_revision, upgrade


@click.group()
def db() -> None:
    """Database schema migrations.

    \b
    Examples:
      liaison db current --data-dir liaison-data
      liaison db upgrade --database postgresql+asyncpg://postgres@127.0.0.1/liaison
    """


@db.command("upgrade")
@data_dir_option
@database_option
@click.option("--revision", default="head", show_default=True)
def db_upgrade(data_dir: Path, database_url: str | None, revision: str) -> None:
    """Migrate the schema up to REVISION.

    \b
    Examples:
      liaison db upgrade --data-dir liaison-data
    """
    settings = settings_for(data_dir, database_url)
    upgrade(settings.resolved_database_url, revision)
    click.echo(f"upgraded to {revision}")


@db.command("downgrade")
@data_dir_option
@database_option
@click.option("--revision", required=True)
def db_downgrade(data_dir: Path, database_url: str | None, revision: str) -> None:
    """Migrate the schema down to REVISION ('base' removes every table).

    \b
    Examples:
      liaison db downgrade --data-dir liaison-data --revision base
    """
    settings = settings_for(data_dir, database_url)
    downgrade(settings.resolved_database_url, revision)
    click.echo(f"downgraded to {revision}")


@db.command("current")
@data_dir_option
@database_option
def db_current(data_dir: Path, database_url: str | None) -> None:
    """Show the database's revision and the code's head revision.

    \b
    Examples:
      liaison db current --data-dir liaison-data
    """
    settings = settings_for(data_dir, database_url)

    async def read() -> str | None:
        engine = make_engine(settings.resolved_database_url)
        try:
            return await current_revision(engine)
        finally:
            await engine.dispose()

    click.echo(f"database {run(read()) or 'empty'}, code head {head_revision()}")
