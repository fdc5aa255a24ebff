"""Policy decisions for a submission, made before its transaction opens.

Cedar is the largest cost of a publication (tens of milliseconds for a hundred partners).
Made inside the request transaction, it holds that transaction's database connection the
whole time, and on SQLite that connection is the process's only writer: every other request
waits. Decisions are a pure function of the alert's facts, the partners' facts and the
policy set, so they can be made beforehand from a read-only snapshot and handed to the
transaction by ``PreparedGateway``, which answers a ``decide`` with exactly those inputs
from the prepared result and passes anything else to the real gateway.

The transaction still reads the registry and verifies everything itself: if the registry
changed in between, or the alert is not what it appeared to be before verification, its
inputs differ and it decides again. Preparing can change when the work is done, never an
outcome. It is done only for a request whose signature verifies with a registered agency
key, so an unauthenticated caller cannot make the broker evaluate policies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.alerts.fanout import candidates
from service.alerts.gateway import PolicyGateway, alert_facts
from service.alerts.repository import AlertRepository
from service.auth.authenticate import verify_request
from service.policy.facts import AlertFacts, Decision, PartnerFacts, ScreeningDecision
from service.protocol.errors import LiaisonError
from service.protocol.sdjwt import MalformedSdJwt, parse_sd_jwt, unverified_content
from service.protocol.signatures import UnverifiedRequest
from service.protocol.validation import validate_claims
from service.protocol.vocabulary import Role
from service.registry.repository import RegistryRepository

_Inputs = tuple[AlertFacts, tuple[PartnerFacts, ...]]


@dataclass
class PreparedGateway:
    """A gateway that already knows some answers: the prepared decisions, for exactly the
    inputs they were made from, under the same policy set."""

    inner: PolicyGateway
    prepared: dict[_Inputs, list[Decision]] = field(default_factory=dict)
    used: int = 0
    recomputed: int = 0

    @property
    def outcome(self) -> str:
        """For the metrics: used, recomputed, unused or none (see ``Metrics``)."""
        if not self.prepared:
            return "none"
        if self.used:
            return "used"
        return "recomputed" if self.recomputed else "unused"

    @property
    def version(self) -> str:
        return self.inner.version

    def decide(self, alert: AlertFacts, partners: Sequence[PartnerFacts]) -> list[Decision]:
        known = self._known(alert, partners)
        return known if known is not None else self.inner.decide(alert, partners)

    async def decide_cooperatively(
        self, alert: AlertFacts, partners: Sequence[PartnerFacts]
    ) -> list[Decision]:
        known = self._known(alert, partners)
        if known is not None:
            return known
        return await self.inner.decide_cooperatively(alert, partners)

    def screen(self, alert: AlertFacts, originator: PartnerFacts) -> ScreeningDecision:
        return self.inner.screen(alert, originator)

    def _known(self, alert: AlertFacts, partners: Sequence[PartnerFacts]) -> list[Decision] | None:
        known = self.prepared.get((alert, tuple(partners)))
        if known is not None:
            self.used += 1
            return list(known)
        self.recomputed += 1 if self.prepared else 0
        return None


async def prepare_decisions(
    gateway: PolicyGateway,
    reader: async_sessionmaker[AsyncSession],
    request: UnverifiedRequest,
    body: bytes,
    now: datetime,
    skew: timedelta,
) -> PreparedGateway:
    """``gateway`` with the fan-out decisions of the alert in ``body`` made in advance, when
    the request is signed by a registered agency and the alert looks publishable; otherwise
    ``gateway`` as it is (the transaction then decides, and rejects, as it would anyway)."""
    prepared = PreparedGateway(gateway)
    try:
        unverified = parse_sd_jwt(body.decode("ascii"))
    except (LiaisonError, UnicodeDecodeError, MalformedSdJwt):
        return prepared
    content = unverified_content(unverified)
    if content is None:
        return prepared
    clear, names = content
    async with reader() as session, session.begin():
        try:
            verified = await verify_request(RegistryRepository(session), request, now, skew)
            if Role.AGENCY not in verified.roles:
                return prepared
            claims = validate_claims(clear, names, now, skew)
        except LiaisonError:
            return prepared
        # Only a verified request gets the registry read and the policy work.
        directory = await AlertRepository(session).directory(now)
    originator = directory.get(verified.principal_id)
    if originator is None or claims.issuer != originator.id:
        return prepared
    facts = alert_facts(claims, originator.country, sorted(names))
    partners = candidates(directory, originator.id)
    try:
        decisions = await gateway.decide_cooperatively(facts, partners)
    except LiaisonError:
        return prepared
    prepared.prepared[(facts, tuple(partners))] = decisions
    return prepared
