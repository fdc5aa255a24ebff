"""``liaison agency``: the registry, through the signed API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from service.cli.common import (
    emit_fields,
    emit_table,
    make_client,
    output_option,
    read_json_object,
    run,
    with_client_options,
    write_private_jwk,
)
from service.protocol.vocabulary import Role


@click.group()
def agency() -> None:
    """Register agencies and manage their keys (signed with an admin's or the agency's key).

    \b
    Roles (--role, repeatable):
      agency    posts alerts, polls its feed, answers with dispositions (the default)
      reviewer  reads held alerts and decides reviews (`liaison review`)
      auditor   reads and verifies the audit log (`liaison audit`, `report`, `purges`)
      admin     registers agencies, revokes keys, reloads policies

    \b
    Examples:
      liaison agency list --key liaison-data/admin.jwk
      liaison agency show fr-police --key fr-police.sign.jwk --output json
    """


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
    """Register an agency with the public keys from `liaison keygen`.

    \b
    Examples:
      liaison keygen --out fr-police
      liaison agency add --key liaison-data/admin.jwk --id fr-police \\
          --name "Police nationale" --country FR --group eu --public fr-police.public.json
      liaison agency add --key liaison-data/admin.jwk --id ccf --name "Review body" \\
          --country ZZ --role reviewer --public ccf.public.json
    """
    parsed: dict[str, Any] = {}
    for item in attributes:
        attr_name, _, raw = item.partition("=")
        try:
            parsed[attr_name] = json.loads(raw)
        except ValueError:
            parsed[attr_name] = raw
    public = read_json_object(public_file, "public key file")
    if "signing_keys" not in public:
        raise click.ClickException(f"{public_file} has no signing_keys: use `liaison keygen`")
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
@output_option
def list_(url: str, key_file: Path, ca: Path | None, output: str) -> None:
    """List registered principals.

    \b
    Examples:
      liaison agency list --key liaison-data/admin.jwk
      liaison agency list --key fr-police.sign.jwk --output json
    """
    items = run(_call(url, key_file, ca, "list_agencies"))
    if output == "json":
        _echo(items)
        return
    emit_table(
        None,
        ["id", "country", "roles", "groups", "name"],
        [
            [i["id"], i["country"], ",".join(i["roles"]), ",".join(i.get("groups", [])), i["name"]]
            for i in items
        ],
    )


@agency.command("show")
@with_client_options
@click.argument("agency_id")
@output_option
def show(url: str, key_file: Path, ca: Path | None, agency_id: str, output: str) -> None:
    """Show one principal with its public keys.

    \b
    Examples:
      liaison agency show fr-police --key fr-police.sign.jwk
    """
    item = run(_call(url, key_file, ca, "get_agency", agency_id))
    if output == "json":
        _echo(item)
        return
    keys = [*item.get("signing_keys", []), *item.get("encryption_keys", [])]
    emit_fields(
        f"agency {agency_id}",
        {k: v for k, v in item.items() if k not in ("signing_keys", "encryption_keys")},
    )
    columns = ["kid", "use", "crv", "not_after", "revoked_at"]
    emit_table("keys", columns, [[k.get(c) for c in columns] for k in keys])


@agency.command("rotate-key")
@with_client_options
@click.option("--id", "agency_id", required=True)
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--retire-old", is_flag=True, help="Revoke the old key once the new one works.")
def rotate_key(
    url: str, key_file: Path, ca: Path | None, agency_id: str, out: Path, retire_old: bool
) -> None:
    """Add a new signing key (written to OUT); the old one stays valid until its not_after.

    Name OUT AGENCY.N.sign.jwk: `feed poll` then still finds the agency and its
    encryption keys (AGENCY.enc.jwk and any AGENCY.N.enc.jwk).

    \b
    Examples:
      liaison agency rotate-key --key fr-police.sign.jwk --id fr-police \\
          --out fr-police.2.sign.jwk --retire-old
    """
    from service.protocol.crypto import SigningPrivateKey

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
    """Revoke a key immediately.

    \b
    Examples:
      liaison agency revoke-key --key liaison-data/admin.jwk --id fr-police --kid KID
    """
    _echo(run(_call(url, key_file, ca, "revoke_key", agency_id, kid, reason)))


async def _call(url: str, key_file: Path, ca: Path | None, method: str, *args: Any) -> Any:
    async with make_client(url, key_file, ca) as client:
        return await getattr(client, method)(*args)
