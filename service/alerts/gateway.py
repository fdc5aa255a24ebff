"""What the alert exchange needs from the policy gateway, and how it builds the facts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from service.alerts.models import Alert
from service.policy.facts import AlertFacts, Decision, PartnerFacts, ScreeningDecision
from service.protocol.validation import AlertClaims


class Registered(Protocol):
    """A registry entry: an ORM ``Principal`` or a ``RegistryEntry`` read without one."""

    @property
    def id(self) -> str: ...
    @property
    def country(self) -> str: ...
    @property
    def groups(self) -> Sequence[str]: ...
    @property
    def roles(self) -> Sequence[str]: ...
    @property
    def attributes(self) -> Mapping[str, Any]: ...


class PolicyGateway(Protocol):
    @property
    def version(self) -> str: ...

    def decide(self, alert: AlertFacts, partners: Sequence[PartnerFacts]) -> list[Decision]: ...

    async def decide_cooperatively(
        self, alert: AlertFacts, partners: Sequence[PartnerFacts]
    ) -> list[Decision]: ...

    def screen(self, alert: AlertFacts, originator: PartnerFacts) -> ScreeningDecision: ...


def partner_facts(principal: Registered, *, heightened_review: bool = False) -> PartnerFacts:
    """A registry entry as the policies see it; clearances are the attributes set to true."""
    return PartnerFacts(
        id=principal.id,
        country=principal.country,
        groups=frozenset(principal.groups),
        roles=frozenset(principal.roles),
        clearances=frozenset(k for k, v in principal.attributes.items() if v is True),
        heightened_review=heightened_review,
    )


def alert_facts(
    claims: AlertClaims, originator_country: str, content_claims: Sequence[str]
) -> AlertFacts:
    return AlertFacts(
        alert_id=claims.alert_id,
        originator=claims.issuer,
        originator_country=originator_country,
        kind=claims.kind,
        category=claims.category,
        tlp=claims.tlp,
        handling=frozenset(claims.handling),
        audience_agencies=frozenset(claims.audience_agencies),
        audience_groups=frozenset(claims.audience_groups),
        audience_all=claims.audience_all,
        purpose=claims.purpose,
        legal_basis=claims.legal_basis,
        claims=tuple(sorted(content_claims)),
        character=frozenset(claims.character),
        subject_status=frozenset(claims.subject_status),
    )


def stored_alert_facts(alert: Alert, originator_country: str) -> AlertFacts:
    """The facts of an alert as stored (for decisions made after submission: release)."""
    return AlertFacts(
        alert_id=alert.id,
        originator=alert.originator,
        originator_country=originator_country,
        kind=alert.kind,
        category=alert.category,
        tlp=alert.tlp,
        handling=frozenset(alert.handling),
        audience_agencies=frozenset(alert.audience.get("agencies", [])),
        audience_groups=frozenset(alert.audience.get("groups", [])),
        audience_all=bool(alert.audience.get("all", False)),
        purpose=alert.purpose,
        legal_basis=alert.legal_basis,
        claims=tuple(sorted(alert.claims)),
        character=frozenset(alert.character or ()),
        subject_status=frozenset(alert.subject_status or ()),
    )
