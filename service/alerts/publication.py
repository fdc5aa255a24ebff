"""Publication: every submission is screened; it is either released (fan-out) or held."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from service.alerts.cases import CaseRepository
from service.alerts.fanout import FanOut
from service.alerts.gateway import PolicyGateway, partner_facts
from service.alerts.models import Alert, ReviewCase
from service.alerts.repository import AlertRepository
from service.api.principal import BROKER_ID
from service.audit.sink import AuditSink
from service.policy.facts import AlertFacts
from service.protocol.vocabulary import AlertStatus, AuditEvent, CaseKind, CaseStatus, FeedItemType
from service.registry.models import Principal

NO_PERMIT = "no screening policy permits publication"


@dataclass
class Publisher:
    alerts: AlertRepository
    governance: CaseRepository
    audit: AuditSink
    gateway: PolicyGateway
    now: datetime
    purge_days: int

    async def screen_and_publish(
        self, alert: Alert, facts: AlertFacts, originator: Principal, supersedes: str | None
    ) -> AlertStatus:
        """Run the ``publish`` decision; release the alert or hold it for review.

        A held alert reaches nobody: no decisions, no feed items, until a reviewer approves
        it. Returns the alert's new status.
        """
        heightened = await self.governance.heightened(originator.id) is not None
        screening = self.gateway.screen(
            facts, partner_facts(originator, heightened_review=heightened)
        )
        if screening.publish:
            await self.release(alert, facts, supersedes)
            return AlertStatus.PUBLISHED
        alert.status = AlertStatus.PENDING_REVIEW
        alert.status_changed_at = self.now
        reason = ", ".join(screening.policies) or NO_PERMIT
        await self.governance.add(
            ReviewCase(
                alert_id=alert.id,
                kind=CaseKind.SCREENING,
                status=CaseStatus.OPEN,
                reason=reason,
                opened_by=BROKER_ID,
                opened_at=self.now,
            )
        )
        await self.audit.append(
            AuditEvent.ALERT_HELD,
            BROKER_ID,
            {
                "alert_id": alert.id,
                "policies": list(screening.policies),
                "policy_version": self.gateway.version,
            },
        )
        return AlertStatus.PENDING_REVIEW

    async def release(self, alert: Alert, facts: AlertFacts, supersedes: str | None) -> None:
        """Fan the alert out; an alert it supersedes is withdrawn first (same transaction)."""
        fan_out = FanOut(self.alerts, self.audit, self.gateway, self.now)
        alert.status = AlertStatus.PUBLISHED
        if supersedes is not None:
            await self._supersede(alert.originator, supersedes, alert.id, fan_out)
        await fan_out.publish(alert, facts)

    async def _supersede(self, actor: str, older_id: str, newer_id: str, fan_out: FanOut) -> None:
        older = await self.alerts.get(older_id, for_update=True)
        if older is None or older.status != AlertStatus.PUBLISHED:
            return
        older.status = AlertStatus.SUPERSEDED
        older.status_reason = f"superseded by {newer_id}"
        older.status_changed_at = self.now
        older.purge_deadline = self.now + timedelta(days=self.purge_days)
        recipients = await fan_out.notify_recipients(
            older_id, FeedItemType.WITHDRAWAL, older.status_reason
        )
        await self.audit.append(
            AuditEvent.ALERT_WITHDRAWN,
            actor,
            {
                "alert_id": older_id,
                "reason": older.status_reason,
                "superseded_by": newer_id,
                "recipients": recipients,
            },
        )
