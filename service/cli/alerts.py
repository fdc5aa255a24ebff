"""``liaison alert`` and ``liaison feed``: the partner's side of the exchange."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import click

from service.cli.common import make_client, run, with_client_options
from service.client import LiaisonAPIError
from service.client.alerts import AlertsClient, DeliveredItem
from service.protocol.crypto import EncryptionPrivateKey, KeyFormatError
from service.protocol.vocabulary import Disposition

as_option = click.option("--as", "principal_id", required=True, help="Your principal id.")


def _encryption_key(path: Path | None, key_file: Path) -> EncryptionPrivateKey:
    if path is None:
        path = Path(str(key_file).replace(".sign.jwk", ".enc.jwk"))
    try:
        return EncryptionPrivateKey.from_jwk(json.loads(path.read_text()))
    except (OSError, ValueError, KeyFormatError) as exc:
        raise click.ClickException(f"cannot read encryption key {path}: {exc}") from None


async def _with_alerts(
    url: str,
    key_file: Path,
    ca: Path | None,
    principal_id: str,
    enc: EncryptionPrivateKey | None,
    action: Any,
) -> Any:
    async with make_client(url, key_file, ca) as client:
        try:
            return await action(AlertsClient(client, principal_id, enc))
        except LiaisonAPIError as error:
            raise click.ClickException(str(error)) from None


@click.group()
def alert() -> None:
    """Post, inspect, withdraw and answer alerts."""


@alert.command("post")
@with_client_options
@as_option
@click.argument("alert_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
def post(url: str, key_file: Path, ca: Path | None, principal_id: str, alert_file: Path) -> None:
    """Sign ALERT_FILE (JSON: clear claims plus a "content" object) as an SD-JWT and post it."""
    from service.cli.common import read_signing_key

    document = json.loads(alert_file.read_text())
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
    click.echo(json.dumps(result, indent=2))


@alert.command("show")
@with_client_options
@as_option
@click.argument("alert_id")
def show(url: str, key_file: Path, ca: Path | None, principal_id: str, alert_id: str) -> None:
    """Status, decisions and dispositions (as much as you may see)."""
    result = run(_with_alerts(url, key_file, ca, principal_id, None, lambda a: a.show(alert_id)))
    click.echo(json.dumps(result, indent=2))


@alert.command("withdraw")
@with_client_options
@as_option
@click.argument("alert_id")
@click.option("--reason", required=True)
def withdraw(
    url: str, key_file: Path, ca: Path | None, principal_id: str, alert_id: str, reason: str
) -> None:
    """Withdraw your alert; every recipient gets a withdrawal item."""
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
    """Answer an alert you received: each member decides for itself."""
    result = run(
        _with_alerts(
            url, key_file, ca, principal_id, None, lambda a: a.dispose(alert_id, status, reason)
        )
    )
    click.echo(json.dumps(result, indent=2))


@click.group()
def feed() -> None:
    """Your feed of alerts, encrypted to you alone."""


def describe(item: DeliveredItem) -> str:
    """One readable line per delivered item."""
    if item.type != "alert":
        reason = item.notice.get("reason", "")
        return f"{item.cursor:>6}  {item.type:<10} {item.alert_id}  reason: {reason}"
    c = item.claims
    shown = ", ".join(sorted(item.content)) or "-"
    return (
        f"{item.cursor:>6}  {c.get('kind', ''):<10} {item.alert_id}  from {item.originator}  "
        f"{c.get('category', '')}/TLP:{str(c.get('tlp', '')).upper()}  "
        f"shown: {shown}  redacted: {item.undisclosed}"
    )


def as_json(item: DeliveredItem) -> dict[str, Any]:
    return {
        "cursor": item.cursor,
        "type": item.type,
        "alert_id": item.alert_id,
        "originator": item.originator,
        "claims": item.claims,
        "content": item.content,
        "redacted": item.undisclosed,
        "notice": item.notice,
    }


@feed.command("poll")
@with_client_options
@as_option
@click.option("--enc-key", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--after", default=None, help="Cursor to continue from.")
@click.option("--follow", is_flag=True, help="Keep long-polling for new items.")
@click.option("--json", "json_file", type=click.Path(dir_okay=False, path_type=Path), default=None)
def poll(
    url: str,
    key_file: Path,
    ca: Path | None,
    principal_id: str,
    enc_key: Path | None,
    after: str | None,
    follow: bool,
    json_file: Path | None,
) -> None:
    """Fetch, decrypt and verify your feed; print a table and write the items as JSON."""
    encryption = _encryption_key(enc_key, key_file)
    target = json_file or Path(f"{principal_id}.feed.json")

    async def go(alerts: AlertsClient) -> None:
        cursor, delivered = after, []
        while True:
            page = await alerts.feed(after=cursor, wait=25 if follow else 0)
            for item in page["items"]:
                opened = await alerts.open_item(item)
                delivered.append(as_json(opened))
                click.echo(describe(opened))
            cursor = page["next"]
            target.write_text(json.dumps(delivered, indent=2) + "\n")
            if not follow:
                break
            await asyncio.sleep(0)
        click.echo(f"next cursor {cursor}; {len(delivered)} items written to {target}")

    run(_with_alerts(url, key_file, ca, principal_id, encryption, go))
