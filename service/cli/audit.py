"""``liaison audit``: verify the audit log as an auditor, over the API or from the database."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from service.cli.common import (
    call,
    emit_json,
    emit_table,
    make_client,
    output_option,
    run,
    with_client_options,
)
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

TOFU_WARNING = (
    "warning: no --vkey given; trusting the checkpoint key {source} on first use: {vkey}\n"
    "         pin it with --vkey to detect a substituted key"
)


@click.group()
def audit() -> None:
    """Verify and search the broker's transparency log (auditors).

    \b
    Examples:
      liaison audit verify --key auditor.sign.jwk --trusted-checkpoint cp.txt
      liaison audit search --key auditor.sign.jwk --event alert.published
    """


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


class ProgressSource:
    """A LogSource that shows how many entries were read (a rich progress bar on stderr)."""

    def __init__(self, source: LogSource) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        self._source = source
        self._progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._task = self._progress.add_task("verifying entries", total=None)

    def __enter__(self) -> ProgressSource:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    async def checkpoint_note(self) -> str:
        note = await self._source.checkpoint_note()
        lines = note.splitlines()
        if len(lines) > 1 and lines[1].isdigit():  # C2SP checkpoint: origin, size, root
            self._progress.update(self._task, total=int(lines[1]))
        return note

    async def entries(self, start: int, end: int) -> list[bytes]:
        leaves = await self._source.entries(start, end)
        self._progress.update(self._task, completed=start + len(leaves))
        return leaves

    async def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return await self._source.inclusion_proof(index, size)

    async def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        return await self._source.consistency_proof(old_size, new_size)


async def _verify(
    source: LogSource, verifier: NoteVerifier, origin: str, trusted_file: Path | None
) -> VerificationReport:
    trusted = _trusted(trusted_file, verifier, origin)
    if not sys.stderr.isatty():
        return await verify_log(source, verifier, origin, trusted)
    with ProgressSource(source) as shown:
        return await verify_log(shown, verifier, origin, trusted)


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
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    from service.audit.database_source import DatabaseLogSource
    from service.broker.keys import stored_checkpoint_verifier
    from service.settings import Settings

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
@click.option(
    "--url",
    envvar="LIAISON_URL",
    show_envvar=True,
    default="https://localhost:8443",
    show_default=True,
    help="The broker's base URL.",
)
@click.option(
    "--key",
    "key_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    envvar="LIAISON_KEY",
    show_envvar=True,
    default=None,
    help="The auditor's private signing JWK (required unless --database).",
)
@click.option(
    "--ca",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    envvar="LIAISON_CA",
    show_envvar=True,
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

    \b
    Examples:
      liaison audit verify --key auditor.sign.jwk --trusted-checkpoint cp.txt
      # cp.txt: the last verified signed checkpoint, written on success
      liaison audit verify --database sqlite+aiosqlite:///liaison-data/liaison.sqlite3
    """
    from sqlalchemy.exc import SQLAlchemyError

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
    except SQLAlchemyError as exc:  # only raised when --database imported SQLAlchemy
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


def _entry(leaf: bytes) -> Any:
    try:
        return json.loads(leaf)
    except ValueError:
        return b64encode_std(leaf)


@audit.command("search")
@with_client_options
@click.option("--alert", "alert_id", default=None, help="Entries about this alert.")
@click.option("--partner", default=None, help="Entries naming this partner.")
@click.option("--event", default=None, help="Event name, e.g. alert.published.")
@click.option("--since", type=click.DateTime(), default=None, help="UTC, e.g. 2026-01-01.")
@click.option("--until", type=click.DateTime(), default=None)
@click.option("--after", type=int, default=None, help="Continue after this entry index.")
@click.option("--limit", type=int, default=100, show_default=True)
@output_option
def search(
    url: str,
    key_file: Path,
    ca: Path | None,
    alert_id: str | None,
    partner: str | None,
    event: str | None,
    since: datetime | None,
    until: datetime | None,
    after: int | None,
    limit: int,
    output: str,
) -> None:
    """Search the audit log (auditors); the query itself is logged.

    \b
    Examples:
      liaison audit search --key auditor.sign.jwk --alert ID
      liaison audit search --key auditor.sign.jwk --event alert.published --output json
    """
    from datetime import UTC

    found = run(
        call(
            url,
            key_file,
            ca,
            lambda client: client.audit_search(
                alert_id=alert_id,
                partner=partner,
                event=event,
                since=since.replace(tzinfo=UTC) if since else None,
                until=until.replace(tzinfo=UTC) if until else None,
                after=after,
                limit=limit,
            ),
        )
    )
    if output == "json":
        emit_json(found)
        return
    fixed = ("index", "time", "event", "actor")
    rows = [
        [
            *(entry.get(name, "") for name in fixed),
            json.dumps({k: v for k, v in entry.items() if k not in fixed}, sort_keys=True),
        ]
        for entry in found["entries"]
    ]
    emit_table(None, [*fixed, "details"], rows)
    if found.get("next") is not None:
        click.echo(f"more: --after {found['next']}")


@audit.command("entries")
@with_client_options
@click.option("--start", type=int, required=True)
@click.option("--end", type=int, required=True, help="Exclusive; at most 1000 after START.")
@output_option
def entries(url: str, key_file: Path, ca: Path | None, start: int, end: int, output: str) -> None:
    """Raw entries START <= i < END of the log (auditors).

    \b
    Examples:
      liaison audit entries --key auditor.sign.jwk --start 0 --end 10
    """
    leaves = run(call(url, key_file, ca, lambda client: client.audit_entries(start, end)))
    decoded = [_entry(leaf) for leaf in leaves]
    if output == "json":
        emit_json(decoded)
        return
    emit_table(
        None,
        ["index", "entry"],
        [[start + i, json.dumps(e, sort_keys=True)] for i, e in enumerate(decoded)],
    )


@audit.command("receipt")
@with_client_options
@click.argument("index", type=int)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None)
def receipt(url: str, key_file: Path, ca: Path | None, index: int, out: Path | None) -> None:
    """A tlog-proof receipt of entry INDEX, verifiable offline.

    \b
    Examples:
      liaison audit receipt 12 --key fr-police.sign.jwk --out entry-12.proof
    """
    text = run(call(url, key_file, ca, lambda client: client.receipt(index)))
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text)
        click.echo(f"receipt of entry {index} -> {out}")


@audit.command("proof")
@with_client_options
@click.argument("index", type=int)
@click.option("--size", type=int, required=True, help="Tree size the proof is for.")
@output_option
def proof(url: str, key_file: Path, ca: Path | None, index: int, size: int, output: str) -> None:
    """The inclusion proof of entry INDEX in the tree of SIZE.

    \b
    Examples:
      liaison audit proof 12 --size 40 --key auditor.sign.jwk
    """
    document = run(call(url, key_file, ca, lambda client: client.audit_proof(index, size)))
    if output == "json":
        emit_json(document)
        return
    emit_table(
        f"inclusion proof of {index} in {size}",
        ["#", "hash"],
        [[i, h] for i, h in enumerate(document.get("hashes", []))],
    )
