"""``liaison kek``: make a new key-encryption key and rotate the store onto it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from service.cli.common import data_dir_option, database_option, run, settings_for

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from service.broker.rotation import RotationReport, WrappedColumn
    from service.settings import Settings


@click.group()
def kek() -> None:
    """The key-encryption key (KEK) that wraps every alert's data key and the broker's keys.

    \b
    Examples:
      liaison kek new new-kek.key
      liaison kek rotate --database postgresql+asyncpg://... --new-kek-file new-kek.key
    """


@kek.command("new")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def kek_new(path: Path) -> None:
    """Write a fresh random KEK (base64url, 32 bytes) to PATH, readable by its owner only."""
    from service.broker.keys import write_new_kek

    try:
        write_new_kek(path)
    except FileExistsError:
        raise click.ClickException(f"{path} exists; refusing to overwrite a key file") from None
    click.echo(f"wrote a new key-encryption key to {path}")


@kek.command("rotate")
@data_dir_option
@database_option
@click.option(
    "--new-kek-file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File holding the new KEK (base64url), e.g. from `liaison kek new`.",
)
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1))
def kek_rotate(
    data_dir: Path, database_url: str | None, new_kek_file: Path, batch_size: int
) -> None:
    """Re-wrap every alert's data key and the broker's keys under the new KEK.

    Stop every replica first. The old KEK is read as `liaison serve` reads it (LIAISON_KEK,
    else the data directory's kek.key). Safe to run again if interrupted. Afterwards start
    the service with the new KEK only, and destroy the old one once a backup taken after
    the rotation has been checked.

    \b
    Examples:
      LIAISON_KEK=<old> liaison kek rotate --database postgresql+asyncpg://... \\
          --new-kek-file /run/secrets/new-kek
    """
    from service.broker.keys import parse_kek, read_kek
    from service.protocol.errors import LiaisonError

    settings = settings_for(data_dir, database_url)
    try:
        old = read_kek(settings)
        new = parse_kek(new_kek_file.read_text())
        report = run(_rotate(settings, old, new, batch_size))
    except LiaisonError as exc:
        raise click.ClickException(exc.detail) from None
    for name, count in report.rewrapped.items():
        click.echo(f"{name}: {count} re-wrapped, {report.skipped[name]} already under the new KEK")
    click.echo("done: start the service with the new KEK only")


def alert_key_column() -> WrappedColumn:
    """``alerts.wrapped_key``: each alert's data key, bound to the alert id."""
    from sqlalchemy import Table

    from service.alerts.models import Alert
    from service.alerts.sealing import rewrap
    from service.broker.rotation import WrappedColumn

    return WrappedColumn("alerts", cast(Table, Alert.__table__), "id", "wrapped_key", rewrap)


async def rotate_everything(
    sessionmaker: async_sessionmaker[AsyncSession],
    old_kek: bytes,
    new_kek: bytes,
    now: datetime,
    actor: str = "broker",
    *,
    batch_size: int = 500,
) -> RotationReport:
    """``service.broker.rotation.rotate_kek`` over every column the KEK wraps."""
    from service.broker.rotation import rotate_kek

    return await rotate_kek(
        sessionmaker, old_kek, new_kek, now, actor, [alert_key_column()], batch_size=batch_size
    )


async def _rotate(settings: Settings, old: bytes, new: bytes, batch_size: int) -> RotationReport:
    from datetime import UTC, datetime

    from service.db.engine import make_engine, make_sessionmaker
    from service.db.migrations import ensure_current

    engine = make_engine(settings.resolved_database_url)
    try:
        await ensure_current(engine)
        return await rotate_everything(
            make_sessionmaker(engine), old, new, datetime.now(UTC), batch_size=batch_size
        )
    finally:
        await engine.dispose()
