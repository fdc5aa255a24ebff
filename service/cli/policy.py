"""``liaison policy``: check and test the Cedar sharing policies offline, reload them online."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from service.cli.common import make_client, run, with_client_options

if TYPE_CHECKING:
    from service.policy.policy_set import PolicySet

policy_dir_option = click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    envvar="LIAISON_POLICY_DIR",
    show_envvar=True,
    help="Policy directory: schema.cedarschema, *.cedar files, tests/*.json "
    "(default: the one the server uses, from the settings).",
)


def server_policy_directory() -> Path:
    """The directory ``liaison serve`` loads policies from, with the same settings."""
    from service.runtime import policy_directory
    from service.settings import Settings

    try:
        return policy_directory(Settings())
    except ValueError as exc:
        raise click.ClickException(f"cannot read the settings: {exc}") from None


@click.group()
def policy() -> None:
    """Validate the sharing policies and run their table-driven tests.

    \b
    Examples:
      liaison policy check && liaison policy test
    """


def _load(directory: Path) -> PolicySet:
    from service.policy.policy_set import PolicyLoadError, PolicySet

    try:
        return PolicySet.load(directory)
    except PolicyLoadError as exc:
        raise click.ClickException(exc.detail) from None


@policy.command("check")
@policy_dir_option
def check(directory: Path | None) -> None:
    """Parse and validate the policies against the schema; print the version and policy ids.

    Exits non-zero, naming file and line, if the set does not load.

    \b
    Examples:
      liaison policy check                  # the set the server would load
      liaison policy check --dir my-policies/
    """
    directory = directory or server_policy_directory()
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
def test(directory: Path | None, verbose: bool) -> None:
    """Run the cases in DIR/tests/*.json; exit non-zero if any fails.

    Each failure is printed with what was expected and what the policies decided.

    \b
    Examples:
      liaison policy test -v
    """
    from service.policy.cases import PolicyCaseError, format_result, load_cases, run_cases
    from service.policy.engine import PolicyEngine, PolicyEvaluationError

    directory = directory or server_policy_directory()
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
    with file and line, and the set in force stays.

    \b
    Examples:
      liaison policy reload --key liaison-data/admin.jwk
    """

    async def call() -> dict[str, Any]:
        async with make_client(url, key_file, ca) as client:
            return dict((await client.request("POST", "/v1/policy/reload")).json())

    click.echo(f"policy set {run(call())['version']} in force")
