"""Confirmed purges across alerts: which ended alerts still wait for recipients to purge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from service.alerts.cases import CaseRepository
from service.alerts.models import Alert
from service.alerts.purge import PurgeStatus, purge_status
from service.alerts.repository import AlertRepository
from service.api.principal import AuthenticatedPrincipal
from service.protocol.vocabulary import Role

MAX_LISTED = 1000


@dataclass(frozen=True)
class AlertPurge:
    """An ended alert and the state of its recipients' purge."""

    alert: Alert
    status: PurgeStatus


@dataclass
class PurgeService:
    alerts: AlertRepository
    cases: CaseRepository
    now: datetime

    async def purges(self, actor: AuthenticatedPrincipal, overdue_only: bool) -> list[AlertPurge]:
        """Withdrawn and cancelled alerts (earliest deadline first, at most MAX_LISTED) with
        who has and has not confirmed the purge; with ``overdue_only``, only those where
        someone is overdue.

        Raises Forbidden unless ``actor`` is a reviewer or an auditor.
        """
        actor.require_role(Role.REVIEWER, Role.AUDITOR)
        listed = []
        for alert in await self.cases.with_purge_deadline(MAX_LISTED):
            recipients = await self.alerts.recipients(alert.id)
            dispositions = await self.alerts.dispositions(alert.id)
            status = purge_status(alert, recipients, dispositions, self.now)
            if status is not None and (status.overdue or not overdue_only):
                listed.append(AlertPurge(alert, status))
        return listed
