"""Publication: every submission is screened; it is either released (fan-out) or held."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from service.alerts.cases import CaseRepository
from service.alerts.fanout import FanOut
from service.alerts.gateway import PolicyGateway, partner_facts
from service.alerts.lifecycle import ActorKind, AlertAction, allowed, close_open_cases, transition
from service.alerts.models import Alert, ReviewCase
from service.alerts.repository import AlertRepository
from service.api.metrics import count_held
from service.api.principal import BROKER_ID
from service.audit.sink import AuditSink
from service.policy.facts import AlertFacts
from service.protocol.errors import Conflict
from service.protocol.vocabulary import AlertStatus, AuditEvent, CaseKind, CaseStatus, FeedItemType
from service.registry.models import Principal

NO_PERMIT = "no screening policy permits publication"
#: What a superseded alert's recipients are told when they were not sent the newer alert.
SUPERSEDED = "superseded"


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
        count_held()
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
        """Fan a published alert out (a new submission, or a held one a reviewer's
        ``approve`` transition has just published); an alert it supersedes is withdrawn
        first (same transaction).

        Raises Conflict, changing nothing, if ``alert`` is not published: nothing that is
        held, withdrawn or shredded ever reaches a feed.
        """
        if alert.status != AlertStatus.PUBLISHED:
            raise Conflict(f"an alert that is {alert.status} cannot be released")
        fan_out = FanOut(self.alerts, self.audit, self.gateway, self.now)
        decisions = await fan_out.decide(alert, facts)
        if supersedes is not None:
            receivers = {d.partner for d in decisions if d.receive}
            await self._supersede(alert.originator, supersedes, alert.id, receivers, fan_out)
        await fan_out.deliver(alert.id, decisions)

    async def _supersede(
        self, actor: str, older_id: str, newer_id: str, receivers: set[str], fan_out: FanOut
    ) -> None:
        """Withdraw the older alert as superseded, if the lifecycle still allows it (an
        ended alert stays as it ended). Its recipients that receive the newer alert are told
        its id; the others only that it was superseded. A held older alert's review case is
        closed."""
        older = await self.alerts.get(older_id, for_update=True)
        if older is None or not allowed(older.status, AlertAction.SUPERSEDE):
            return
        transition(older, AlertAction.SUPERSEDE, ActorKind.ORIGINATOR)
        # Neutral: recipients read status_reason too, and some were withheld the newer alert.
        older.status_reason = SUPERSEDED
        older.status_changed_at = self.now
        older.purge_deadline = self.now + timedelta(days=self.purge_days)
        named = f"superseded by {newer_id}"
        recipients = await fan_out.notify_recipients(
            older_id,
            FeedItemType.WITHDRAWAL,
            SUPERSEDED,
            reason_for=lambda partner: named if partner in receivers else SUPERSEDED,
        )
        await self.audit.append(
            AuditEvent.ALERT_WITHDRAWN,
            actor,
            {
                "alert_id": older_id,
                "reason": named,
                "superseded_by": newer_id,
                "recipients": recipients,
            },
        )
        await close_open_cases(
            self.governance, self.audit, older, CaseStatus.WITHDRAWN, actor, named, self.now
        )
