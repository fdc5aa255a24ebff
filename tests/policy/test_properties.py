"""Properties of the shipped policies over random fan-outs, against rules written here.

The expected rules below are written from the policy documentation (TLP 2.0 caps, the
audience, handling codes, data protection, the screening holds of the governance issue),
not from the Cedar text, so a policy edit that changes behaviour shows up as a
counterexample. The screening markers vary in every alert and partner: no fan-out rule
mentions them, so they must never change a receive or disclose decision.
"""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.policy.engine import PolicyEngine
from service.policy.facts import AlertFacts, Decision, PartnerFacts, ScreeningDecision
from service.policy.policy_set import PolicySet
from tests.policy.builders import SHIPPED

AGENCIES = ["a1", "a2", "a3", "a4", "borduria-sis", "syldavia-cyber"]
GROUPS = ["g1", "g2", "g3"]
COUNTRIES = ["XR", "XB", "XS"]
TLP = ["clear", "green", "amber", "amber+strict", "red", "white"]
CLAIMS = ["subject", "narrative", "biometrics", "last_known_location", "charges"]
KINDS = ["red", "yellow", "blue", "diffusion"]
ARTICLE_3 = {"political", "military", "religious", "racial"}
PROTECTED = {"recognised-refugee", "asylum-seeker"}
# Markers that hold, and near misses that do not.
CHARACTERS = [*sorted(ARTICLE_3), "Political", "economic"]
STATUSES = [*sorted(PROTECTED), "refugee-claim-rejected", "stateless"]

partners_strategy = st.lists(
    st.builds(
        PartnerFacts,
        id=st.sampled_from(AGENCIES),
        country=st.sampled_from(COUNTRIES),
        groups=st.frozensets(st.sampled_from(GROUPS)),
        roles=st.sampled_from(
            [
                frozenset({"agency"}),
                frozenset({"agency", "reviewer"}),
                frozenset({"auditor"}),
                frozenset(),
            ]
        ),
        clearances=st.frozensets(st.sampled_from(["biometrics", "location", "other"])),
        heightened_review=st.booleans(),
    ),
    min_size=1,
    max_size=len(AGENCIES),
    unique_by=lambda p: p.id,
)

alerts_strategy = st.builds(
    AlertFacts,
    alert_id=st.just("f1e2d3c4-0000-4000-8000-00000000abcd"),
    originator=st.sampled_from(["ruritania-npa", "other-police"]),
    originator_country=st.sampled_from(COUNTRIES),
    kind=st.sampled_from(KINDS),
    category=st.sampled_from(["terrorism", "cybercrime", "fugitive", "missing-person"]),
    tlp=st.sampled_from(TLP),
    handling=st.frozensets(st.sampled_from(["H0", "H1", "H2", "H3", "H9"]), max_size=3),
    audience_agencies=st.frozensets(st.sampled_from([*AGENCIES, "not-a-partner"])),
    audience_groups=st.frozensets(st.sampled_from(GROUPS)),
    audience_all=st.booleans(),
    purpose=st.sampled_from(["", "arrest"]),
    legal_basis=st.sampled_from(["", "warrant"]),
    claims=st.lists(st.sampled_from(CLAIMS), unique=True).map(tuple),
    character=st.frozensets(st.sampled_from(CHARACTERS), max_size=2),
    subject_status=st.frozensets(st.sampled_from(STATUSES), max_size=2),
)


def named(alert: AlertFacts, partner: PartnerFacts) -> bool:
    return partner.id in alert.audience_agencies


def grouped(alert: AlertFacts, partner: PartnerFacts) -> bool:
    return bool(partner.groups & alert.audience_groups)


def tlp_admits(alert: AlertFacts, partner: PartnerFacts) -> bool:
    """TLP 2.0 as the gateway applies it: which audience routes each label allows."""
    by_name, by_group = named(alert, partner), grouped(alert, partner)
    return {
        "red": by_name,
        "amber": by_name or by_group,
        "amber+strict": by_name or by_group,
        "green": by_name or by_group,
        "clear": True,
    }.get(alert.tlp, False)


def addressed(alert: AlertFacts, partner: PartnerFacts) -> bool:
    """In the originator's audience, or covered by the documented bilateral widening."""
    widened = (
        partner.id == "syldavia-cyber"
        and alert.originator == "ruritania-npa"
        and alert.category == "cybercrime"
    )
    return named(alert, partner) or grouped(alert, partner) or alert.audience_all or widened


def expected_receive(alert: AlertFacts, partner: PartnerFacts) -> bool:
    """The whole shipped receive policy, from its documentation."""
    by_name, by_group = named(alert, partner), grouped(alert, partner)
    handling_ok = (
        alert.handling <= {"H0", "H1", "H2", "H3"}
        and (
            "H1" not in alert.handling
            or partner.country == alert.originator_country
            or by_name
            or by_group
        )
        and ("H2" not in alert.handling or by_name or by_group or alert.audience_all)
        and ("H3" not in alert.handling or by_name)
    )
    bilateral_ban = (
        partner.id == "borduria-sis"
        and alert.originator == "ruritania-npa"
        and alert.category == "terrorism"
    )
    return (
        addressed(alert, partner)
        and tlp_admits(alert, partner)
        and handling_ok
        and "agency" in partner.roles
        and alert.purpose != ""
        and alert.legal_basis != ""
        and not bilateral_ban
    )


def expected_redacted(alert: AlertFacts, partner: PartnerFacts) -> set[str]:
    withheld = set()
    if "biometrics" not in partner.clearances:
        withheld.add("biometrics")
    if alert.category == "missing-person" and "location" not in partner.clearances:
        withheld.add("last_known_location")
    return withheld & set(alert.claims)


def decide(
    policy_engine: PolicyEngine, alert: AlertFacts, partners: list[PartnerFacts]
) -> list[Decision]:
    decisions = policy_engine.decide(alert, partners)
    assert [d.partner for d in decisions] == [p.id for p in partners]
    return decisions


@settings(max_examples=300, deadline=None)
@given(alert=alerts_strategy, partners=partners_strategy)
def test_never_received_where_tlp_or_audience_exclude(
    policy_engine: PolicyEngine, alert: AlertFacts, partners: list[PartnerFacts]
) -> None:
    for partner, decision in zip(partners, decide(policy_engine, alert, partners), strict=True):
        if not (tlp_admits(alert, partner) and addressed(alert, partner)):
            assert not decision.receive, (alert, partner, decision)
            assert decision.redacted == alert.claims


@settings(max_examples=300, deadline=None)
@given(alert=alerts_strategy, partners=partners_strategy)
def test_biometrics_never_disclosed_without_clearance(
    policy_engine: PolicyEngine, alert: AlertFacts, partners: list[PartnerFacts]
) -> None:
    for partner, decision in zip(partners, decide(policy_engine, alert, partners), strict=True):
        if "biometrics" in alert.claims and "biometrics" not in partner.clearances:
            assert "biometrics" in decision.redacted, (alert, partner, decision)


@settings(max_examples=300, deadline=None)
@given(alert=alerts_strategy, partners=partners_strategy)
def test_decisions_match_the_documented_policy(
    policy_engine: PolicyEngine, alert: AlertFacts, partners: list[PartnerFacts]
) -> None:
    for partner, decision in zip(partners, decide(policy_engine, alert, partners), strict=True):
        receive = expected_receive(alert, partner)
        assert decision.receive is receive, (alert, partner, decision)
        redacted = expected_redacted(alert, partner) if receive else set(alert.claims)
        assert set(decision.redacted) == redacted, (alert, partner, decision)
        assert list(decision.policies) == sorted(set(decision.policies))


def expected_holds(alert: AlertFacts, originator: PartnerFacts) -> set[str]:
    """The shipped screening holds, from the governance issue."""
    holds = {
        "screening-hold-red-notice": alert.kind == "red",
        "screening-hold-coercive-purpose": alert.purpose
        in {"locate", "arrest", "extradite", "detain"},
        "screening-hold-article-3": bool(alert.character & ARTICLE_3),
        "screening-hold-protected-subject": bool(alert.subject_status & PROTECTED),
        "screening-hold-heightened-review": originator.heightened_review,
    }
    return {policy_id for policy_id, applies in holds.items() if applies}


@settings(max_examples=300, deadline=None)
@given(alert=alerts_strategy, heightened_review=st.booleans())
def test_screening_matches_the_documented_holds(
    policy_engine: PolicyEngine, alert: AlertFacts, heightened_review: bool
) -> None:
    originator = PartnerFacts(
        alert.originator,
        alert.originator_country,
        frozenset(),
        frozenset({"agency"}),
        frozenset(),
        heightened_review,
    )
    holds = expected_holds(alert, originator)
    expected = (
        ScreeningDecision(False, tuple(sorted(holds)))
        if holds
        else ScreeningDecision(True, ("screening-publish-by-default",))
    )
    assert policy_engine.screen(alert, originator) == expected


@pytest.fixture(scope="module")
def engine_without_screening(tmp_path_factory: pytest.TempPathFactory) -> PolicyEngine:
    directory = tmp_path_factory.mktemp("unscreened") / "policies"
    shutil.copytree(SHIPPED, directory)
    (directory / "screening.cedar").unlink()
    return PolicyEngine(PolicySet.load(directory))


@settings(max_examples=300, deadline=None)
@given(alert=alerts_strategy, partners=partners_strategy)
def test_screening_policies_change_no_fan_out(
    policy_engine: PolicyEngine,
    engine_without_screening: PolicyEngine,
    alert: AlertFacts,
    partners: list[PartnerFacts],
) -> None:
    decisions = decide(policy_engine, alert, partners)
    assert decisions == engine_without_screening.decide(alert, partners)
    unmarked = replace(alert, character=frozenset(), subject_status=frozenset())
    unflagged = [replace(p, heightened_review=False) for p in partners]
    assert decisions == policy_engine.decide(unmarked, unflagged)
