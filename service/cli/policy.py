"""``liaison policy``: check and test the Cedar sharing policies offline, reload them online."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from service.cli.common import make_client, run, with_client_options
from service.client import LiaisonAPIError
from service.policy.cases import PolicyCaseError, format_result, load_cases, run_cases
from service.policy.engine import PolicyEngine, PolicyEvaluationError
from service.policy.policy_set import PolicyLoadError, PolicySet

policy_dir_option = click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("policies"),
    show_default=True,
    envvar="LIAISON_POLICY_DIR",
    help="Policy directory: schema.cedarschema, *.cedar files, tests/*.json.",
)


@click.group()
def policy() -> None:
    """Validate the sharing policies and run their table-driven tests."""


def _load(directory: Path) -> PolicySet:
    try:
        return PolicySet.load(directory)
    except PolicyLoadError as exc:
        raise click.ClickException(exc.detail) from None


@policy.command("check")
@policy_dir_option
def check(directory: Path) -> None:
    """Parse and validate the policies against the schema; print the version and policy ids.

    Exits non-zero, naming file and line, if the set does not load.
    """
    policy_set = _load(directory)
    click.echo(f"policy set {policy_set.version}")
    click.echo(f"{len(policy_set)} policies in {directory}")
    for info in policy_set.policies:
        file, line = policy_set.location(info.id)
        effect = policy_set.effect(info.id)
        click.echo(f"  {effect:<6}  {info.id:<44} {file}:{line}")


@policy.command("test")
@policy_dir_option
@click.option("--verbose", "-v", is_flag=True, help="Also list the cases that pass.")
def test(directory: Path, verbose: bool) -> None:
    """Run the cases in DIR/tests/*.json; exit non-zero if any fails.

    Each failure is printed with what was expected and what the policies decided.
    """
    policy_set = _load(directory)
    try:
        cases = load_cases(directory)
        report = run_cases(PolicyEngine(policy_set), cases)
    except (PolicyCaseError, PolicyEvaluationError) as exc:
        raise click.ClickException(exc.detail) from None
    for result in report.results:
        if verbose or not result.passed:
            click.echo(format_result(result))
    if report.unexercised:
        click.echo("warning: no case exercises " + ", ".join(report.unexercised), err=True)
    failed = len(report.failures)
    click.echo(
        f"{len(report.results) - failed} passed, {failed} failed "
        f"(policy set {policy_set.version[:16]}…)"
    )
    if failed:
        raise SystemExit(1)


@policy.command("reload")
@with_client_options
def reload(url: str, key_file: Path, ca: Path | None) -> None:
    """Ask a running broker to reload its policy files (admin key). A broken set is refused
    with file and line, and the set in force stays."""

    async def call() -> dict[str, Any]:
        async with make_client(url, key_file, ca) as client:
            try:
                return dict((await client.request("POST", "/v1/policy/reload")).json())
            except LiaisonAPIError as error:
                raise click.ClickException(str(error)) from None

    click.echo(f"policy set {run(call())['version']} in force")
