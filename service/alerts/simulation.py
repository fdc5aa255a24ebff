"""Policy simulation: what the gateway would decide for a would-be alert, storing nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from service.alerts.cases import CaseRepository
from service.alerts.gateway import PolicyGateway, alert_facts, partner_facts
from service.alerts.repository import AlertRepository
from service.api.principal import AuthenticatedPrincipal
from service.policy.facts import Decision
from service.protocol.errors import Forbidden, InvalidInput
from service.protocol.validation import validate_claims
from service.protocol.vocabulary import Role

SIMULATION_ID = "00000000-0000-4000-8000-000000000000"


@dataclass(frozen=True)
class SimulationResult:
    policy_version: str
    publish: bool
    screening_policies: tuple[str, ...]
    decisions: tuple[Decision, ...]


async def simulate(
    alerts: AlertRepository,
    cases: CaseRepository,
    gateway: PolicyGateway,
    principal: AuthenticatedPrincipal,
    clear: Mapping[str, Any],
    content_claims: Sequence[str],
    now: datetime,
) -> SimulationResult:
    """Decisions for every registered partner and the screening outcome of an alert with the
    clear claims ``clear`` and content claims named ``content_claims``. Nothing is stored or
    logged as a decision.

    Raises Forbidden when an agency simulates another's alert (reviewers and admins may),
    InvalidInput when the claims do not validate or the originator is not registered.
    """
    issuer = clear.get("iss")
    if issuer != principal.id and not principal.roles & {Role.REVIEWER, Role.ADMIN}:
        raise Forbidden("an agency may simulate only alerts it would originate")
    horizon = int((now + timedelta(days=1)).timestamp())
    full = dict(clear) | {
        "jti": SIMULATION_ID,
        "iat": int(now.timestamp()),
        "exp": horizon,
        "cnf": {"jwk": {}},
    }
    validated = validate_claims(full, content_claims, now, timedelta(seconds=0))
    registered = (await alerts.directory(now)).partners
    partners = [p for p in registered if p.id != issuer]
    originator = next((p for p in registered if p.id == issuer), None)
    if originator is None:
        raise InvalidInput(f"{issuer!r} is not a registered agency")
    facts = alert_facts(validated, originator.country, sorted(set(content_claims)))
    decisions = gateway.decide(facts, [partner_facts(p) for p in partners])
    heightened = await cases.heightened(originator.id) is not None
    screening = gateway.screen(facts, partner_facts(originator, heightened_review=heightened))
    return SimulationResult(
        policy_version=gateway.version,
        publish=screening.publish,
        screening_policies=tuple(screening.policies),
        decisions=tuple(decisions),
    )
