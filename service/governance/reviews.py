"""The reviewers' work: release or reject held alerts, decide challenges, heightened review."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from service.alerts.actions import AlertActions
from service.alerts.cases import CaseRepository
from service.alerts.disclosure import deliver, present_stored
from service.alerts.feed import current_encryption_key
from service.alerts.gateway import PolicyGateway, stored_alert_facts
from service.alerts.lifecycle import ActorKind, AlertAction, check, transition
from service.alerts.models import Alert, FeedItem, HeightenedReview, ReviewCase
from service.alerts.notify import mark_published
from service.alerts.protected import register_from_alert, stored_content
from service.alerts.publication import Publisher
from service.alerts.repository import AlertRepository
from service.alerts.sealing import SealedAlert
from service.api.principal import AuthenticatedPrincipal
from service.audit.sink import AuditSink
from service.broker.keys import BrokerKeys
from service.governance.escalation import escalate_if_due
from service.protocol.crypto import SigningPrivateKey
from service.protocol.errors import Conflict, Forbidden, InvalidInput, NotFound, NotReady
from service.protocol.vocabulary import (
    AuditEvent,
    CancelGrounds,
    CaseKind,
    CaseStatus,
    FeedItemType,
    Role,
    Verdict,
)
from service.registry.models import Principal
from service.registry.repository import RegistryRepository

VERDICTS: dict[CaseKind, frozenset[Verdict]] = {
    CaseKind.SCREENING: frozenset({Verdict.APPROVE, Verdict.REJECT}),
    CaseKind.CHALLENGE: frozenset({Verdict.UPHOLD, Verdict.CANCEL}),
}
#: The lifecycle action each verdict performs on the alert.
VERDICT_ACTIONS: dict[Verdict, AlertAction] = {
    Verdict.APPROVE: AlertAction.APPROVE,
    Verdict.REJECT: AlertAction.REJECT,
    Verdict.UPHOLD: AlertAction.UPHOLD,
    Verdict.CANCEL: AlertAction.CANCEL,
}
DECIDED_STATUS: dict[Verdict, CaseStatus] = {
    Verdict.APPROVE: CaseStatus.APPROVED,
    Verdict.REJECT: CaseStatus.REJECTED,
    Verdict.UPHOLD: CaseStatus.UPHELD,
    Verdict.CANCEL: CaseStatus.CANCELLED,
}


@dataclass(frozen=True)
class CaseWithAlert:
    """A review case and the alert it is about (its clear facts are shown with the case)."""

    case: ReviewCase
    alert: Alert


@dataclass(frozen=True)
class ReviewCopy:
    """The whole alert sealed to the reviewer, with the case and the presentation's nonce."""

    case: ReviewCase
    nonce: str
    envelope: str


@dataclass(frozen=True)
class HeightenedState:
    """Whether ``agency`` is under heightened review, as of ``since``."""

    agency: str
    active: bool
    since: datetime


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
    #: The broker keys (the KEK opens the alert, the register key digests its subject), to
    #: register a subject when its alert is cancelled on neutrality grounds.
    keys: BrokerKeys | None
    #: Automatic heightened review: this many rejections or cancellations within the window.
    escalate_after: int
    escalate_window: timedelta

    async def cases(
        self, actor: AuthenticatedPrincipal, status: CaseStatus | None
    ) -> list[CaseWithAlert]:
        """Review cases with the given status (all when None), each with its alert.

        Raises Forbidden unless ``actor`` is a reviewer.
        """
        actor.require_role(Role.REVIEWER)
        cases = await self.governance.cases(status, 500)
        alerts = await self.alerts.alerts_by_id({c.alert_id for c in cases})
        return [CaseWithAlert(c, alerts[c.alert_id]) for c in cases]

    async def _case(
        self, actor: AuthenticatedPrincipal, alert_id: str
    ) -> tuple[ReviewCase, Alert, Principal]:
        """The alert's open case, the alert and its originator, all rows locked: the alert
        first, then its cases (the order every writer follows), so that concurrent
        decisions on one alert take turns and each sees what the previous one left.

        Raises Forbidden, NotFound (no alert, or no case at all), Conflict (its cases are
        all closed: decided, or closed by a withdrawal).
        """
        actor.require_role(Role.REVIEWER)
        alert = await self.alerts.get(alert_id, for_update=True)
        cases = await self.governance.locked_cases_for(alert_id) if alert is not None else []
        if alert is None or not cases:
            raise NotFound(f"no review case for alert {alert_id!r}")
        case = next((c for c in cases if c.status == CaseStatus.OPEN), None)
        if case is None:
            raise Conflict(f"the review case of alert {alert_id!r} is {cases[-1].status}")
        reviewer = await self.registry.get_principal(actor.id)
        originator = await self.registry.get_principal(alert.originator)
        if reviewer is None or originator is None:
            raise NotFound(f"the reviewer or the originator of alert {alert_id!r} is unknown")
        if conflicted(reviewer, originator):
            raise Forbidden("a reviewer may not review its own agency's alerts")
        return case, alert, originator

    async def read(
        self, actor: AuthenticatedPrincipal, alert_id: str, kek: bytes, kb_key: SigningPrivateKey
    ) -> ReviewCopy:
        """The whole alert for the reviewer, sealed to the reviewer's key; the read is logged
        as a disclosure like any delivery.

        Raises Forbidden, NotFound, or Conflict (content shredded, no encryption key).
        """
        case, alert, _ = await self._case(actor, alert_id)
        if alert.sealed_body is None or alert.wrapped_key is None:
            raise Conflict("the alert's content has been shredded")
        reviewer = await self.registry.get_principal_with_keys(actor.id)
        if reviewer is None:
            raise NotFound(f"no principal {actor.id!r}")
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
        return ReviewCopy(case, nonce, envelope)

    async def decide(
        self,
        actor: AuthenticatedPrincipal,
        alert_id: str,
        verdict: Verdict,
        reason: str,
        grounds: CancelGrounds | None = None,
    ) -> CaseWithAlert:
        """Approve or reject a held alert; uphold or cancel a challenged one. Returns the
        decided case and the alert in its new status.

        Raises Forbidden, NotFound, InvalidInput (a verdict the case's kind does not take), or
        Conflict (the case is not open, or the lifecycle refuses the verdict's action in the
        alert's state); nothing is changed then, and nothing is logged.
        """
        if grounds is not None and verdict != Verdict.CANCEL:
            raise InvalidInput("grounds are given only with a cancel decision")
        case, alert, originator = await self._case(actor, alert_id)
        allowed = VERDICTS[CaseKind(case.kind)]
        if verdict not in allowed:
            raise InvalidInput(
                f"a {case.kind} case is decided by {sorted(v.value for v in allowed)}"
            )
        action = VERDICT_ACTIONS[verdict]
        if action != AlertAction.CANCEL:
            # A cancellation's transition is made by ``AlertActions.end`` below.
            transition(alert, action, ActorKind.REVIEWER)
        else:
            check(alert.status, action, ActorKind.REVIEWER)
        case.status = DECIDED_STATUS[verdict]
        case.decided_by, case.decided_at, case.decision_reason = actor.id, self.now, reason
        await self.audit.append(
            AuditEvent.REVIEW_DECISION,
            actor.id,
            {
                "alert_id": alert.id,
                "case": case.id,
                "kind": case.kind,
                "decision": verdict,
                "reason": reason,
            },
        )
        if verdict == Verdict.APPROVE:
            publisher = Publisher(
                self.alerts, self.governance, self.audit, self.gateway, self.now, self.purge_days
            )
            await publisher.release(
                alert, stored_alert_facts(alert, originator.country), alert.supersedes
            )
            alert.status_changed_at = self.now
        elif verdict == Verdict.REJECT:
            alert.status_reason, alert.status_changed_at = reason, self.now
            await self._notify_originator(alert, FeedItemType.REJECTION, reason)
        elif verdict == Verdict.CANCEL:
            if grounds == CancelGrounds.NEUTRALITY:
                if self.keys is None:
                    raise NotReady("the broker keys are needed to register a protected subject")
                # Read before ``end``: the content must still be there to register its subject.
                await register_from_alert(
                    self.alerts.session,
                    self.audit,
                    self.keys.subject_register,
                    alert,
                    stored_content(self.keys.kek, alert),
                    f"alert {alert.id} cancelled on neutrality grounds: {reason}",
                    actor.id,
                    self.now,
                )
            actions = AlertActions(self.alerts, self.audit, self.gateway, self.now, self.purge_days)
            await actions.end(alert, actor.id, AlertAction.CANCEL, ActorKind.REVIEWER, reason)
            await self._notify_originator(alert, FeedItemType.CANCELLATION, reason)
        if verdict in (Verdict.REJECT, Verdict.CANCEL):
            await escalate_if_due(
                self.governance,
                self.audit,
                alert.originator,
                self.now,
                self.escalate_after,
                self.escalate_window,
            )
        logging.getLogger("liaison.reviews").info(
            "review decided",
            extra={
                "event": "review.decision",
                "alert_id": alert.id,
                "case_id": case.id,
                "case_kind": case.kind,
                "verdict": str(verdict),
            },
        )
        return CaseWithAlert(case, alert)

    async def _notify_originator(self, alert: Alert, item_type: FeedItemType, reason: str) -> None:
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
    ) -> HeightenedState:
        """Place an originator under heightened review (every alert held), or lift it.

        Raises Forbidden unless ``actor`` is a reviewer, NotFound for an unknown agency.
        """
        actor.require_role(Role.REVIEWER)
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
            AuditEvent.REVIEW_HEIGHTENED,
            actor.id,
            {"principal": agency_id, "active": active, "reason": reason},
        )
        return HeightenedState(agency_id, active, self.now)
