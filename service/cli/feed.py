"""``liaison feed poll``: fetch, decrypt and verify a feed, keeping what was saved.

State per agency in the output directory: ``AGENCY.feed.jsonl`` (one verified item a line,
only ever appended, each line fsynced) and ``AGENCY.cursor`` (replaced atomically after the
items it covers are on disk). A poll interrupted anywhere loses nothing and, resumed,
duplicates nothing: an item already in the file (same cursor) is not written twice.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from service.cli.common import (
    emit_json,
    emit_table,
    make_client,
    output_option,
    read_signing_key,
    run,
    with_client_options,
)

if TYPE_CHECKING:
    from service.client.alerts import AlertsClient, DeliveredItem
    from service.protocol.crypto import EncryptionPrivateKey


def agency_of_key_file(key_file: Path) -> str | None:
    """``fr-police`` for ``fr-police.sign.jwk`` or a rotated ``fr-police.2.sign.jwk``."""
    match = re.fullmatch(r"(.+?)(\.\d+)?\.sign\.jwk", key_file.name)
    return match.group(1) if match else None


def encryption_key_files(key_file: Path, agency: str) -> list[Path]:
    """Every ``AGENCY.enc.jwk`` and rotated ``AGENCY.N.enc.jwk`` beside the signing key."""
    folder = key_file.parent
    found = [folder / f"{agency}.enc.jwk", *sorted(folder.glob(f"{agency}.*.enc.jwk"))]
    return [path for path in found if path.is_file()]


def read_encryption_keys(paths: list[Path]) -> list[EncryptionPrivateKey]:
    from service.cli.common import read_json_object
    from service.protocol.crypto import EncryptionPrivateKey, KeyFormatError

    keys = []
    for path in paths:
        try:
            keys.append(EncryptionPrivateKey.from_jwk(read_json_object(path, "encryption key")))
        except (ValueError, KeyError, KeyFormatError) as exc:
            raise click.ClickException(f"{path} is not a private encryption JWK: {exc}") from None
    return keys


class FeedStore:
    """The saved items and cursor of one agency's feed."""

    def __init__(self, directory: Path, agency: str) -> None:
        self.items_file = directory / f"{agency}.feed.jsonl"
        self.cursor_file = directory / f"{agency}.cursor"
        directory.mkdir(parents=True, exist_ok=True)

    def cursor(self) -> str | None:
        try:
            return self.cursor_file.read_text().strip() or None
        except FileNotFoundError:
            return None

    def saved_cursors(self) -> set[str]:
        try:
            lines = self.items_file.read_text().splitlines()
        except FileNotFoundError:
            return set()
        cursors = set()
        for line in lines:
            try:
                cursors.add(str(json.loads(line)["cursor"]))
            except (ValueError, KeyError, TypeError):
                continue  # a torn last line from a crash: the item is fetched again
        return cursors

    def append(self, item: dict[str, Any]) -> None:
        with self.items_file.open("a") as handle:
            handle.write(json.dumps(item, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def advance(self, cursor: str) -> None:
        temporary = self.cursor_file.with_name(self.cursor_file.name + ".tmp")
        with temporary.open("w") as handle:
            handle.write(cursor + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.cursor_file)


@click.group()
def feed() -> None:
    """Your feed of alerts, encrypted to you alone.

    \b
    Examples:
      liaison feed poll --key de-bka.sign.jwk --follow
    """


def describe(item: DeliveredItem) -> list[str]:
    """A table row per delivered item."""
    if item.type != "alert":
        return [
            item.cursor,
            item.type,
            item.alert_id,
            "",
            "",
            f"reason: {item.notice.get('reason', '')}",
        ]
    c = item.claims
    shown = ", ".join(sorted(item.content)) or "-"
    return [
        item.cursor,
        str(c.get("kind", "")),
        item.alert_id,
        item.originator or "",
        f"{c.get('category', '')}/TLP:{str(c.get('tlp', '')).upper()}",
        f"shown: {shown}; redacted: {item.undisclosed}",
    ]


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


COLUMNS = ["cursor", "kind", "alert", "from", "category/TLP", "content"]


@feed.command("poll")
@with_client_options
@click.option(
    "--as",
    "principal_id",
    default=None,
    help="Your agency id (default: from the key file name; checked against the registry).",
)
@click.option(
    "--enc-key",
    "enc_keys",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Private encryption JWK(s); default: every AGENCY.enc.jwk and AGENCY.N.enc.jwk "
    "beside the signing key.",
)
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    envvar="LIAISON_FEED_DIR",
    show_envvar=True,
    help="Where AGENCY.feed.jsonl (the items) and AGENCY.cursor (where to resume) are kept.",
)
@click.option("--after", default=None, help="Cursor to continue from (default: the saved one).")
@click.option("--follow", is_flag=True, help="Keep long-polling; Ctrl-C stops cleanly.")
@click.option(
    "--json",
    "json_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the items fetched by this poll to this file as a JSON array.",
)
@output_option
def poll(
    url: str,
    key_file: Path,
    ca: Path | None,
    principal_id: str | None,
    enc_keys: tuple[Path, ...],
    out_dir: Path,
    after: str | None,
    follow: bool,
    json_file: Path | None,
    output: str,
) -> None:
    """Fetch, decrypt and verify your feed; append the items to OUT_DIR/AGENCY.feed.jsonl.

    The cursor is saved in OUT_DIR/AGENCY.cursor after each item is on disk, so the next
    poll (or one after Ctrl-C) resumes where this one stopped. Items are never
    overwritten: a poll with another agency's key writes that agency's files.

    \b
    Examples:
      liaison feed poll --key de-bka.sign.jwk
      liaison feed poll --key de-bka.sign.jwk --follow --out-dir feeds/
      liaison feed poll --key de-bka.sign.jwk --output json | jq '.items[].alert_id'
    """
    from service.client.alerts import AlertsClient

    key = read_signing_key(key_file)  # before any request: a bad key file is one line
    agency = principal_id or agency_of_key_file(key_file)
    if agency is None:
        raise click.ClickException(
            f"cannot tell the agency from {key_file.name} (expected AGENCY.sign.jwk): pass --as"
        )
    paths = list(enc_keys) or encryption_key_files(key_file, agency)
    if not paths:
        raise click.ClickException(
            f"no encryption key for {agency} beside {key_file} "
            f"(expected {agency}.enc.jwk from `liaison keygen`): pass --enc-key"
        )
    encryption = read_encryption_keys(paths)
    store = FeedStore(out_dir, agency)
    fetched: list[dict[str, Any]] = []
    state = {"cursor": after if after is not None else store.cursor()}

    async def go() -> None:
        async with make_client(url, key_file, ca) as client:
            registered = await client.get_agency(agency)
            if key.kid not in {jwk.get("kid") for jwk in registered.get("signing_keys", [])}:
                raise click.ClickException(
                    f"{key_file} (kid {key.kid}) is not a signing key of {agency}; "
                    "nothing was polled or changed"
                )
            alerts = AlertsClient(client, agency, encryption)
            await _poll(alerts, store, state, fetched, follow, output)

    try:
        run(go())
    except KeyboardInterrupt:
        click.echo(
            f"\ninterrupted; {len(fetched)} items saved to {store.items_file}; "
            f"resume from cursor {state['cursor']} (saved in {store.cursor_file})",
            err=True,
        )
        raise SystemExit(130) from None
    finally:
        if json_file is not None:
            json_file.write_text(json.dumps(fetched, indent=2) + "\n")
    summary = {
        "agency": agency,
        "items": fetched,
        "next": state["cursor"],
        "saved_to": str(store.items_file),
        "cursor_file": str(store.cursor_file),
    }
    if output == "json":
        emit_json(summary)
    else:
        click.echo(
            f"next cursor {state['cursor']}; {len(fetched)} new items appended to "
            f"{store.items_file}"
        )


async def _poll(
    alerts: AlertsClient,
    store: FeedStore,
    state: dict[str, str | None],
    fetched: list[dict[str, Any]],
    follow: bool,
    output: str,
) -> None:
    from service.protocol.envelope import InvalidEnvelope

    saved = store.saved_cursors()
    while True:
        page = await alerts.feed(after=state["cursor"], wait=25 if follow else 0)
        rows = []
        for item in page["items"]:
            try:
                opened = await alerts.open_item(item)
            except InvalidEnvelope as error:
                kids = ", ".join(key.kid for key in alerts.encryption_keys)
                raise click.ClickException(
                    f"cannot open item {item['cursor']} with the encryption key(s) {kids}: "
                    f"{error} (is it the agency's own .enc.jwk?); nothing was saved for it"
                ) from None
            if opened.cursor not in saved:
                store.append(as_json(opened))
                saved.add(opened.cursor)
            fetched.append(as_json(opened))
            rows.append(describe(opened))
            store.advance(opened.cursor)
            state["cursor"] = opened.cursor
        if page.get("next") is not None:
            state["cursor"] = str(page["next"])
            store.advance(str(page["next"]))
        if rows and output == "table":
            emit_table(None, COLUMNS, rows)
        if not follow:
            return
