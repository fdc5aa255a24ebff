"""Facts for policy tests: a base alert to vary, and partners."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from service.policy.facts import AlertFacts, PartnerFacts

SHIPPED = Path(__file__).resolve().parents[2] / "policies"

BASE_ALERT = AlertFacts(
    alert_id="0b8e1f6a-1111-4111-8111-000000000001",
    originator="ruritania-npa",
    originator_country="XR",
    kind="blue",
    category="fugitive",
    tlp="amber",
    handling=frozenset({"H0"}),
    audience_agencies=frozenset({"named-agency"}),
    audience_groups=frozenset({"schengen"}),
    audience_all=False,
    purpose="locate the subject",
    legal_basis="Art. 3 Liaison convention",
    claims=("subject", "narrative", "biometrics", "last_known_location"),
)


def alert(**changes: object) -> AlertFacts:
    """The base alert with some facts changed; sets may be given as any iterable."""
    for key in ("handling", "audience_agencies", "audience_groups", "character", "subject_status"):
        if key in changes:
            changes[key] = frozenset(changes[key])  # type: ignore[call-overload]
    return replace(BASE_ALERT, **changes)  # type: ignore[arg-type]


def partner(
    partner_id: str = "partner-x",
    country: str = "XB",
    groups: tuple[str, ...] = (),
    roles: tuple[str, ...] = ("agency",),
    clearances: tuple[str, ...] = (),
    heightened_review: bool = False,
) -> PartnerFacts:
    """A partner; by default a foreign agency in no group with no clearance."""
    return PartnerFacts(
        partner_id,
        country,
        frozenset(groups),
        frozenset(roles),
        frozenset(clearances),
        heightened_review,
    )


def originator(heightened_review: bool = False) -> PartnerFacts:
    """The registry facts of ``BASE_ALERT``'s originator."""
    return partner(
        BASE_ALERT.originator, BASE_ALERT.originator_country, heightened_review=heightened_review
    )
