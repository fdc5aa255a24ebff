"""Acceptance: "a hypothesis property test over random partners, groups, audiences, TLP labels
and per-claim policies shows that no partner ever receives an alert Cedar denies it, nor a
claim redacted for it".

Each example registers fresh agencies over the API, posts one alert over HTTP and polls every
new agency's feed over HTTP, decrypting and verifying with the SDK. What each partner should
get comes from two oracles that must agree: Cedar itself (the running app's policy engine,
asked about the same facts) and a plain model written here from policies/README.md.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from service.client import LiaisonClient
from service.policy.facts import AlertFacts, PartnerFacts
from service.protocol.clock import ManualClock
from service.protocol.envelope import open_envelope
from tests.alerts.conftest import Member, MemberFactory

GROUPS = ("eu", "schengen", "five-eyes", "nordic")
COUNTRIES = ("FR", "DE", "US")
CLEARANCES = ("biometrics", "location")
CLAIMS = ("subject", "narrative", "biometrics", "last_known_location")
TLP = ("clear", "green", "amber", "amber+strict", "red")
CATEGORIES = ("corruption", "missing-person", "terrorism", "cybercrime")
HANDLING = ("H0", "H1", "H2", "H3")
PURPOSE = "investigate"
LEGAL_BASIS = "Convention on mutual assistance, art. 7"
EXAMPLES = itertools.count()


@dataclass(frozen=True)
class AgencySpec:
    country: str
    groups: frozenset[str]
    clearances: frozenset[str]


@dataclass(frozen=True)
class Scenario:
    originator: AgencySpec
    partners: tuple[AgencySpec, ...]
    named: frozenset[int]  # indexes into partners
    groups: frozenset[str]
    audience_all: bool
    tlp: str
    handling: frozenset[str]
    category: str
    claims: frozenset[str]


agency_specs = st.builds(
    AgencySpec,
    country=st.sampled_from(COUNTRIES),
    groups=st.frozensets(st.sampled_from(GROUPS), max_size=3),
    clearances=st.frozensets(st.sampled_from(CLEARANCES)),
)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    partners = tuple(draw(st.lists(agency_specs, min_size=3, max_size=6)))
    named = draw(st.frozensets(st.integers(0, len(partners) - 1), max_size=3))
    groups = draw(st.frozensets(st.sampled_from(GROUPS), max_size=2))
    # An empty audience is refused at submission (422); address everyone instead.
    audience_all = draw(st.booleans()) or not (named or groups)
    return Scenario(
        originator=draw(agency_specs),
        partners=partners,
        named=named,
        groups=groups,
        audience_all=audience_all,
        tlp=draw(st.sampled_from(TLP)),
        handling=draw(st.frozensets(st.sampled_from(HANDLING), max_size=2)),
        category=draw(st.sampled_from(CATEGORIES)),
        claims=draw(st.frozensets(st.sampled_from(CLAIMS), min_size=1)),
    )


# -- the model, from policies/README.md --------------------------------------------------


def model(alert: AlertFacts, partner: PartnerFacts) -> tuple[bool, frozenset[str]]:
    """(receives, redacted claims) as policies/README.md describes the shipped policies.

    audience: named, group members, or everyone for ``all``; agencies only. TLP caps: red
    named only; amber, amber+strict and green named or audience-group members; clear no
    cap. Handling: H1 same country, named or group; H2 the audience; H3 named only.
    Purpose and legal basis required. biometrics needs the biometrics clearance; a missing
    person's last_known_location needs the location clearance.
    """
    named = partner.id in alert.audience_agencies
    grouped = bool(partner.groups & alert.audience_groups)
    addressed = named or grouped or alert.audience_all
    tlp_cap = {
        "red": named,
        "amber": named or grouped,
        "amber+strict": named or grouped,
        "green": named or grouped,
        "clear": True,
    }[alert.tlp]
    handling = alert.handling
    circle = partner.country == alert.originator_country or named or grouped
    receives = (
        "agency" in partner.roles
        and addressed
        and tlp_cap
        and ("H1" not in handling or circle)
        and ("H2" not in handling or addressed)
        and ("H3" not in handling or named)
        and bool(alert.purpose and alert.legal_basis)
    )
    if not receives:
        return False, frozenset(alert.claims)
    redacted = {
        claim
        for claim in alert.claims
        if (claim == "biometrics" and "biometrics" not in partner.clearances)
        or (
            claim == "last_known_location"
            and alert.category == "missing-person"
            and "location" not in partner.clearances
        )
    }
    return True, frozenset(redacted)


def test_model_reads_the_readme() -> None:
    """The model is not vacuous: a few hand-made cases, one per rule."""
    alert = AlertFacts(
        alert_id="00000000-0000-4000-8000-000000000001",
        originator="o",
        originator_country="FR",
        kind="diffusion",
        category="missing-person",
        tlp="green",
        handling=frozenset({"H1"}),
        audience_agencies=frozenset({"named"}),
        audience_groups=frozenset({"eu"}),
        audience_all=True,
        purpose="p",
        legal_basis="l",
        claims=("biometrics", "last_known_location", "narrative"),
    )

    def partner(pid: str, groups: set[str], clearances: tuple[str, ...] = ()) -> PartnerFacts:
        agency = frozenset({"agency"})
        return PartnerFacts(pid, "DE", frozenset(groups), agency, frozenset(clearances))

    assert model(alert, partner("named", set())) == (
        True,
        frozenset({"biometrics", "last_known_location"}),
    )
    assert model(alert, partner("member", {"eu"}, ("biometrics", "location"))) == (
        True,
        frozenset(),
    )
    assert model(alert, partner("other", {"nordic"}))[0] is False  # green never reaches "all"
    clear = AlertFacts(**{**vars(alert), "tlp": "clear"})
    assert model(clear, partner("other", {"nordic"}))[0] is False  # H1: foreign, not named
    clear_h0 = AlertFacts(**{**vars(clear), "handling": frozenset({"H0"})})
    assert model(clear_h0, partner("other", {"nordic"}))[0] is True
    red = AlertFacts(**{**vars(alert), "tlp": "red"})
    assert model(red, partner("member", {"eu"}))[0] is False


# -- helpers -----------------------------------------------------------------------------


def content_for(claims: frozenset[str]) -> dict[str, Any]:
    """One value per claim, each carrying a marker found nowhere else."""
    values: dict[str, Any] = {
        "subject": {"name": f"subject-{uuid.uuid4().hex}"},
        "narrative": f"narrative-{uuid.uuid4().hex}",
        "biometrics": {"fingerprint": f"biometrics-{uuid.uuid4().hex}"},
        "last_known_location": {"city": f"location-{uuid.uuid4().hex}"},
    }
    return {name: values[name] for name in claims}


def marker(value: Any) -> str:
    text = value if isinstance(value, str) else next(iter(value.values()))
    assert isinstance(text, str)
    return text


def decoded_plaintext(plaintext: bytes) -> bytes:
    """The plaintext plus every base64url segment of it decoded: the JWS parts, each
    disclosure and the KB-JWT, so that a claim value shows whichever way it travels."""
    pieces = [plaintext]
    for part in plaintext.decode("ascii").split("~"):
        for segment in part.split("."):
            try:
                pieces.append(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
            except (binascii.Error, ValueError):
                continue
    return b"\n".join(pieces)


def partner_facts(agency: dict[str, Any]) -> PartnerFacts:
    """A registry entry (GET /v1/agencies) as a policy principal, built here, not by the
    service: clearances are the attributes whose value is true."""
    return PartnerFacts(
        id=agency["id"],
        country=agency["country"],
        groups=frozenset(agency["groups"]),
        roles=frozenset(agency["roles"]),
        clearances=frozenset(k for k, v in agency["attributes"].items() if v is True),
    )


@pytest.fixture
async def group_anchor(register: Any) -> None:
    """Every group in GROUPS exists in the registry (an audience naming an unknown group is
    refused), held by an auditor, who never receives alerts."""
    await register("group-anchor", roles=("auditor",), groups=GROUPS)


async def register_scenario(
    member: MemberFactory, scenario: Scenario, prefix: str
) -> tuple[Member, list[Member]]:
    def options(spec: AgencySpec) -> dict[str, Any]:
        return {
            "country": spec.country,
            "groups": tuple(sorted(spec.groups)),
            "attributes": {c: True for c in sorted(spec.clearances)},
        }

    originator = await member(f"{prefix}-o", **options(scenario.originator))
    partners = [
        await member(f"{prefix}-p{i}", **options(spec)) for i, spec in enumerate(scenario.partners)
    ]
    return originator, partners


# -- the property ------------------------------------------------------------------------


@settings(
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios())
async def test_no_partner_receives_what_cedar_denies_it(
    scenario: Scenario,
    member: MemberFactory,
    app: FastAPI,
    admin: LiaisonClient,
    clock: ManualClock,
    group_anchor: None,
) -> None:
    prefix = f"x{next(EXAMPLES)}"
    originator, partners = await register_scenario(member, scenario, prefix)
    content = content_for(scenario.claims)
    named = sorted(partners[i].id for i in scenario.named)
    audience = {"agencies": named, "groups": sorted(scenario.groups), "all": scenario.audience_all}
    clear = {
        "kind": "diffusion",
        "category": scenario.category,
        "tlp": scenario.tlp,
        "handling": sorted(scenario.handling),
        "audience": audience,
        "purpose": PURPOSE,
        "legal_basis": LEGAL_BASIS,
    }
    posted = await originator.alerts.compose_and_post(
        originator.party.signing, clear, content, now=clock.now()
    )
    alert_id = posted["alert_id"]
    assert posted["status"] == "published"

    # Oracle 1: Cedar, through the running app's engine, on facts built from the registry.
    registry = {a["id"]: a for a in await admin.list_agencies()}
    facts = AlertFacts(
        alert_id=alert_id,
        originator=originator.id,
        originator_country=scenario.originator.country,
        kind="diffusion",
        category=scenario.category,
        tlp=scenario.tlp,
        handling=scenario.handling,
        audience_agencies=frozenset(named),
        audience_groups=scenario.groups,
        audience_all=scenario.audience_all,
        purpose=PURPOSE,
        legal_basis=LEGAL_BASIS,
        claims=tuple(sorted(scenario.claims)),
    )
    everyone = [
        partner_facts(a)
        for a in registry.values()
        if "agency" in a["roles"] and a["id"] != originator.id
    ]
    cedar = {
        d.partner: (d.receive, frozenset(d.redacted))
        for d in app.state.runtime.require_policy().decide(facts, everyone)
    }
    # Oracle 2: the README's rules agree with Cedar for every partner, old ones included.
    expected = {p.id: model(facts, p) for p in everyone}
    assert cedar == expected

    # What the broker decided and stored for every partner is Cedar's answer.
    view = await originator.alerts.show(alert_id)
    stored = {
        d["partner"]: (d["decision"] == "received", frozenset(d["redacted"]))
        for d in view["decisions"]
    }
    assert stored == cedar

    receivers = [p for p in partners if cedar[p.id][0]]
    event(f"receivers among new partners: {len(receivers)}/{len(partners)}")
    event(f"a receiver has redactions: {any(cedar[p.id][1] for p in receivers)}")

    # Every new partner's feed, over HTTP, decrypted and verified with its own SDK.
    for partner in partners:
        receives, redacted = cedar[partner.id]
        page = await partner.alerts.feed()
        if not receives:
            assert page["items"] == [], partner.id
            continue
        assert expected[partner.id][0], f"{partner.id} receives outside the model"
        [item] = page["items"]
        delivered = await partner.alerts.open_item(item)
        assert (delivered.type, delivered.alert_id) == ("alert", alert_id)
        assert delivered.originator == originator.id
        assert delivered.content == {k: v for k, v in content.items() if k not in redacted}
        assert delivered.undisclosed == len(redacted)
        opened = decoded_plaintext(open_envelope(partner.party.encryption, item["envelope"]))
        for name, value in content.items():
            found = marker(value).encode() in opened
            assert found is (name not in redacted), (partner.id, name)

    # The originator is no recipient of its own alert.
    assert (await originator.alerts.feed())["items"] == []
