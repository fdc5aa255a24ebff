"""``liaison alert`` and ``liaison feed``: the partner's side of the exchange."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from service.cli.common import (
    emit_fields,
    emit_json,
    emit_table,
    make_client,
    output_option,
    read_json_object,
    read_signing_key,
    run,
    with_client_options,
)
from service.protocol.vocabulary import Disposition

as_option = click.option("--as", "principal_id", required=True, help="Your principal id.")


async def _with_alerts(
    url: str,
    key_file: Path,
    ca: Path | None,
    principal_id: str,
    enc: None,
    action: Any,
) -> Any:
    from service.client.alerts import AlertsClient

    async with make_client(url, key_file, ca) as client:
        return await action(AlertsClient(client, principal_id, enc))


@click.group()
def alert() -> None:
    """Post, inspect, withdraw and answer alerts.

    \b
    Examples:
      liaison alert post alert.json --as fr-police --key fr-police.sign.jwk
    """


@alert.command("post")
@with_client_options
@as_option
@click.argument("alert_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--quiet", "-q", is_flag=True, help="Print only the alert id.")
def post(
    url: str, key_file: Path, ca: Path | None, principal_id: str, alert_file: Path, quiet: bool
) -> None:
    """Sign ALERT_FILE (JSON: clear claims plus a "content" object) as an SD-JWT and post it.

    Prints the alert id, its status (published, or pending_review when a screening
    policy holds it for a reviewer) and the policy decisions.

    \b
    Examples:
      liaison alert post alert.json --as fr-police --key fr-police.sign.jwk
      ID=$(liaison alert post alert.json --as fr-police --key fr-police.sign.jwk -q)
    \b
    alert.json:
      {"kind": "diffusion", "category": "fraud", "tlp": "amber",
       "audience": {"agencies": [], "groups": ["eu"], "all": false},
       "purpose": "investigate", "legal_basis": "treaty",
       "content": {"narrative": "...", "subject": {"name": "..."}}}
    """
    document = read_json_object(alert_file, "alert file")
    content = document.pop("content", None)
    if not isinstance(content, dict) or not content:
        raise click.ClickException('the alert file needs a non-empty "content" object')
    key = read_signing_key(key_file)
    result = run(
        _with_alerts(
            url,
            key_file,
            ca,
            principal_id,
            None,
            lambda a: a.compose_and_post(key, document, content),
        )
    )
    click.echo(result["alert_id"] if quiet else json.dumps(result, indent=2))


@alert.command("template")
@click.option(
    "--example",
    type=click.Choice(["diffusion-investigate", "red-notice-arrest", "tlp-red-bulletin"]),
    default="diffusion-investigate",
    show_default=True,
    help="Which example to print.",
)
@click.option("--schema", is_flag=True, help="Print the JSON Schema of alert.json instead.")
def template(example: str, schema: bool) -> None:
    """Print a valid alert.json to start from (or its JSON Schema).

    Every field is described in the schema (also served at GET /v1/schemas/alert.json);
    edit the audience, purpose and content, then post it.

    \b
    Examples:
      liaison alert template > alert.json
      liaison alert template --example red-notice-arrest
      liaison alert template --schema > alert.schema.json
    """
    from service.protocol.alert_schema import alert_examples, alert_schema

    document = alert_schema() if schema else alert_examples()[example]
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


@alert.command("show")
@with_client_options
@as_option
@click.argument("alert_id")
@output_option
def show(
    url: str, key_file: Path, ca: Path | None, principal_id: str, alert_id: str, output: str
) -> None:
    """Status, decisions and dispositions (as much as you may see).

    \b
    Examples:
      liaison alert show 0b6f...-... --as fr-police --key fr-police.sign.jwk
      liaison alert show ID --as fr-police --key fr-police.sign.jwk --output json
    """
    result = run(_with_alerts(url, key_file, ca, principal_id, None, lambda a: a.show(alert_id)))
    if output == "json":
        emit_json(result)
        return
    lists = {k: v for k, v in result.items() if isinstance(v, list) and v}
    emit_fields(f"alert {alert_id}", {k: v for k, v in result.items() if k not in lists})
    for name, rows in lists.items():
        if all(isinstance(row, dict) for row in rows):
            columns = sorted({c for row in rows for c in row})
            emit_table(name, columns, [[row.get(c) for c in columns] for row in rows])


@alert.command("withdraw")
@with_client_options
@as_option
@click.argument("alert_id")
@click.option("--reason", required=True)
def withdraw(
    url: str, key_file: Path, ca: Path | None, principal_id: str, alert_id: str, reason: str
) -> None:
    """Withdraw your alert; every recipient gets a withdrawal item.

    \b
    Examples:
      liaison alert withdraw ID --as fr-police --key fr-police.sign.jwk --reason "solved"
    """
    result = run(
        _with_alerts(url, key_file, ca, principal_id, None, lambda a: a.withdraw(alert_id, reason))
    )
    click.echo(json.dumps(result, indent=2))


@alert.command("disposition")
@with_client_options
@as_option
@click.argument("alert_id")
@click.option(
    "--status",
    required=True,
    type=click.Choice([d.value for d in Disposition]),
)
@click.option("--reason", required=True)
def disposition(
    url: str,
    key_file: Path,
    ca: Path | None,
    principal_id: str,
    alert_id: str,
    status: str,
    reason: str,
) -> None:
    """Answer an alert you received: each member decides for itself.

    \b
    Examples:
      liaison alert disposition ID --as de-bka --key de-bka.sign.jwk \\
          --status acting --reason "open case"
    """
    result = run(
        _with_alerts(
            url, key_file, ca, principal_id, None, lambda a: a.dispose(alert_id, status, reason)
        )
    )
    click.echo(json.dumps(result, indent=2))
