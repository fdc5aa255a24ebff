"""``liaison review``: reviewers list, read and decide held and challenged alerts."""

from __future__ import annotations

import json
from pathlib import Path

import click

from service.cli.common import (
    call,
    emit_fields,
    emit_json,
    emit_table,
    output_option,
    read_json_object,
    run,
    with_client_options,
)


@click.group()
def review() -> None:
    """Reviewers: list, read and decide review cases.

    Held alerts (red notices, Article 3 cases, protected subjects, heightened review) are
    approved or rejected; challenged alerts are upheld or cancelled.

    \b
    Examples:
      liaison review list --key ccf.sign.jwk
      liaison review show ID --key ccf.sign.jwk
      liaison review approve ID --key ccf.sign.jwk --reason "lawful request"
    """


@review.command("list")
@with_client_options
@click.option(
    "--status",
    type=click.Choice(["pending", "approved", "rejected", "upheld", "cancelled"]),
    default="pending",
    show_default=True,
)
@output_option
def list_(url: str, key_file: Path, ca: Path | None, status: str, output: str) -> None:
    """Review cases with their alerts' clear facts (never the content).

    \b
    Examples:
      liaison review list --key ccf.sign.jwk
      liaison review list --key ccf.sign.jwk --status approved --output json
    """
    cases = run(call(url, key_file, ca, lambda client: client.reviews(status)))
    if output == "json":
        emit_json(cases)
        return
    columns = ["alert_id", "status", "originator", "alert_kind", "category", "tlp", "reason"]
    emit_table(None, columns, [[case.get(c) for c in columns] for case in cases])


@review.command("show")
@with_client_options
@click.argument("alert_id")
@click.option(
    "--enc-key",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="The reviewer's private encryption JWK (default: beside --key, PREFIX.enc.jwk).",
)
@output_option
def show(
    url: str, key_file: Path, ca: Path | None, alert_id: str, enc_key: Path | None, output: str
) -> None:
    """Read the whole alert, sealed to you (the read is logged), and print its claims.

    \b
    Examples:
      liaison review show ID --key ccf.sign.jwk
    """
    from service.cli.feed import agency_of_key_file, encryption_key_files
    from service.protocol.crypto import EncryptionPrivateKey
    from service.protocol.envelope import open_envelope
    from service.protocol.sdjwt import parse_sd_jwt

    if enc_key is None:
        agency = agency_of_key_file(key_file)
        found = encryption_key_files(key_file, agency) if agency else []
        if not found:
            raise click.ClickException("no encryption key beside --key: pass --enc-key")
        paths = found
    else:
        paths = [enc_key]
    keys = [EncryptionPrivateKey.from_jwk(read_json_object(p, "encryption key")) for p in paths]
    copy = run(call(url, key_file, ca, lambda client: client.read_for_review(alert_id)))
    envelope = copy["envelope"]
    header = json.loads(_b64(envelope.split(".", 1)[0]))
    key = next((k for k in keys if k.kid == header.get("kid")), keys[0])
    token = open_envelope(key, envelope).decode("ascii")
    parsed = parse_sd_jwt(token)
    claims = dict(parsed.unverified_claims)
    disclosed = {}
    for encoded in parsed.disclosures:
        # Unverified here: the broker sealed it to us; the originator's signature is
        # checked by partners on delivery. Show what the reviewer is asked to judge.
        parts = json.loads(_b64(encoded))
        if isinstance(parts, list) and len(parts) == 3:
            disclosed[str(parts[1])] = parts[2]
    result = {"case": copy["case"], "claims": claims, "content": disclosed}
    if output == "json":
        emit_json(result)
        return
    emit_fields(f"case {alert_id}", copy["case"])
    emit_fields("alert claims", {k: v for k, v in claims.items() if k != "_sd"})
    if disclosed:
        emit_fields("content", disclosed)


def _b64(text: str) -> bytes:
    from service.protocol.crypto import b64url_decode

    return b64url_decode(text)


def _decide(verdict: str, doc: str) -> click.Command:
    @click.command(verdict, help=doc)
    @with_client_options
    @click.argument("alert_id")
    @click.option("--reason", required=True)
    @output_option
    def command(
        url: str, key_file: Path, ca: Path | None, alert_id: str, reason: str, output: str
    ) -> None:
        decided = run(call(url, key_file, ca, lambda c: c.decide_review(alert_id, verdict, reason)))
        if output == "json":
            emit_json(decided)
        else:
            emit_fields(f"case {alert_id}", decided)

    return command


for _verdict, _doc in (
    ("approve", "Approve a held alert: it is published to its recipients."),
    ("reject", "Reject a held alert: nobody receives it."),
    ("uphold", "Uphold a challenged alert: it stays published."),
    ("cancel", "Cancel a challenged alert: recipients are told to purge it."),
):
    review.add_command(
        _decide(
            _verdict,
            f"{_doc}\n\n\b\nExamples:\n  liaison review {_verdict} ID --key ccf.sign.jwk "
            '--reason "..."',
        )
    )


@review.command("heightened")
@with_client_options
@click.argument("agency_id")
@click.option("--on/--off", "active", default=True, show_default=True)
@click.option("--reason", required=True)
@output_option
def heightened(
    url: str,
    key_file: Path,
    ca: Path | None,
    agency_id: str,
    active: bool,
    reason: str,
    output: str,
) -> None:
    """Hold every alert of AGENCY_ID for review (--on), or lift it (--off).

    \b
    Examples:
      liaison review heightened fr-police --on --reason "audit finding" --key ccf.sign.jwk
    """
    state = run(call(url, key_file, ca, lambda c: c.heightened_review(agency_id, active, reason)))
    if output == "json":
        emit_json(state)
    else:
        emit_fields(f"heightened review of {agency_id}", state)
