"""Screening before release through the policy_engine: which alerts are held for review."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cedarpy
import pytest

from service.policy.engine import PolicyEngine, PolicyEvaluationError
from service.policy.facts import ScreeningDecision
from service.policy.policy_set import PolicySet
from tests.policy.builders import BASE_ALERT, alert, originator, partner
from tests.policy.conftest import Edit

PUBLISHED = ScreeningDecision(True, ("screening-publish-by-default",))
RED = "screening-hold-red-notice"
ARTICLE_3 = "screening-hold-article-3"
PROTECTED = "screening-hold-protected-subject"
HEIGHTENED = "screening-hold-heightened-review"


def held(*policies: str) -> ScreeningDecision:
    return ScreeningDecision(False, tuple(sorted(policies)))


def screen(policy_engine: PolicyEngine, heightened_review: bool = False, **changes: Any) -> Any:
    return policy_engine.screen(alert(**changes), originator(heightened_review))


def test_an_alert_without_markers_is_published(policy_engine: PolicyEngine) -> None:
    assert policy_engine.screen(BASE_ALERT, originator()) == PUBLISHED


KINDS = ["red", "yellow", "blue", "black", "green", "orange", "purple", "diffusion", "bulletin"]


@pytest.mark.parametrize("kind", KINDS)
def test_every_red_notice_and_only_red_notices_are_held(
    policy_engine: PolicyEngine, kind: str
) -> None:
    assert screen(policy_engine, kind=kind) == (held(RED) if kind == "red" else PUBLISHED)


def test_tlp_red_is_not_a_red_notice(policy_engine: PolicyEngine) -> None:
    assert screen(policy_engine, tlp="red") == PUBLISHED


@pytest.mark.parametrize(
    ("character", "expected"),
    [
        ({"political"}, held(ARTICLE_3)),
        ({"military"}, held(ARTICLE_3)),
        ({"religious"}, held(ARTICLE_3)),
        ({"racial"}, held(ARTICLE_3)),
        ({"political", "religious"}, held(ARTICLE_3)),
        (set(), PUBLISHED),
    ],
)
def test_article_3_character_is_held(
    policy_engine: PolicyEngine, character: set[str], expected: ScreeningDecision
) -> None:
    assert screen(policy_engine, character=character) == expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({"recognised-refugee"}, held(PROTECTED)),
        ({"asylum-seeker"}, held(PROTECTED)),
        ({"asylum-seeker", "recognised-refugee"}, held(PROTECTED)),
        (set(), PUBLISHED),
    ],
)
def test_protected_subject_is_held(
    policy_engine: PolicyEngine, status: set[str], expected: ScreeningDecision
) -> None:
    assert screen(policy_engine, subject_status=status) == expected


def test_heightened_review_holds_every_alert_of_that_originator(
    policy_engine: PolicyEngine,
) -> None:
    assert screen(policy_engine, heightened_review=True) == held(HEIGHTENED)
    assert screen(policy_engine, heightened_review=False) == PUBLISHED
    assert screen(policy_engine, heightened_review=True, kind="yellow") == held(HEIGHTENED)


def test_every_applying_hold_is_named_and_wins_over_the_permit(
    policy_engine: PolicyEngine,
) -> None:
    decision = screen(
        policy_engine,
        heightened_review=True,
        kind="red",
        character={"racial"},
        subject_status={"recognised-refugee"},
    )
    # The permit matches every publish request too; the forbids override it.
    assert decision == held(ARTICLE_3, HEIGHTENED, PROTECTED, RED)


def test_screening_ignores_the_audience_and_labels(policy_engine: PolicyEngine) -> None:
    widest: dict[str, Any] = {"tlp": "clear", "audience_all": True, "handling": set()}
    assert screen(policy_engine, **widest) == PUBLISHED
    assert screen(policy_engine, kind="red", **widest) == held(RED)


def test_default_deny_holds_the_alert(policy_copy: Path, edit: Edit) -> None:
    # Without the screening permit nothing allows publishing: Cedar's default deny.
    edit(
        "screening.cedar",
        'permit (principal, action == Action::"publish", resource);',
        'permit (principal, action == Action::"publish", resource) when { false };',
    )
    policy_engine = PolicyEngine(PolicySet.load(policy_copy))
    assert policy_engine.screen(BASE_ALERT, originator()) == ScreeningDecision(False, ())
    assert policy_engine.screen(alert(kind="red"), originator()) == held(RED)


def test_a_policy_set_without_screening_holds_everything(policy_copy: Path) -> None:
    (policy_copy / "screening.cedar").unlink()
    policy_engine = PolicyEngine(PolicySet.load(policy_copy))
    assert policy_engine.screen(BASE_ALERT, originator()) == ScreeningDecision(False, ())


def test_evaluation_errors_hold_the_alert(policy_copy: Path) -> None:
    # Validates, but overflows at run time: Cedar skips the erroring forbid and would allow.
    (policy_copy / "partners" / "overflow.cedar").write_text(
        '@id("overflowing-hold")\n'
        '@description("A hold that errors on every publish.")\n'
        'forbid (principal, action == Action::"publish", resource)\n'
        "when { 9223372036854775807 + (if resource.audience_all then 1 else 2) > 0 };\n"
    )
    policy_engine = PolicyEngine(PolicySet.load(policy_copy))
    explanation = policy_engine.explain_screening(BASE_ALERT, originator())
    assert explanation.decision == ScreeningDecision(False, ("overflowing-hold",))
    assert explanation.errors and "overflow" in explanation.errors[0]
    red = policy_engine.screen(alert(kind="red"), originator())
    assert red == held("overflowing-hold", RED)


def test_only_the_alerts_originator_is_screened(policy_engine: PolicyEngine) -> None:
    # Another agency's facts would let an originator under heightened review through.
    with pytest.raises(PolicyEvaluationError, match="ruritania-npa"):
        policy_engine.screen(BASE_ALERT, partner("syldavia-police"))


def test_explain_screening_without_errors(policy_engine: PolicyEngine) -> None:
    explanation = policy_engine.explain_screening(alert(kind="red"), originator())
    assert explanation.decision == held(RED)
    assert explanation.errors == ()


def test_one_screening_is_one_cedar_call(
    policy_engine: PolicyEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[Any]] = []
    real = cedarpy.is_authorized_batch

    def counting(requests: list[Any], *args: Any, **kwargs: Any) -> Any:
        calls.append(requests)
        return real(requests, *args, **kwargs)

    monkeypatch.setattr(cedarpy, "is_authorized_batch", counting)
    policy_engine.screen(BASE_ALERT, originator())
    ((request,),) = calls
    assert request["action"] == {"type": "Action", "id": "publish"}
    assert request["principal"] == {"type": "Agency", "id": BASE_ALERT.originator}


def test_ids_and_markers_are_data_not_policy_text(policy_engine: PolicyEngine) -> None:
    odd = 'npa"\n) || true; permit(principal,action,resource'
    facts = alert(originator=odd, character={'political"]) || ["x'})
    assert policy_engine.screen(facts, partner(odd)) == PUBLISHED
    assert policy_engine.screen(facts, partner(odd, heightened_review=True)) == held(HEIGHTENED)
