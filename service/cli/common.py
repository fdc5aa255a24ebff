"""Shared CLI plumbing: settings from options, key files, running async code."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click

from service.client import LiaisonAPIError, LiaisonClient
from service.protocol.crypto import KeyFormatError, SigningPrivateKey
from service.settings import Settings

T = TypeVar("T")

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("liaison-data"),
    show_default=True,
    envvar="LIAISON_DATA_DIR",
    help="Where keys and the SQLite database live.",
)
database_option = click.option(
    "--database",
    "database_url",
    default=None,
    envvar="LIAISON_DATABASE_URL",
    help="SQLAlchemy async URL (default: SQLite in the data directory).",
)


def settings_for(data_dir: Path, database_url: str | None) -> Settings:
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


def read_signing_key(path: Path) -> SigningPrivateKey:
    try:
        return SigningPrivateKey.from_jwk(json.loads(path.read_text()))
    except (OSError, ValueError, KeyFormatError) as exc:
        raise click.ClickException(f"cannot read signing key {path}: {exc}") from None


client_options = [
    click.option(
        "--url", envvar="LIAISON_URL", default="https://localhost:8443", show_default=True
    ),
    click.option(
        "--key",
        "key_file",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        required=True,
        help="Private signing JWK of the principal making the request.",
    ),
    click.option(
        "--ca",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        envvar="LIAISON_CA",
        default=None,
        help="CA bundle to trust for HTTPS (e.g. DATA_DIR/tls/ca.pem); default: system store.",
    ),
]


def with_client_options(function: Any) -> Any:
    for option in reversed(client_options):
        function = option(function)
    return function


def make_client(url: str, key_file: Path, ca: Path | None) -> LiaisonClient:
    return LiaisonClient(url, read_signing_key(key_file), verify=ca if ca else True)


def fail_on_api_error(error: LiaisonAPIError) -> click.ClickException:
    return click.ClickException(str(error))
