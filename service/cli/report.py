"""``liaison report`` and ``liaison purges``: what reviewers and auditors account for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from service.cli.common import call, emit_json, emit_table, output_option, run, with_client_options


@click.command("report")
@with_client_options
@click.option(
    "--from", "start", type=click.DateTime(), default=None, help="UTC; default 30 days ago."
)
@click.option("--to", "end", type=click.DateTime(), default=None, help="UTC; default now.")
@output_option
def report(
    url: str,
    key_file: Path,
    ca: Path | None,
    start: datetime | None,
    end: datetime | None,
    output: str,
) -> None:
    """The transparency report: counts by kind, category and outcome, from the audit log.

    \b
    Examples:
      liaison report --key auditor.sign.jwk
      liaison report --key auditor.sign.jwk --from 2026-01-01 --to 2026-07-01 --output json
    """
    now = datetime.now(UTC)
    until = end.replace(tzinfo=UTC) if end else now
    since = start.replace(tzinfo=UTC) if start else until - timedelta(days=30)
    found = run(call(url, key_file, ca, lambda c: c.transparency_report(since, until)))
    if output == "json":
        emit_json(found)
        return
    click.echo(f"transparency report {found.get('from')} .. {found.get('to')}")
    emit_table("outcomes", ["outcome", "count"], sorted(found.get("outcomes", {}).items()))
    for section in ("by_kind", "by_category"):
        rows = [
            [name, outcome, count]
            for name, counts in sorted(found.get(section, {}).items())
            for outcome, count in sorted(counts.items())
        ]
        emit_table(section.replace("_", " "), [section[3:], "outcome", "count"], rows)
    for section in ("held_by_policy", "rejected_by_policy"):
        rows = sorted(found.get(section, {}).items())
        emit_table(section.replace("_", " "), ["policy", "count"], rows)
    overdue = found.get("purge_overdue", [])
    emit_table(
        "overdue purges",
        ["alert_id", "partner", "deadline"],
        [[o.get("alert_id"), o.get("partner"), o.get("deadline")] for o in overdue],
    )
    click.echo(f"log size {found.get('log_size')}")


@click.command("purges")
@with_client_options
@click.option("--overdue", is_flag=True, help="Only purges past their deadline.")
@output_option
def purges(url: str, key_file: Path, ca: Path | None, overdue: bool, output: str) -> None:
    """Withdrawn and cancelled alerts: who confirmed the purge and who has not.

    \b
    Examples:
      liaison purges --key auditor.sign.jwk
      liaison purges --key ccf.sign.jwk --overdue --output json
    """
    found = run(call(url, key_file, ca, lambda c: c.purges(overdue)))
    if output == "json":
        emit_json(found)
        return
    emit_table(
        None,
        ["alert_id", "originator", "deadline", "confirmed", "outstanding", "overdue"],
        [
            [
                p["alert_id"],
                p["originator"],
                p["deadline"],
                ",".join(p["confirmed"]),
                ",".join(p["outstanding"]),
                ",".join(p["overdue"]),
            ]
            for p in found
        ],
    )
