"""The reviewers' work: release or reject held alerts, decide challenges, heightened review."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from service.alerts.actions import AlertActions
from service.alerts.cases import CaseRepository
from service.alerts.challenges import case_view
from service.alerts.disclosure import deliver, present_stored
from service.alerts.feed import current_encryption_key
from service.alerts.gateway import PolicyGateway, stored_alert_facts
from service.alerts.models import Alert, FeedItem, HeightenedReview, ReviewCase
from service.alerts.notify import mark_published
from service.alerts.publication import Publisher
from service.alerts.repository import AlertRepository
from service.alerts.sealing import SealedAlert
from service.api.principal import AuthenticatedPrincipal
from service.audit.sink import AuditSink
from service.protocol.clock import rfc3339
from service.protocol.crypto import SigningPrivateKey
from service.protocol.errors import Conflict, Forbidden, InvalidInput, NotFound
from service.registry.models import Principal
from service.registry.repository import RegistryRepository

Verdict = Literal["approve", "reject", "uphold", "cancel"]
VERDICTS = {"screening": {"approve", "reject"}, "challenge": {"uphold", "cancel"}}


def conflicted(reviewer: Principal, originator: Principal) -> bool:
    """A reviewer may not review its own agency's alerts: the same principal, the agency it
    is affiliated with (registry attribute ``affiliation``), or an agency of its country."""
    return (
        reviewer.id == originator.id
        or reviewer.attributes.get("affiliation") == originator.id
        or reviewer.country == originator.country
    )


@dataclass
class ReviewService:
    alerts: AlertRepository
    registry: RegistryRepository
    governance: CaseRepository
    audit: AuditSink
    gateway: PolicyGateway
    now: datetime
    purge_days: int

    async def cases(
        self, actor: AuthenticatedPrincipal, status: str | None
    ) -> list[dict[str, Any]]:
        """Review cases (``status=pending`` means open), with the alerts' clear facts."""
        actor.require_role("reviewer")
        wanted = "open" if status == "pending" else status
        cases = await self.governance.cases(wanted, 500)
        alerts = await self.alerts.alerts_by_id({c.alert_id for c in cases})
        return [
            case_view(c)
            | {
                "originator": alerts[c.alert_id].originator,
                "alert_kind": alerts[c.alert_id].kind,
                "category": alerts[c.alert_id].category,
                "tlp": alerts[c.alert_id].tlp,
                "alert_status": alerts[c.alert_id].status,
            }
            for c in cases
        ]

    async def _case(
        self, actor: AuthenticatedPrincipal, alert_id: str
    ) -> tuple[ReviewCase, Alert, Principal]:
        actor.require_role("reviewer")
        case = await self.governance.open_case(alert_id)
        alert = await self.alerts.get(alert_id, for_update=True)
        if case is None or alert is None:
            raise NotFound(f"no open review case for alert {alert_id!r}")
        reviewer = await self.registry.get_principal(actor.id)
        originator = await self.registry.get_principal(alert.originator)
        assert reviewer is not None and originator is not None
        if conflicted(reviewer, originator):
            raise Forbidden("a reviewer may not review its own agency's alerts")
        return case, alert, originator

    async def read(
        self, actor: AuthenticatedPrincipal, alert_id: str, kek: bytes, kb_key: SigningPrivateKey
    ) -> dict[str, Any]:
        """The whole alert for the reviewer, sealed to the reviewer's key; the read is logged
        as a disclosure like any delivery."""
        case, alert, _ = await self._case(actor, alert_id)
        if alert.sealed_body is None or alert.wrapped_key is None:
            raise Conflict("the alert's content has been shredded")
        reviewer = await self.registry.get_principal_with_keys(actor.id)
        assert reviewer is not None
        key = current_encryption_key(reviewer.keys, self.now)
        if key is None:
            raise Conflict("the reviewer has no valid encryption key")
        nonce = f"review-{case.id}"
        presentation = present_stored(
            kek,
            kb_key,
            alert.id,
            SealedAlert(alert.sealed_body, alert.wrapped_key),
            alert.claims,
            actor.id,
            nonce,
            self.now,
        )
        envelope = await deliver(
            self.audit,
            key,
            presentation,
            alert_id=alert.id,
            partner=actor.id,
            cursor=nonce,
            item="review",
            policy_version=self.gateway.version,
        )
        return {"case": case_view(case), "nonce": nonce, "envelope": envelope}

    async def decide(
        self, actor: AuthenticatedPrincipal, alert_id: str, verdict: Verdict, reason: str
    ) -> dict[str, Any]:
        """Approve or reject a held alert; uphold or cancel a challenged one."""
        case, alert, originator = await self._case(actor, alert_id)
        if verdict not in VERDICTS[case.kind]:
            raise InvalidInput(f"a {case.kind} case is decided by {sorted(VERDICTS[case.kind])}")
        case.status = {
            "approve": "approved",
            "reject": "rejected",
            "uphold": "upheld",
            "cancel": "cancelled",
        }[verdict]
        case.decided_by, case.decided_at, case.decision_reason = actor.id, self.now, reason
        await self.audit.append(
            "review.decision",
            actor.id,
            {
                "alert_id": alert.id,
                "case": case.id,
                "kind": case.kind,
                "decision": verdict,
                "reason": reason,
            },
        )
        if verdict == "approve":
            publisher = Publisher(
                self.alerts, self.governance, self.audit, self.gateway, self.now, self.purge_days
            )
            await publisher.release(
                alert, stored_alert_facts(alert, originator.country), alert.supersedes
            )
            alert.status_changed_at = self.now
        elif verdict == "reject":
            alert.status, alert.status_reason, alert.status_changed_at = (
                "rejected",
                reason,
                self.now,
            )
            await self._notify_originator(alert, "rejection", reason)
        elif verdict == "cancel":
            actions = AlertActions(self.alerts, self.audit, self.gateway, self.now, self.purge_days)
            await actions.end(alert, actor.id, "cancelled", "alert.cancelled", reason)
            await self._notify_originator(alert, "cancellation", reason)
        return case_view(case) | {"alert_status": alert.status}

    async def _notify_originator(self, alert: Alert, item_type: str, reason: str) -> None:
        await self.alerts.lock_feeds()
        await self.alerts.add(
            FeedItem(
                partner=alert.originator,
                alert_id=alert.id,
                type=item_type,
                reason=reason,
                created_at=self.now,
            )
        )
        await mark_published(self.alerts.session, [alert.originator])

    async def set_heightened(
        self, actor: AuthenticatedPrincipal, agency_id: str, active: bool, reason: str
    ) -> dict[str, Any]:
        """Place an originator under heightened review (every alert held), or lift it."""
        actor.require_role("reviewer")
        if await self.registry.get_principal(agency_id) is None:
            raise NotFound(f"no principal {agency_id!r}")
        current = await self.governance.heightened(agency_id)
        if active and current is None:
            await self.governance.add(
                HeightenedReview(
                    principal_id=agency_id, reason=reason, set_by=actor.id, since=self.now
                )
            )
        elif not active and current is not None:
            await self.governance.remove(current)
        await self.audit.append(
            "review.heightened",
            actor.id,
            {"principal": agency_id, "active": active, "reason": reason},
        )
        return {"agency": agency_id, "heightened_review": active, "since": rfc3339(self.now)}
