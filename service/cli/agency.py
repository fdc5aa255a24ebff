"""``liaison agency``: the registry, through the signed API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from service.cli.common import make_client, run, with_client_options, write_private_jwk
from service.client import LiaisonAPIError
from service.protocol.crypto import SigningPrivateKey
from service.protocol.vocabulary import Role


@click.group()
def agency() -> None:
    """Register agencies and manage their keys (signed with an admin's or the agency's key)."""


def _echo(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True))


@agency.command("add")
@with_client_options
@click.option("--id", "agency_id", required=True)
@click.option("--name", required=True)
@click.option("--country", required=True)
@click.option("--group", "groups", multiple=True)
@click.option(
    "--role",
    "roles",
    multiple=True,
    type=click.Choice([r.value for r in Role]),
    default=(Role.AGENCY.value,),
    show_default=True,
)
@click.option("--attribute", "attributes", multiple=True, help="NAME=JSON, e.g. biometrics=true")
@click.option(
    "--public",
    "public_file",
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="PREFIX.public.json written by `liaison keygen`.",
)
def add(
    url: str,
    key_file: Path,
    ca: Path | None,
    agency_id: str,
    name: str,
    country: str,
    groups: tuple[str, ...],
    roles: tuple[str, ...],
    attributes: tuple[str, ...],
    public_file: Path,
) -> None:
    """Register an agency with the public keys from `liaison keygen`."""
    parsed: dict[str, Any] = {}
    for item in attributes:
        attr_name, _, raw = item.partition("=")
        try:
            parsed[attr_name] = json.loads(raw)
        except ValueError:
            parsed[attr_name] = raw
    public = json.loads(public_file.read_text())
    body = {
        "id": agency_id,
        "name": name,
        "country": country,
        "groups": list(groups),
        "roles": list(roles),
        "attributes": parsed,
        "signing_keys": public["signing_keys"],
        "encryption_keys": public.get("encryption_keys", []),
    }
    _echo(run(_call(url, key_file, ca, "register_agency", body)))


@agency.command("list")
@with_client_options
def list_(url: str, key_file: Path, ca: Path | None) -> None:
    """List registered principals."""
    for item in run(_call(url, key_file, ca, "list_agencies")):
        click.echo(
            f"{item['id']:<24} {item['country']:<3} {','.join(item['roles']):<20} {item['name']}"
        )


@agency.command("show")
@with_client_options
@click.argument("agency_id")
def show(url: str, key_file: Path, ca: Path | None, agency_id: str) -> None:
    """Show one principal with its public keys."""
    _echo(run(_call(url, key_file, ca, "get_agency", agency_id)))


@agency.command("rotate-key")
@with_client_options
@click.option("--id", "agency_id", required=True)
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--retire-old", is_flag=True, help="Revoke the old key once the new one works.")
def rotate_key(
    url: str, key_file: Path, ca: Path | None, agency_id: str, out: Path, retire_old: bool
) -> None:
    """Add a new signing key (written to OUT); the old one stays valid until its not_after."""
    new_key = SigningPrivateKey.generate()
    write_private_jwk(out, new_key.to_jwk())
    _echo(run(_call(url, key_file, ca, "add_key", agency_id, new_key.public.to_jwk())))
    if retire_old:
        old_kid = json.loads(key_file.read_text())["kid"]
        _echo(run(_call(url, out, ca, "revoke_key", agency_id, old_kid, "rotated")))


@agency.command("revoke-key")
@with_client_options
@click.option("--id", "agency_id", required=True)
@click.option("--kid", required=True)
@click.option("--reason", default=None)
def revoke_key(
    url: str, key_file: Path, ca: Path | None, agency_id: str, kid: str, reason: str | None
) -> None:
    """Revoke a key immediately."""
    _echo(run(_call(url, key_file, ca, "revoke_key", agency_id, kid, reason)))


async def _call(url: str, key_file: Path, ca: Path | None, method: str, *args: Any) -> Any:
    async with make_client(url, key_file, ca) as client:
        try:
            return await getattr(client, method)(*args)
        except LiaisonAPIError as error:
            raise click.ClickException(str(error)) from None
