"""Shared CLI plumbing: settings from options, key files, running async code, output.

Only click and the standard library are imported at module level: ``liaison --help`` and
the client commands must not pay for the server's imports (see test_startup.py).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from service.client import LiaisonClient
    from service.protocol.crypto import SigningPrivateKey
    from service.settings import Settings

T = TypeVar("T")

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("liaison-data"),
    show_default=True,
    envvar="LIAISON_DATA_DIR",
    show_envvar=True,
    help="Where keys and the SQLite database live.",
)
database_option = click.option(
    "--database",
    "database_url",
    default=None,
    envvar="LIAISON_DATABASE_URL",
    show_envvar=True,
    help="SQLAlchemy async URL (default: SQLite in the data directory).",
)


def settings_for(data_dir: Path, database_url: str | None) -> Settings:
    from service.settings import Settings

    try:
        return Settings(data_dir=data_dir, database_url=database_url)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def write_private_jwk(path: Path, jwk: dict[str, str]) -> None:
    """Write a private JWK readable by its owner only; refuses to overwrite."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise click.ClickException(f"{path} exists; refusing to overwrite a key file") from None
    with os.fdopen(fd, "w") as handle:
        json.dump(jwk, handle, indent=2)
        handle.write("\n")


def read_json_object(path: Path, what: str) -> dict[str, Any]:
    """The JSON object in ``path``; a ClickException naming the file if it is missing,
    malformed or not an object."""
    try:
        document = json.loads(path.read_text())
    except OSError as exc:
        raise click.ClickException(f"cannot read {what} {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise click.ClickException(f"{what} {path} is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise click.ClickException(
            f"{what} {path} must hold a JSON object, not a {type(document).__name__}"
        )
    return document


def read_signing_key(path: Path) -> SigningPrivateKey:
    from service.protocol.crypto import KeyFormatError, SigningPrivateKey

    jwk = read_json_object(path, "signing key")
    try:
        return SigningPrivateKey.from_jwk(jwk)
    except (ValueError, KeyError, KeyFormatError) as exc:
        raise click.ClickException(f"{path} is not a private signing JWK: {exc}") from None


client_options = [
    click.option(
        "--url",
        envvar="LIAISON_URL",
        show_envvar=True,
        default="https://localhost:8443",
        show_default=True,
        help="The broker's base URL.",
    ),
    click.option(
        "--key",
        "key_file",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        envvar="LIAISON_KEY",
        show_envvar=True,
        required=True,
        help="Private signing JWK of the principal making the request.",
    ),
    click.option(
        "--ca",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        envvar="LIAISON_CA",
        show_envvar=True,
        default=None,
        help="CA bundle to trust for HTTPS (e.g. DATA_DIR/tls/ca.pem); default: system store.",
    ),
]


def with_client_options(function: Any) -> Any:
    for option in reversed(client_options):
        function = option(function)
    return function


def make_client(url: str, key_file: Path, ca: Path | None) -> LiaisonClient:
    """A signed client; the top-level handler turns its network and API errors into one line."""
    import ssl

    from service.client import LiaisonClient

    click.get_current_context().meta["liaison.url"] = url
    key = read_signing_key(key_file)
    try:
        return LiaisonClient(url, key, verify=ca if ca else True)
    except ssl.SSLError as exc:
        raise click.ClickException(
            f"cannot load the CA bundle {ca} (is it a PEM certificate?): {exc.reason or exc}"
        ) from None


async def call(url: str, key_file: Path, ca: Path | None, action: Callable[..., Any]) -> Any:
    """Run ``await action(client)`` with a signed client, closing it afterwards."""
    async with make_client(url, key_file, ca) as client:
        return await action(client)


output_option = click.option(
    "--output",
    "-o",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    envvar="LIAISON_OUTPUT",
    show_envvar=True,
    help="Human-readable table, or JSON for scripts.",
)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True))


def emit_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A table with headers (rich), to stdout."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False, title_justify="left")
    for column in columns:
        table.add_column(column, no_wrap=True)
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    # Piped output keeps whole values on one line (ids stay greppable).
    console = Console()
    if not console.is_terminal:
        console = Console(width=10_000)
    console.print(table)


def emit_fields(title: str | None, fields: dict[str, Any]) -> None:
    """One record as a two-column table."""
    rows = [
        (name, json.dumps(value) if isinstance(value, dict | list) else value)
        for name, value in fields.items()
    ]
    emit_table(title, ["field", "value"], rows)
