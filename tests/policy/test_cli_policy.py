"""``liaison policy check`` and ``liaison policy test``."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from service.cli.policy import policy
from service.policy.policy_set import PolicySet
from tests.policy.builders import SHIPPED
from tests.policy.conftest import Edit


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(policy, list(args))
    return result.exit_code, result.output


def test_check_prints_version_and_ids(shipped_set: PolicySet) -> None:
    code, output = invoke("check", "--dir", str(SHIPPED))
    assert code == 0, output
    assert f"policy set {shipped_set.version}" in output
    for info in shipped_set.policies:
        assert info.id in output
    assert "partners/ruritania-borduria.cedar:4" in output


def test_check_refuses_a_broken_set_with_file_and_line(policy_copy: Path, edit: Edit) -> None:
    path = edit("tlp.cedar", 'resource.tlp == "red"', 'resource.tlp = "red"')
    code, output = invoke("check", "--dir", str(policy_copy))
    assert code == 1
    assert f"{path.as_posix()}:" in output


def test_test_passes_on_the_shipped_cases() -> None:
    code, output = invoke("test", "--dir", str(SHIPPED))
    assert code == 0, output
    assert " passed, 0 failed" in output
    assert "warning" not in output


def test_test_fails_and_shows_the_diff(policy_copy: Path) -> None:
    cases_file = policy_copy / "tests" / "tlp.json"
    document = json.loads(cases_file.read_text())
    document["cases"][0]["expect"]["receive"] = False
    cases_file.write_text(json.dumps(document))
    code, output = invoke("test", "--dir", str(policy_copy))
    assert code == 1
    assert "FAIL " in output and "red: a named agency receives" in output
    assert "receive:  expected false, got true" in output
    assert " 1 failed" in output


def test_test_warns_about_policies_no_case_exercises(policy_copy: Path) -> None:
    (policy_copy / "tests" / "partners.json").unlink()
    code, output = invoke("test", "--dir", str(policy_copy))
    assert code == 0
    assert "warning: no case exercises bilateral-ruritania-borduria-no-terrorism" in output


def test_test_runs_the_screening_cases(policy_copy: Path) -> None:
    cases_file = policy_copy / "tests" / "screening.json"
    document = json.loads(cases_file.read_text())
    (red,) = [c for c in document["cases"] if c["name"] == "red notice: held for review"]
    red["expect"]["publish"] = True
    cases_file.write_text(json.dumps(document))
    code, output = invoke("test", "--dir", str(policy_copy))
    assert code == 1
    assert "FAIL " in output and "red notice: held for review" in output
    assert "publish:  expected published, got held" in output


def test_test_warns_about_screening_policies_no_case_exercises(policy_copy: Path) -> None:
    (policy_copy / "tests" / "screening.json").unlink()
    code, output = invoke("test", "--dir", str(policy_copy))
    assert code == 0
    warning = next(line for line in output.splitlines() if line.startswith("warning:"))
    for policy_id in (
        "screening-publish-by-default",
        "screening-hold-red-notice",
        "screening-hold-article-3",
        "screening-hold-protected-subject",
        "screening-hold-heightened-review",
    ):
        assert policy_id in warning
