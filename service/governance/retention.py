"""Retention: once an ended alert's retention period is over, its data key is destroyed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from service.alerts.cases import CaseRepository
from service.alerts.lifecycle import ActorKind, AlertAction, close_open_cases, transition
from service.api.principal import BROKER_ID
from service.audit.sink import AuditSink
from service.protocol.errors import Conflict
from service.protocol.vocabulary import AuditEvent, CaseStatus

BATCH = 500


@dataclass
class Retention:
    repository: CaseRepository
    audit: AuditSink
    now: datetime
    default_days: int
    days_by_kind: dict[str, int]

    def period(self, kind: str) -> timedelta:
        return timedelta(days=self.days_by_kind.get(kind, self.default_days))

    async def shred_due(self) -> list[str]:
        """Crypto-shred every ended alert whose retention period has passed.

        The wrapped data key and the sealed body are destroyed (set to NULL); nothing else
        could ever decrypt the content again. The clear, policy-relevant columns and the audit
        log stay, so the log still verifies and the alert reads as ``shredded``. Returns the
        shredded alert ids.
        """
        shortest = min([self.default_days, *self.days_by_kind.values()])
        shredded = []
        for alert in await self.repository.ended_before(self.now - timedelta(days=shortest), BATCH):
            if alert.status_changed_at is None:
                raise Conflict(f"ended alert {alert.id!r} has no status change time")
            if alert.status_changed_at + self.period(alert.kind) > self.now:
                continue
            previous = alert.status
            transition(alert, AlertAction.SHRED, ActorKind.BROKER)
            alert.sealed_body = None
            alert.wrapped_key = None
            alert.status_reason = f"retention ended after {previous}"
            alert.status_changed_at = self.now
            await self.audit.append(
                AuditEvent.ALERT_SHREDDED,
                BROKER_ID,
                {
                    "alert_id": alert.id,
                    "previous_status": previous,
                    "retention_days": self.period(alert.kind).days,
                },
            )
            # An expired alert may still have a challenge open: nothing is left to decide.
            await close_open_cases(
                self.repository,
                self.audit,
                alert,
                CaseStatus.CLOSED,
                BROKER_ID,
                alert.status_reason,
                self.now,
            )
            shredded.append(alert.id)
        return shredded
