"""The table-driven policy-test runner and the shipped cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from service.policy.cases import PolicyCaseError, format_result, load_cases, run_cases
from service.policy.engine import PolicyEngine
from tests.policy.builders import SHIPPED

CASE_DEFAULTS: dict[str, Any] = {
    "originator_country": "XR",
    "alert": {
        "iss": "ruritania-npa",
        "kind": "blue",
        "category": "fugitive",
        "tlp": "red",
        "handling": ["H0"],
        "audience": {"agencies": ["named-agency"], "groups": [], "all": False},
        "purpose": "arrest",
        "legal_basis": "warrant",
    },
    "claims": ["subject", "biometrics"],
    "partner": {"id": "named-agency", "country": "XB", "roles": ["agency"]},
}


def write_cases(directory: Path, cases: list[dict[str, Any]], name: str = "cases.json") -> Path:
    folder = directory / "tests"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps({"defaults": CASE_DEFAULTS, "cases": cases}))
    return path


def test_shipped_cases_pass_and_exercise_every_policy(policy_engine: PolicyEngine) -> None:
    cases = load_cases(SHIPPED)
    report = run_cases(policy_engine, cases)
    assert [format_result(r) for r in report.failures] == []
    assert report.unexercised == ()
    assert report.exercised == {info.id for info in policy_engine.policy_set.policies}
    assert len(cases) >= 50


def test_shipped_cases_cover_both_sides_of_every_forbid(policy_engine: PolicyEngine) -> None:
    """Each forbid decides some case, and some case it could apply to is allowed anyway."""
    report = run_cases(policy_engine, load_cases(SHIPPED))
    for info in policy_engine.policy_set.policies:
        fired = [r for r in report.results if info.id in r.decision.policies]
        assert fired or policy_engine.policy_set.effect(info.id) == "permit", info.id
    allowed = [r for r in report.results if r.decision.receive]
    denied = [r for r in report.results if not r.decision.receive]
    assert len(allowed) >= 20 and len(denied) >= 20


def test_a_failing_case_is_reported_with_a_diff(
    policy_engine: PolicyEngine, tmp_path: Path
) -> None:
    write_cases(
        tmp_path,
        [
            {
                "name": "wrongly expects a group member to get a red alert",
                "partner": {"id": "someone", "groups": ["schengen"]},
                "expect": {"receive": True, "redacted": [], "policies": ["audience-groups"]},
            },
            {
                "name": "right",
                "partner": {"clearances": ["biometrics"]},
                "expect": {"receive": True, "redacted": [], "policies": ["audience-named"]},
            },
        ],
    )
    report = run_cases(policy_engine, load_cases(tmp_path))
    assert not report.passed
    (failure,) = report.failures
    text = format_result(failure)
    assert text.splitlines()[0].startswith("FAIL ")
    assert "wrongly expects a group member" in text
    assert "receive:  expected true, got false" in text
    assert "redacted: expected [], got [biometrics, subject]" in text
    assert "unexpectedly redacted [biometrics, subject]" in text
    assert "policies: expected [audience-groups], got [tlp-red-named-only]" in text
    assert report.results[1].passed


def test_redacted_defaults_to_every_claim_when_not_received(
    policy_engine: PolicyEngine, tmp_path: Path
) -> None:
    write_cases(
        tmp_path, [{"name": "outsider", "partner": {"id": "x"}, "expect": {"receive": False}}]
    )
    (case,) = load_cases(tmp_path)
    assert case.redacted == ("subject", "biometrics")
    assert run_cases(policy_engine, [case]).passed


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ({"name": "n", "expect": {"receive": True}}, "expect.redacted is required"),
        ({"name": "n", "expect": {"receive": "yes"}}, "'receive' must be true or false"),
        ({"name": "n", "alert": {"tpl": "red"}, "expect": {"receive": False}}, "tpl"),
        ({"name": "n", "partner": {"groups": "a"}, "expect": {"receive": False}}, "'groups'"),
        ({"expect": {"receive": False}}, "'name' must be a string"),
        ({"name": "n"}, "expect must be an object"),
    ],
)
def test_malformed_cases_name_file_and_case(
    tmp_path: Path, case: dict[str, Any], message: str
) -> None:
    path = write_cases(tmp_path, [case])
    with pytest.raises(PolicyCaseError) as caught:
        load_cases(tmp_path)
    assert str(path) in caught.value.detail
    assert message in caught.value.detail


def test_duplicate_case_names_are_refused(tmp_path: Path) -> None:
    same = {"name": "twice", "expect": {"receive": False}}
    write_cases(tmp_path, [same, same])
    with pytest.raises(PolicyCaseError, match="duplicate case name"):
        load_cases(tmp_path)


def test_no_cases_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyCaseError, match="no policy test cases"):
        load_cases(tmp_path)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "bad.json").write_text("{not json")
    with pytest.raises(PolicyCaseError, match="cannot read"):
        load_cases(tmp_path)
