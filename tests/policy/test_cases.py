"""The table-driven policy-test runner and the shipped cases."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from service.policy.cases import (
    CaseResult,
    PolicyCase,
    PolicyCaseError,
    ScreeningCase,
    format_result,
    load_cases,
    run_cases,
)
from service.policy.engine import PolicyEngine
from service.policy.facts import AlertFacts, Decision, PartnerFacts, ScreeningDecision
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
        "purpose": "investigate",
        "legal_basis": "warrant",
    },
    "claims": ["subject", "biometrics"],
    "partner": {"id": "named-agency", "country": "XB", "roles": ["agency"]},
}


# The shipped screening holds, written from the governance issue (not the Cedar): when each
# applies, and the facts it reads (of the alert, of the originator).
SCREENING_HOLDS: dict[str, tuple[Callable[[AlertFacts, PartnerFacts], bool], str, str]] = {
    "screening-hold-red-notice": (lambda alert, _: alert.kind == "red", "kind", ""),
    "screening-hold-coercive-purpose": (
        lambda alert, _: alert.purpose in {"locate", "arrest", "extradite", "detain"},
        "purpose",
        "",
    ),
    "screening-hold-article-3": (
        lambda alert, _: bool(alert.character & {"political", "military", "religious", "racial"}),
        "character",
        "",
    ),
    "screening-hold-protected-subject": (
        lambda alert, _: bool(alert.subject_status & {"recognised-refugee", "asylum-seeker"}),
        "subject_status",
        "",
    ),
    "screening-hold-heightened-review": (
        lambda _, originator: originator.heightened_review,
        "",
        "heightened_review",
    ),
}


def differ_only_in(
    a: ScreeningCase, b: ScreeningCase, alert_fact: str, originator_fact: str
) -> bool:
    alert_changes = {alert_fact: getattr(b.alert, alert_fact)} if alert_fact else {}
    originator_changes = (
        {originator_fact: getattr(b.originator, originator_fact)} if originator_fact else {}
    )
    return (
        replace(a.alert, **alert_changes) == b.alert
        and replace(a.originator, **originator_changes) == b.originator
    )


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


def fan_out_results(results: tuple[CaseResult, ...]) -> list[Decision]:
    return [r.decision for r in results if isinstance(r.decision, Decision)]


def test_shipped_cases_cover_both_sides_of_every_forbid(policy_engine: PolicyEngine) -> None:
    """Each forbid decides some case, and some case it could apply to is allowed anyway."""
    report = run_cases(policy_engine, load_cases(SHIPPED))
    for info in policy_engine.policy_set.policies:
        fired = [r for r in report.results if info.id in r.decision.policies]
        assert fired or policy_engine.policy_set.effect(info.id) == "permit", info.id
    decisions = fan_out_results(report.results)
    allowed = [d for d in decisions if d.receive]
    denied = [d for d in decisions if not d.receive]
    assert len(allowed) >= 20 and len(denied) >= 20


def test_shipped_cases_show_every_screening_hold_held_and_not_held(
    policy_engine: PolicyEngine,
) -> None:
    """Acceptance 4: each hold holds some case, and a case that differs from it only in the
    facts the hold reads is published."""
    cases = [c for c in load_cases(SHIPPED) if isinstance(c, ScreeningCase)]
    decisions = [policy_engine.screen(c.alert, c.originator) for c in cases]
    assert [c.publish for c in cases] == [d.publish for d in decisions]
    policy_set = policy_engine.policy_set
    shipped = {
        info.id
        for info in policy_set.policies
        if info.file == "screening.cedar" and policy_set.effect(info.id) == "forbid"
    }
    assert shipped == set(SCREENING_HOLDS)
    for policy_id, (applies, alert_fact, originator_fact) in SCREENING_HOLDS.items():
        held = [c for c, d in zip(cases, decisions, strict=True) if policy_id in d.policies]
        assert held, f"no case where {policy_id} holds"
        assert all(applies(c.alert, c.originator) for c in held), policy_id
        published = [
            c
            for c, d in zip(cases, decisions, strict=True)
            if d.publish and not applies(c.alert, c.originator)
        ]
        pairs = [
            (h.name, p.name)
            for h in held
            for p in published
            if differ_only_in(h, p, alert_fact, originator_fact)
        ]
        assert pairs, f"no published case that differs from a {policy_id} hold only in its facts"


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
    assert isinstance(case, PolicyCase)
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


def test_publish_cases_take_the_originator_from_the_alert(
    policy_engine: PolicyEngine, tmp_path: Path
) -> None:
    write_cases(
        tmp_path,
        [
            {
                "name": "red notice held",
                "action": "publish",
                "alert": {"kind": "red", "character": ["racial"]},
                "originator": {"heightened_review": True},
                "expect": {"publish": False},
            },
            {
                "name": "a fan-out case in the same file",
                "expect": {"receive": True, "redacted": ["biometrics"]},
            },
        ],
    )
    screening, fan_out = load_cases(tmp_path)
    assert isinstance(screening, ScreeningCase)
    assert screening.originator == PartnerFacts(
        "ruritania-npa", "XR", frozenset(), frozenset(), frozenset(), heightened_review=True
    )
    assert screening.alert.character == {"racial"}
    assert screening.policies is None
    assert isinstance(fan_out, PolicyCase)
    report = run_cases(policy_engine, [screening, fan_out])
    assert report.results[0].decision == ScreeningDecision(
        False,
        (
            "screening-hold-article-3",
            "screening-hold-heightened-review",
            "screening-hold-red-notice",
        ),
    )
    assert report.passed
    assert "screening-hold-red-notice" in report.exercised
    assert "screening-publish-by-default" in report.unexercised


def test_a_failing_publish_case_is_reported_with_a_diff(
    policy_engine: PolicyEngine, tmp_path: Path
) -> None:
    write_cases(
        tmp_path,
        [
            {
                "name": "wrongly expects a red notice to be published",
                "action": "publish",
                "alert": {"kind": "red"},
                "expect": {"publish": True, "policies": ["screening-publish-by-default"]},
            }
        ],
    )
    report = run_cases(policy_engine, load_cases(tmp_path))
    (failure,) = report.failures
    text = format_result(failure)
    assert "wrongly expects a red notice" in text
    assert "publish:  expected published, got held  (policies [screening-hold-red-notice])" in text
    assert (
        "policies: expected [screening-publish-by-default], got [screening-hold-red-notice]" in text
    )


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ({"name": "n", "action": "release", "expect": {}}, "'action' must be 'receive' or"),
        (
            {"name": "n", "action": "publish", "partner": {}, "expect": {"publish": True}},
            "'partner' is not a fact of 'publish'",
        ),
        (
            {"name": "n", "originator": {}, "expect": {"receive": False}},
            "'originator' is not a fact of 'receive'",
        ),
        (
            {"name": "n", "action": "publish", "expect": {"receive": False}},
            "unknown key(s) in expect: receive",
        ),
        ({"name": "n", "action": "publish", "expect": {}}, "'publish' must be true or false"),
        (
            {"name": "n", "action": "publish", "expect": {"publish": True, "redacted": []}},
            "unknown key(s) in expect: redacted",
        ),
        (
            {
                "name": "n",
                "action": "publish",
                "originator": {"id": "someone-else"},
                "expect": {"publish": True},
            },
            "originator.id must be the alert's iss",
        ),
        (
            {
                "name": "n",
                "action": "publish",
                "originator": {"heightened_review": "yes"},
                "expect": {"publish": True},
            },
            "'heightened_review' must be true or false",
        ),
        (
            {
                "name": "n",
                "action": "publish",
                "alert": {"character": "political"},
                "expect": {"publish": False},
            },
            "'character' must be a list of strings",
        ),
    ],
)
def test_malformed_publish_cases_name_file_and_case(
    tmp_path: Path, case: dict[str, Any], message: str
) -> None:
    path = write_cases(tmp_path, [case])
    with pytest.raises(PolicyCaseError) as caught:
        load_cases(tmp_path)
    assert str(path) in caught.value.detail
    assert message in caught.value.detail
