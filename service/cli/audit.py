"""``liaison audit``: verify the audit log as an auditor, over the API or from the database."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from service.audit.database_source import DatabaseLogSource
from service.broker.keys import stored_checkpoint_verifier
from service.cli.common import make_client, run
from service.client import LiaisonAPIError
from service.client.log_monitor import save_checkpoint_note
from service.client.log_source import HttpLogSource
from service.protocol.crypto import KeyFormatError, b64encode_std
from service.protocol.logverify import (
    LogSource,
    LogVerificationError,
    VerificationReport,
    open_checkpoint,
    verify_log,
)
from service.protocol.note import Checkpoint, NoteVerifier
from service.settings import Settings

TOFU_WARNING = (
    "warning: no --vkey given; trusting the checkpoint key {source} on first use: {vkey}\n"
    "         pin it with --vkey to detect a substituted key"
)


@click.group()
def audit() -> None:
    """Verify the broker's transparency log."""


def _verifier_from_option(vkey: str) -> NoteVerifier:
    # A verifier key contains '+' and usually '/', so a file holding one is told apart by
    # existing, not by its spelling.
    text = Path(vkey).read_text().strip() if Path(vkey).is_file() else vkey
    try:
        return NoteVerifier.from_vkey(text)
    except KeyFormatError as exc:
        raise click.ClickException(f"--vkey is not a C2SP verifier key: {exc}") from None


def _trusted(path: Path | None, verifier: NoteVerifier, origin: str) -> Checkpoint | None:
    if path is None or not path.exists():
        return None
    try:
        return open_checkpoint(path.read_text(), verifier, origin)
    except LogVerificationError as exc:
        raise LogVerificationError(f"the trusted checkpoint in {path}: {exc}") from None


async def _verify(
    source: LogSource, verifier: NoteVerifier, origin: str, trusted_file: Path | None
) -> VerificationReport:
    return await verify_log(source, verifier, origin, _trusted(trusted_file, verifier, origin))


async def _verify_over_http(
    url: str,
    key_file: Path,
    ca: Path | None,
    vkey: str | None,
    origin: str | None,
    trusted_file: Path | None,
) -> VerificationReport:
    async with make_client(url, key_file, ca) as client:
        if vkey is not None:
            verifier = _verifier_from_option(vkey)
            # The broker signs checkpoints under its origin as key name.
            origin = origin or verifier.name
        else:
            identity = await client.broker()
            verifier = _verifier_from_option(str(identity["checkpoint_vkey"]))
            origin = origin or str(identity["origin"])
            click.echo(
                TOFU_WARNING.format(source="from GET /v1/broker", vkey=verifier.vkey), err=True
            )
        return await _verify(HttpLogSource(client), verifier, origin, trusted_file)


async def _verify_database(
    database_url: str, vkey: str | None, origin: str | None, trusted_file: Path | None
) -> VerificationReport:
    if origin is None:
        try:
            origin = Settings().origin
        except ValueError as exc:
            raise click.ClickException(f"cannot read the settings for the origin: {exc}") from None
    # A plain engine, not the service's: its SQLite transactions take the write lock up
    # front, and a long verification must not stall a running broker.
    engine = create_async_engine(database_url)
    try:
        async with AsyncSession(engine) as session:
            if vkey is not None:
                verifier = _verifier_from_option(vkey)
            else:
                verifier = await stored_checkpoint_verifier(session, origin)
                click.echo(
                    TOFU_WARNING.format(source="from the broker_keys table", vkey=verifier.vkey),
                    err=True,
                )
            return await _verify(DatabaseLogSource(session), verifier, origin, trusted_file)
    finally:
        await engine.dispose()


@audit.command("verify")
@click.option("--url", envvar="LIAISON_URL", default="https://localhost:8443", show_default=True)
@click.option(
    "--key",
    "key_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="The auditor's private signing JWK (required unless --database).",
)
@click.option(
    "--ca",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    envvar="LIAISON_CA",
    default=None,
    help="CA bundle to trust for HTTPS; default: system store.",
)
@click.option("--vkey", default=None, help="The broker's C2SP verifier key, or a file holding it.")
@click.option(
    "--origin",
    default=None,
    help="The log's origin (default: the broker's, or LIAISON_ORIGIN with --database).",
)
@click.option(
    "--trusted-checkpoint",
    "trusted_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Signed checkpoint from an earlier run: the log must extend it. Updated on success.",
)
@click.option(
    "--database",
    "database_url",
    default=None,
    help="Read the log straight from this SQLAlchemy URL instead of the API.",
)
def verify(
    url: str,
    key_file: Path | None,
    ca: Path | None,
    vkey: str | None,
    origin: str | None,
    trusted_file: Path | None,
    database_url: str | None,
) -> None:
    """Re-verify every entry of the audit log against the broker's signed checkpoint.

    Exits non-zero, naming the first bad entry when it can be located, if any entry was
    altered, removed or reordered, or if the log does not extend the trusted checkpoint.
    """
    try:
        if database_url is not None:
            report = run(_verify_database(database_url, vkey, origin, trusted_file))
        elif key_file is None:
            raise click.UsageError("--key is required unless --database is given")
        else:
            report = run(_verify_over_http(url, key_file, ca, vkey, origin, trusted_file))
    except LogVerificationError as exc:
        raise click.ClickException(f"audit log verification FAILED: {exc}") from None
    except LiaisonAPIError as exc:
        raise click.ClickException(f"the broker refused: {exc}") from None
    except SQLAlchemyError as exc:
        raise click.ClickException(f"cannot read the audit log: {type(exc).__name__}") from None
    _summarise(report, trusted_file)


def _summarise(report: VerificationReport, trusted_file: Path | None) -> None:
    checkpoint = report.checkpoint
    click.echo(f"audit log verified: {checkpoint.origin}")
    click.echo(f"  size         {report.size}")
    click.echo(f"  root         {b64encode_std(report.root_hash)}")
    click.echo(f"  entries      {report.entries_checked} checked")
    if report.consistent_from is None:
        click.echo("  consistency  not checked (no trusted checkpoint)")
    else:
        click.echo(f"  consistency  ok from size {report.consistent_from}")
    if trusted_file is not None:
        save_checkpoint_note(trusted_file, report.checkpoint_note)
        click.echo(f"  saved        checkpoint of size {report.size} to {trusted_file}")
