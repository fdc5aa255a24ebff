"""Fan-out: one policy decision per registered partner, stored and audited with the alert."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from service.alerts.gateway import PolicyGateway, partner_facts
from service.alerts.models import Alert
from service.alerts.notify import mark_published
from service.alerts.repository import AlertRepository, Directory
from service.api.metrics import count_decisions
from service.api.principal import BROKER_ID
from service.audit.sink import AuditSink
from service.policy.facts import AlertFacts, Decision, PartnerFacts
from service.protocol.vocabulary import AuditEvent, FeedItemType

NO_ENCRYPTION_KEY = "broker:no-encryption-key"


def candidates(directory: Directory, originator: str) -> list[PartnerFacts]:
    """The partners a fan-out asks the policies about, in the order asked: every agency but
    the originator that holds a valid encryption key (the others are withheld unasked)."""
    return [partner_facts(p) for p in directory.partners if p.id != originator and p.deliverable]


@dataclass
class FanOut:
    repository: AlertRepository
    audit: AuditSink
    gateway: PolicyGateway
    now: datetime

    async def publish(self, alert: Alert, facts: AlertFacts) -> list[Decision]:
        """Decide for every partner but the originator; queue items for those who receive
        (``decide`` then ``deliver``)."""
        decisions = await self.decide(alert, facts)
        await self.deliver(alert.id, decisions)
        return decisions

    async def decide(self, alert: Alert, facts: AlertFacts) -> list[Decision]:
        """Decide for every partner but the originator, and store and audit the decisions;
        nothing is queued yet (``deliver``).

        Every decision, withheld ones included, is an ``alert.decision`` audit entry in the
        caller's transaction. A partner without a valid encryption key cannot be delivered
        to, so it is withheld with the broker's own reason.
        """
        directory = await self.repository.directory(self.now)
        partners = [p for p in directory.partners if p.id != alert.originator]
        # Cooperatively: other requests of this process keep moving during a large fan-out.
        decisions = await self.gateway.decide_cooperatively(
            facts, candidates(directory, alert.originator)
        )
        undeliverable = {p.id for p in partners if not p.deliverable}
        decisions += [
            Decision(p, False, tuple(facts.claims), (NO_ENCRYPTION_KEY,))
            for p in sorted(undeliverable)
        ]
        count_decisions(d.receive for d in decisions)
        version = self.gateway.version
        await self.repository.insert_decisions(
            [
                {
                    "alert_id": alert.id,
                    "partner": d.partner,
                    "receive": d.receive,
                    "redacted": list(d.redacted),
                    "policies": list(d.policies),
                    "policy_version": version,
                    "decided_at": self.now,
                }
                for d in decisions
            ]
        )
        await self.audit.append_many(
            AuditEvent.ALERT_DECISION,
            BROKER_ID,
            [
                {
                    "alert_id": alert.id,
                    "partner": d.partner,
                    "decision": "received" if d.receive else "withheld",
                    "redacted": list(d.redacted),
                    "policies": list(d.policies),
                    "policy_version": version,
                }
                for d in decisions
            ],
        )
        return decisions

    async def deliver(self, alert_id: str, decisions: list[Decision]) -> None:
        """Queue the alert for every partner ``decisions`` let receive it."""
        await self._queue(
            alert_id, [d.partner for d in decisions if d.receive], FeedItemType.ALERT, None
        )

    async def notify_recipients(
        self,
        alert_id: str,
        item_type: FeedItemType,
        reason: str,
        reason_for: Callable[[str], str] | None = None,
    ) -> list[str]:
        """Queue a ``withdrawal`` or ``expiry`` item for every partner that received the alert.

        Each item carries ``reason``, or ``reason_for(partner)`` when given: a notice must not
        name to a partner anything it was not sent (such as a newer alert it was withheld)."""
        recipients = await self.repository.recipients(alert_id)
        await self._queue(alert_id, recipients, item_type, reason, reason_for)
        return recipients

    async def _queue(
        self,
        alert_id: str,
        partners: list[str],
        item_type: FeedItemType,
        reason: str | None,
        reason_for: Callable[[str], str] | None = None,
    ) -> None:
        """Append one item per partner to their feeds (serialised: see ``lock_feeds``)."""
        if not partners:
            return
        await self.repository.lock_feeds()
        await self.repository.insert_feed_items(
            [
                {
                    "partner": p,
                    "alert_id": alert_id,
                    "type": item_type,
                    "reason": reason if reason_for is None else reason_for(p),
                    "created_at": self.now,
                }
                for p in partners
            ]
        )
        await mark_published(self.repository.session, partners)
