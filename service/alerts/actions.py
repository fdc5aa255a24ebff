"""Acting on alerts: dispositions, withdrawal, expiry, and who may see what about an alert."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from service.alerts.cases import CaseRepository
from service.alerts.challenges import case_view, open_challenge
from service.alerts.fanout import FanOut
from service.alerts.gateway import PolicyGateway
from service.alerts.models import Alert, Disposition
from service.alerts.purge import purge_status
from service.alerts.repository import AlertRepository
from service.api.principal import AuthenticatedPrincipal
from service.audit.sink import AuditSink
from service.protocol.clock import rfc3339
from service.protocol.errors import Conflict, Forbidden, NotFound

DispositionStatus = Literal["received", "acting", "declined", "challenged", "purged"]
WITHDRAWABLE = frozenset({"published", "pending_review"})
EXPIRY_BATCH = 500


def _disposition_view(row: Disposition) -> dict[str, Any]:
    return {
        "partner": row.partner,
        "status": row.status,
        "reason": row.reason,
        "at": rfc3339(row.at),
    }


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
        if alert.originator == actor.id or actor.roles & {"reviewer", "auditor"}:
            return alert
        decision = await self.repository.decision(alert_id, actor.id)
        if decision is None or not decision.receive:
            raise NotFound(f"no alert {alert_id!r}")
        return alert

    async def view(self, actor: AuthenticatedPrincipal, alert_id: str) -> dict[str, Any]:
        """The originator (and reviewers) see every decision and disposition; a recipient sees
        its own decision and dispositions only."""
        alert = await self._visible(actor, alert_id)
        view: dict[str, Any] = {
            "alert_id": alert.id,
            "originator": alert.originator,
            "kind": alert.kind,
            "category": alert.category,
            "tlp": alert.tlp,
            "status": alert.status,
            "status_reason": alert.status_reason,
            "received_at": rfc3339(alert.received_at),
            "expires_at": rfc3339(alert.expires_at),
            "policy_version": alert.policy_version,
        }
        full = alert.originator == actor.id or bool(actor.roles & {"reviewer", "auditor"})
        decisions = await self.repository.decisions(alert.id)
        dispositions = await self.repository.dispositions(alert.id, None if full else actor.id)
        view["decisions"] = [
            {
                "partner": d.partner,
                "decision": "received" if d.receive else "withheld",
                "redacted": d.redacted,
                "policies": d.policies,
            }
            for d in decisions
            if full or d.partner == actor.id
        ]
        view["dispositions"] = [_disposition_view(d) for d in dispositions]
        if full:
            recipients = [d.partner for d in decisions if d.receive]
            view["purge"] = purge_status(alert, recipients, dispositions, self.now)
            cases = await CaseRepository(self.repository.session).cases_for(alert.id)
            view["reviews"] = [case_view(c) for c in cases]
        return view

    async def dispose(
        self, actor: AuthenticatedPrincipal, alert_id: str, status: DispositionStatus, reason: str
    ) -> dict[str, Any]:
        """Record a recipient's answer; only partners that received the alert may answer."""
        alert = await self.repository.get(alert_id)
        decision = await self.repository.decision(alert_id, actor.id) if alert else None
        if alert is None or decision is None or not decision.receive:
            raise NotFound(f"no alert {alert_id!r} delivered to {actor.id}")
        row = Disposition(
            alert_id=alert_id, partner=actor.id, status=status, reason=reason, at=self.now
        )
        await self.repository.add(row)
        await self.audit.append(
            "alert.disposition",
            actor.id,
            {"alert_id": alert_id, "partner": actor.id, "status": status, "reason": reason},
        )
        if status == "challenged" and alert.status == "published":
            await open_challenge(
                CaseRepository(self.repository.session),
                self.audit,
                alert,
                actor.id,
                reason,
                self.now,
            )
        return _disposition_view(row)

    async def withdraw(
        self, actor: AuthenticatedPrincipal, alert_id: str, reason: str
    ) -> dict[str, Any]:
        """Withdraw an alert (originator or reviewer); every recipient gets a withdrawal item."""
        alert = await self.repository.get(alert_id, for_update=True)
        if alert is None:
            raise NotFound(f"no alert {alert_id!r}")
        if alert.originator != actor.id and not actor.has_role("reviewer"):
            decision = await self.repository.decision(alert_id, actor.id)
            if decision is None or not decision.receive:
                # Withheld partners and strangers alike must not learn that the alert exists.
                raise NotFound(f"no alert {alert_id!r}")
            raise Forbidden("only the originator or a reviewer may withdraw an alert")
        if alert.status not in WITHDRAWABLE:
            raise Conflict(f"the alert is {alert.status}")
        return await self.end(alert, actor.id, "withdrawn", "alert.withdrawn", reason)

    async def end(
        self, alert: Alert, actor: str, status: str, event: str, reason: str
    ) -> dict[str, Any]:
        """Withdraw or cancel: every recipient gets a withdrawal item and must confirm the
        purge by the deadline."""
        alert.status, alert.status_reason, alert.status_changed_at = status, reason, self.now
        alert.purge_deadline = self.now + timedelta(days=self.purge_days)
        fan_out = FanOut(self.repository, self.audit, self.gateway, self.now)
        recipients = await fan_out.notify_recipients(alert.id, "withdrawal", reason)
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
        return {"alert_id": alert.id, "status": alert.status, "recipients": recipients}

    async def expire_due(self) -> list[str]:
        """Expire published alerts whose ``exp`` has passed; recipients get an expiry item."""
        expired = []
        fan_out = FanOut(self.repository, self.audit, self.gateway, self.now)
        for alert in await self.repository.due_for_expiry(self.now, EXPIRY_BATCH):
            alert.status, alert.status_reason, alert.status_changed_at = (
                "expired",
                "exp passed",
                self.now,
            )
            recipients = await fan_out.notify_recipients(alert.id, "expiry", "exp passed")
            await self.audit.append(
                "alert.expired", "broker", {"alert_id": alert.id, "recipients": recipients}
            )
            expired.append(alert.id)
        return expired
