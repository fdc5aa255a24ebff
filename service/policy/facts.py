"""What the policy engine decides on: the clear facts of an alert and of a partner.

These are plain values built by the alert service from verified input; the engine never
sees alert content, only the names of the content claims.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PartnerFacts:
    """A registered agency as a possible recipient."""

    id: str
    country: str
    groups: frozenset[str]
    roles: frozenset[str]
    # Names of the agency's registry attributes whose value is true, e.g. {"biometrics"}:
    # what data protection law lets this agency receive.
    clearances: frozenset[str]
    # A reviewer has placed this agency's alerts under heightened review (screening).
    heightened_review: bool = False


@dataclass(frozen=True)
class AlertFacts:
    """The clear, policy-relevant claims of an alert (API.md "Submitting an alert")."""

    alert_id: str
    originator: str
    originator_country: str
    kind: str
    category: str
    tlp: str
    handling: frozenset[str]
    audience_agencies: frozenset[str]
    audience_groups: frozenset[str]
    audience_all: bool
    purpose: str
    legal_basis: str
    # Names of the selectively disclosable content claims (subject, narrative, biometrics…).
    claims: tuple[str, ...]
    # Screening markers the originator declares in the clear: the case's character
    # ("political", "military", "religious", "racial": Article 3 of INTERPOL's constitution)
    # and the subject's protection status ("recognised-refugee", "asylum-seeker").
    character: frozenset[str] = frozenset()
    subject_status: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ScreeningDecision:
    """Whether an alert may be published at once, or is held for review, and why."""

    publish: bool
    policies: tuple[str, ...]


@dataclass(frozen=True)
class Decision:
    """The gateway's answer for one partner.

    ``redacted`` lists content claims the partner may not see (all of them when it does not
    receive the alert); ``policies`` the ids of the policies that determined the outcome.
    """

    partner: str
    receive: bool
    redacted: tuple[str, ...]
    policies: tuple[str, ...]
