"""Acting on alerts: dispositions, withdrawal, expiry, and who may see what about an alert."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from service.alerts.cases import CaseRepository
from service.alerts.challenges import open_challenge
from service.alerts.fanout import FanOut
from service.alerts.gateway import PolicyGateway
from service.alerts.lifecycle import ActorKind, AlertAction, close_open_cases, transition
from service.alerts.models import Alert
from service.alerts.models import Disposition as DispositionRow
from service.alerts.purge import purge_status
from service.alerts.records import AlertRecord, Ending
from service.alerts.repository import AlertRepository
from service.api.principal import BROKER_ID, AuthenticatedPrincipal
from service.audit.sink import AuditSink
from service.protocol.clock import rfc3339
from service.protocol.errors import Forbidden, NotFound
from service.protocol.vocabulary import (
    AlertStatus,
    AuditEvent,
    CaseStatus,
    Disposition,
    FeedItemType,
    Role,
)

#: The audit event of each ending that sends recipients a withdrawal item.
ENDING_EVENTS = {
    AlertAction.WITHDRAW: AuditEvent.ALERT_WITHDRAWN,
    AlertAction.CANCEL: AuditEvent.ALERT_CANCELLED,
}
#: Roles that see every decision and disposition of any alert.
OVERSEERS = frozenset({Role.REVIEWER, Role.AUDITOR})
EXPIRY_BATCH = 500
EXP_PASSED = "exp passed"


@dataclass
class AlertActions:
    repository: AlertRepository
    audit: AuditSink
    gateway: PolicyGateway
    now: datetime
    purge_days: int = 30

    async def _visible(self, actor: AuthenticatedPrincipal, alert_id: str) -> Alert:
        """The alert if the actor is its originator, a recipient, or a reviewer; else NotFound,
        so that outsiders cannot even learn that an alert id exists."""
        alert = await self.repository.get(alert_id)
        if alert is None:
            raise NotFound(f"no alert {alert_id!r}")
        if alert.originator == actor.id or actor.roles & OVERSEERS:
            return alert
        decision = await self.repository.decision(alert_id, actor.id)
        if decision is None or not decision.receive:
            raise NotFound(f"no alert {alert_id!r}")
        return alert

    async def view(self, actor: AuthenticatedPrincipal, alert_id: str) -> AlertRecord:
        """The originator (and reviewers) see every decision and disposition; a recipient sees
        its own decision and dispositions only. Raises NotFound for anyone else."""
        alert = await self._visible(actor, alert_id)
        full = alert.originator == actor.id or bool(actor.roles & OVERSEERS)
        decisions = await self.repository.decisions(alert.id)
        dispositions = await self.repository.dispositions(alert.id, None if full else actor.id)
        shown = tuple(d for d in decisions if full or d.partner == actor.id)
        if not full:
            return AlertRecord(alert, False, shown, tuple(dispositions))
        recipients = [d.partner for d in decisions if d.receive]
        cases = await CaseRepository(self.repository.session).cases_for(alert.id)
        return AlertRecord(
            alert,
            True,
            shown,
            tuple(dispositions),
            purge=purge_status(alert, recipients, dispositions, self.now),
            reviews=tuple(cases),
        )

    async def dispose(
        self, actor: AuthenticatedPrincipal, alert_id: str, status: Disposition, reason: str
    ) -> DispositionRow:
        """Record a recipient's answer; only partners that received the alert may answer
        (NotFound otherwise). A ``challenged`` answer to a published alert opens a review.

        Raises Conflict in a state the lifecycle gives no answers in. The alert's row is
        locked, so a challenge cannot open a case on an alert being withdrawn meanwhile.
        """
        alert = await self.repository.get(alert_id, for_update=True)
        decision = await self.repository.decision(alert_id, actor.id) if alert else None
        if alert is None or decision is None or not decision.receive:
            raise NotFound(f"no alert {alert_id!r} delivered to {actor.id}")
        transition(alert, AlertAction.DISPOSITION, ActorKind.RECIPIENT)
        row = DispositionRow(
            alert_id=alert_id, partner=actor.id, status=status, reason=reason, at=self.now
        )
        await self.repository.add(row)
        await self.audit.append(
            AuditEvent.ALERT_DISPOSITION,
            actor.id,
            {"alert_id": alert_id, "partner": actor.id, "status": status, "reason": reason},
        )
        if status == Disposition.CHALLENGED and alert.status == AlertStatus.PUBLISHED:
            await open_challenge(
                CaseRepository(self.repository.session),
                self.audit,
                alert,
                actor.id,
                reason,
                self.now,
            )
        return row

    async def withdraw(self, actor: AuthenticatedPrincipal, alert_id: str, reason: str) -> Ending:
        """Withdraw an alert (originator or reviewer); every recipient gets a withdrawal item.

        Raises NotFound (strangers and withheld partners), Forbidden (a recipient), Conflict
        (the alert is no longer published or held). A held alert's open review case is closed
        (``withdrawn``): no reviewer can release it afterwards."""
        alert = await self.repository.get(alert_id, for_update=True)
        if alert is None:
            raise NotFound(f"no alert {alert_id!r}")
        if alert.originator != actor.id and not actor.has_role(Role.REVIEWER):
            decision = await self.repository.decision(alert_id, actor.id)
            if decision is None or not decision.receive:
                # Withheld partners and strangers alike must not learn that the alert exists.
                raise NotFound(f"no alert {alert_id!r}")
            raise Forbidden("only the originator or a reviewer may withdraw an alert")
        kind = ActorKind.ORIGINATOR if alert.originator == actor.id else ActorKind.REVIEWER
        return await self.end(alert, actor.id, AlertAction.WITHDRAW, kind, reason)

    async def end(
        self, alert: Alert, actor: str, action: AlertAction, kind: ActorKind, reason: str
    ) -> Ending:
        """Withdraw or cancel ``alert`` (locked by the caller) as ``actor``: every recipient
        gets a withdrawal item and must confirm the purge by the deadline, and any review
        case still open on it is closed.

        Raises Conflict or Forbidden (``service.alerts.lifecycle``) and then changes nothing.
        """
        event = ENDING_EVENTS[action]
        status = transition(alert, action, kind)
        alert.status_reason, alert.status_changed_at = reason, self.now
        alert.purge_deadline = self.now + timedelta(days=self.purge_days)
        fan_out = FanOut(self.repository, self.audit, self.gateway, self.now)
        recipients = await fan_out.notify_recipients(alert.id, FeedItemType.WITHDRAWAL, reason)
        await self.audit.append(
            event,
            actor,
            {
                "alert_id": alert.id,
                "reason": reason,
                "recipients": recipients,
                "purge_deadline": rfc3339(alert.purge_deadline),
            },
        )
        await close_open_cases(
            CaseRepository(self.repository.session),
            self.audit,
            alert,
            CaseStatus.WITHDRAWN if action == AlertAction.WITHDRAW else CaseStatus.CLOSED,
            actor,
            reason,
            self.now,
        )
        return Ending(alert.id, status, tuple(recipients))

    async def expire_due(self) -> list[str]:
        """Expire published alerts whose ``exp`` has passed; recipients get an expiry item."""
        expired = []
        fan_out = FanOut(self.repository, self.audit, self.gateway, self.now)
        for alert in await self.repository.due_for_expiry(self.now, EXPIRY_BATCH):
            transition(alert, AlertAction.EXPIRE, ActorKind.BROKER)
            alert.status_reason, alert.status_changed_at = EXP_PASSED, self.now
            recipients = await fan_out.notify_recipients(alert.id, FeedItemType.EXPIRY, EXP_PASSED)
            await self.audit.append(
                AuditEvent.ALERT_EXPIRED,
                BROKER_ID,
                {"alert_id": alert.id, "recipients": recipients},
            )
            expired.append(alert.id)
        return expired
