"""Decisions of the shipped policies through the policy_engine: TLP, audience, handling, claims."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import cedarpy
import pytest

from service.policy.engine import COOPERATIVE_CHUNK, PolicyEngine, PolicyEvaluationError
from service.policy.facts import PartnerFacts
from service.policy.policy_set import PolicySet
from tests.policy.builders import BASE_ALERT, alert, partner

NAMED = partner("named-agency")
GROUP_MEMBER = partner("group-member", groups=("schengen", "interpol"))
OUTSIDER = partner("outsider", groups=("interpol",))
ROUTES = {"named": NAMED, "group": GROUP_MEMBER, "all": OUTSIDER, "none": OUTSIDER}

# Which audience routes each TLP label lets through (written from TLP 2.0, not the Cedar).
TLP_ROUTES = {
    "red": {"named"},
    "amber": {"named", "group"},
    "amber+strict": {"named", "group"},
    "green": {"named", "group"},
    "clear": {"named", "group", "all"},
}
TLP_FORBID = {
    "red": "tlp-red-named-only",
    "amber": "tlp-amber-named-or-groups",
    "amber+strict": "tlp-amber-named-or-groups",
    "green": "tlp-green-audience-groups",
}


def decide_one(policy_engine: PolicyEngine, partner_facts: PartnerFacts, **changes: Any) -> Any:
    (decision,) = policy_engine.decide(alert(**changes), [partner_facts])
    return decision


@pytest.mark.parametrize("route", ["named", "group", "all", "none"])
@pytest.mark.parametrize("tlp", sorted(TLP_ROUTES))
def test_tlp_label_caps_the_audience_routes(
    policy_engine: PolicyEngine, tlp: str, route: str
) -> None:
    decision = decide_one(
        policy_engine,
        ROUTES[route],
        tlp=tlp,
        claims=("subject",),
        audience_all=route == "all",
    )
    expected = route in TLP_ROUTES[tlp]
    assert decision.receive is expected
    assert decision.redacted == (() if expected else ("subject",))
    if not expected and route != "none" and tlp in TLP_FORBID:
        assert TLP_FORBID[tlp] in decision.policies
    if route == "none" and tlp == "clear":
        assert decision.policies == ()  # default deny: nothing determined it


def test_unknown_tlp_label_reaches_nobody(policy_engine: PolicyEngine) -> None:
    decision = decide_one(policy_engine, NAMED, tlp="white")
    assert not decision.receive
    assert decision.policies == ("tlp-known-label",)


def test_audience_permits_are_the_determining_policies(policy_engine: PolicyEngine) -> None:
    both = partner("named-agency", groups=("schengen",))
    decisions = policy_engine.decide(alert(claims=()), [NAMED, GROUP_MEMBER])
    decisions += policy_engine.decide(alert(claims=()), [both])
    assert [d.policies for d in decisions] == [
        ("audience-named",),
        ("audience-groups",),
        ("audience-groups", "audience-named"),
    ]


def test_only_agencies_receive(policy_engine: PolicyEngine) -> None:
    reviewer = partner("named-agency", roles=("reviewer",))
    decision = decide_one(policy_engine, reviewer, tlp="clear", audience_all=True)
    assert not decision.receive
    assert decision.policies == ("recipient-is-agency",)


@pytest.mark.parametrize(
    ("handling", "facts", "receive", "forbid"),
    [
        ({"H0"}, OUTSIDER, True, None),
        (set(), OUTSIDER, True, None),
        ({"H7"}, NAMED, False, "handling-known-codes"),
        ({"H1"}, OUTSIDER, False, "handling-h1-originator-circle"),
        ({"H1"}, partner("domestic", country="XR"), True, None),
        ({"H1"}, GROUP_MEMBER, True, None),
        ({"H2"}, OUTSIDER, True, None),
        ({"H3"}, NAMED, True, None),
        ({"H3"}, GROUP_MEMBER, False, "handling-h3-originator-approval"),
        ({"H1", "H3"}, partner("domestic", country="XR"), False, "handling-h3-originator-approval"),
    ],
)
def test_handling_codes(
    policy_engine: PolicyEngine,
    handling: set[str],
    facts: PartnerFacts,
    receive: bool,
    forbid: str | None,
) -> None:
    decision = decide_one(policy_engine, facts, tlp="clear", audience_all=True, handling=handling)
    assert decision.receive is receive
    if forbid:
        assert forbid in decision.policies


def test_h2_stops_a_bilateral_widening(policy_engine: PolicyEngine) -> None:
    syldavia = partner("syldavia-cyber", country="XS")
    widened = decide_one(policy_engine, syldavia, category="cybercrime", tlp="clear")
    assert widened.receive
    assert "bilateral-ruritania-syldavia-cybercrime" in widened.policies
    held = decide_one(policy_engine, syldavia, category="cybercrime", tlp="clear", handling={"H2"})
    assert not held.receive
    assert held.policies == ("handling-h2-audience-only",)


def test_biometrics_redacted_without_clearance(policy_engine: PolicyEngine) -> None:
    cleared = partner("named-agency", clearances=("biometrics",))
    uncleared, with_clearance = (
        decide_one(policy_engine, NAMED),
        decide_one(policy_engine, cleared),
    )
    assert uncleared.receive and with_clearance.receive
    assert uncleared.redacted == ("biometrics",)
    assert uncleared.policies == ("audience-named", "dp-biometrics-clearance")
    assert with_clearance.redacted == ()
    assert with_clearance.policies == ("audience-named",)


def test_missing_person_location_needs_location_clearance(policy_engine: PolicyEngine) -> None:
    facts = partner("named-agency", clearances=("biometrics",))
    missing = decide_one(policy_engine, facts, category="missing-person")
    assert missing.redacted == ("last_known_location",)
    assert "dp-missing-person-location" in missing.policies
    located = partner("named-agency", clearances=("biometrics", "location"))
    assert decide_one(policy_engine, located, category="missing-person").redacted == ()
    assert decide_one(policy_engine, facts, category="fugitive").redacted == ()


def test_forbid_wins_over_permit(policy_engine: PolicyEngine) -> None:
    borduria = partner("borduria-sis", groups=("schengen",), clearances=("biometrics",))
    audience = {"borduria-sis"}
    decision = decide_one(policy_engine, borduria, category="terrorism", audience_agencies=audience)
    assert not decision.receive  # named and in a group: two permits, one forbid
    assert decision.policies == ("bilateral-ruritania-borduria-no-terrorism",)
    other = decide_one(policy_engine, borduria, category="corruption", audience_agencies=audience)
    assert other.receive
    assert other.policies == ("audience-groups", "audience-named")


def test_widening_never_breaches_tlp(policy_engine: PolicyEngine) -> None:
    syldavia = partner("syldavia-cyber", country="XS")
    decision = decide_one(policy_engine, syldavia, category="cybercrime", tlp="amber")
    assert not decision.receive
    assert decision.policies == ("tlp-amber-named-or-groups",)


def test_purpose_limitation(policy_engine: PolicyEngine) -> None:
    assert decide_one(policy_engine, NAMED, purpose="").policies == ("dp-purpose-and-legal-basis",)
    assert not decide_one(policy_engine, NAMED, legal_basis="").receive


def test_decisions_keep_partner_and_claim_order(policy_engine: PolicyEngine) -> None:
    partners = [OUTSIDER, NAMED, GROUP_MEMBER]
    decisions = policy_engine.decide(BASE_ALERT, partners)
    assert [d.partner for d in decisions] == ["outsider", "named-agency", "group-member"]
    assert decisions[0].redacted == BASE_ALERT.claims
    assert decisions[1].redacted == ("biometrics",)
    for decision in decisions:
        assert list(decision.policies) == sorted(set(decision.policies))


def test_explain_shows_every_claim_outcome(policy_engine: PolicyEngine) -> None:
    (explanation,) = policy_engine.explain(BASE_ALERT, [NAMED])
    outcomes = {o.claim: o for o in explanation.claims}
    assert list(outcomes) == list(BASE_ALERT.claims)
    assert outcomes["subject"].disclosed
    assert outcomes["subject"].policies == ("dp-disclose-to-recipients",)
    assert not outcomes["biometrics"].disclosed
    assert outcomes["biometrics"].policies == ("dp-biometrics-clearance",)
    assert explanation.receive_policies == ("audience-named",)
    assert explanation.errors == ()
    (denied,) = policy_engine.explain(BASE_ALERT, [OUTSIDER])
    assert denied.claims == ()


def test_one_fan_out_is_at_most_two_cedar_calls(
    policy_engine: PolicyEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = cedarpy.is_authorized_batch

    def counting(requests: list[Any], *args: Any, **kwargs: Any) -> Any:
        calls.append(len(requests))
        return real(requests, *args, **kwargs)

    monkeypatch.setattr(cedarpy, "is_authorized_batch", counting)
    partners = [partner(f"agency-{i}", groups=("schengen",) if i % 2 else ()) for i in range(150)]
    decisions = policy_engine.decide(BASE_ALERT, partners)
    assert len(decisions) == 150
    assert calls == [150, 75 * len(BASE_ALERT.claims)]


def test_no_partners_no_call(policy_engine: PolicyEngine) -> None:
    assert policy_engine.decide(BASE_ALERT, []) == []


def test_duplicate_partners_are_refused(policy_engine: PolicyEngine) -> None:
    with pytest.raises(PolicyEvaluationError, match="named-agency"):
        policy_engine.decide(BASE_ALERT, [NAMED, NAMED])


def test_ids_are_data_not_policy_text(policy_engine: PolicyEngine) -> None:
    odd = 'named"agency\n) || true; permit(principal,action,resource'
    odd_claim = 'bio"metrics\n'
    decisions = policy_engine.decide(
        alert(audience_agencies={odd}, claims=("subject", odd_claim)),
        [partner(odd), OUTSIDER],
    )
    assert [d.receive for d in decisions] == [True, False]
    assert decisions[0].redacted == ()


def test_evaluation_errors_fail_closed(policy_copy: Path) -> None:
    # Validates, but overflows at run time: Cedar skips the erroring forbid and would allow.
    (policy_copy / "partners" / "overflow.cedar").write_text(
        '@id("overflowing-forbid")\n'
        '@description("A forbid that errors on every receive.")\n'
        'forbid (principal, action == Action::"receive", resource)\n'
        "when { 9223372036854775807 + (if resource.audience_all then 1 else 2) > 0 };\n"
    )
    policy_engine = PolicyEngine(PolicySet.load(policy_copy))
    (explanation,) = policy_engine.explain(BASE_ALERT, [NAMED])
    assert not explanation.decision.receive
    assert explanation.decision.policies == ("overflowing-forbid",)
    assert explanation.decision.redacted == BASE_ALERT.claims
    assert explanation.errors and "overflow" in explanation.errors[0]


def test_engine_reports_its_policy_version(
    policy_engine: PolicyEngine, shipped_set: PolicySet
) -> None:
    assert policy_engine.version == shipped_set.version
    assert policy_engine.policy_set is shipped_set


async def test_cooperative_decisions_equal_one_batch_and_let_others_run(
    policy_engine: PolicyEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    partners = [
        partner(f"agency-{i}", groups=("schengen",) if i % 3 else (), clearances=("biometrics",))
        if i % 2
        else partner(f"agency-{i}", groups=("schengen",))
        for i in range(150)
    ]
    expected = policy_engine.decide(BASE_ALERT, partners)
    calls: list[int] = []
    real = cedarpy.is_authorized_batch
    ticks = 0

    def counting(requests: list[Any], *args: Any, **kwargs: Any) -> Any:
        calls.append(len(requests))
        return real(requests, *args, **kwargs)

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    monkeypatch.setattr(cedarpy, "is_authorized_batch", counting)
    other = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    before = ticks
    try:
        decided = await policy_engine.decide_cooperatively(BASE_ALERT, partners)
    finally:
        other.cancel()
    assert decided == expected
    assert any(d.receive for d in decided) and any(not d.receive for d in decided)
    assert any(d.redacted for d in decided if d.receive)
    assert max(calls) <= COOPERATIVE_CHUNK
    assert sum(calls) == 150 + sum(d.receive for d in decided) * len(BASE_ALERT.claims)
    # the other task ran before each Cedar call, not only before and after the decision
    assert ticks - before == len(calls) == 3 + 8
