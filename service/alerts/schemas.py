"""Request and response schemas of the alert exchange's endpoints (and the review case and
purge status, which governance's endpoints show too).

Each response schema is built from a domain value by its ``of`` classmethod: the domain
returns rows and dataclasses, and only this module decides what they look like on the wire.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.protocol.clock import rfc3339
from service.protocol.vocabulary import (
    AlertStatus,
    CaseKind,
    CaseStatus,
    Disposition,
    FeedItemType,
)

if TYPE_CHECKING:
    from service.alerts.feed import ServedItem
    from service.alerts.models import AlertDecision, ReviewCase
    from service.alerts.models import Disposition as DispositionRow
    from service.alerts.polling import FeedPage
    from service.alerts.purge import PurgeStatus
    from service.alerts.records import AlertRecord, Ending
    from service.alerts.simulation import SimulationResult
    from service.alerts.submission import Submission
    from service.policy.facts import Decision


# Requests


class DispositionIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"status": "acting", "reason": "checking border records"}]},
    )

    status: Disposition
    reason: str = Field(min_length=1, max_length=1000)


class WithdrawIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "subject located"}]}
    )

    reason: str = Field(min_length=1, max_length=500)


class Simulation(BaseModel):
    """The clear claims of a would-be alert, plus the names of its content claims."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "iss": "fr-police",
                    "kind": "diffusion",
                    "category": "fraud",
                    "tlp": "amber",
                    "audience": {"agencies": [], "groups": ["eu"], "all": False},
                    "purpose": "investigate",
                    "legal_basis": "MLA treaty FR-DE, art. 7",
                    "claims": ["narrative", "subject", "biometrics"],
                }
            ]
        },
    )

    iss: str
    kind: str
    category: str
    tlp: str
    handling: list[str] = Field(default_factory=list)
    audience: dict[str, Any]
    purpose: str
    legal_basis: str
    claims: list[str] = Field(default_factory=list, max_length=64)
    character: list[str] = Field(default_factory=list)
    subject_status: list[str] = Field(default_factory=list)


# Responses


class SubmissionOut(BaseModel):
    alert_id: str
    status: AlertStatus
    received_at: str

    @classmethod
    def of(cls, submission: Submission) -> SubmissionOut:
        return cls(
            alert_id=submission.alert_id,
            status=AlertStatus(submission.status),
            received_at=rfc3339(submission.received_at),
        )


class FeedItemOut(BaseModel):
    cursor: str
    type: FeedItemType
    alert_id: str
    envelope: str

    @classmethod
    def of(cls, item: ServedItem) -> FeedItemOut:
        return cls(
            cursor=item.cursor,
            type=FeedItemType(item.type),
            alert_id=item.alert_id,
            envelope=item.envelope,
        )


class FeedPageOut(BaseModel):
    items: list[FeedItemOut]
    #: The cursor to continue from (a decimal string).
    next: str
    #: The latest signed checkpoint ("" before the first one).
    checkpoint: str

    @classmethod
    def of(cls, page: FeedPage) -> FeedPageOut:
        return cls(
            items=[FeedItemOut.of(item) for item in page.items],
            next=str(page.next),
            checkpoint=page.checkpoint,
        )


class DecisionOut(BaseModel):
    partner: str
    decision: Literal["received", "withheld"]
    redacted: list[str]
    policies: list[str]

    @classmethod
    def of(cls, row: AlertDecision) -> DecisionOut:
        return cls(
            partner=row.partner,
            decision="received" if row.receive else "withheld",
            redacted=list(row.redacted),
            policies=list(row.policies),
        )


class DispositionOut(BaseModel):
    partner: str
    status: Disposition
    reason: str
    at: str

    @classmethod
    def of(cls, row: DispositionRow) -> DispositionOut:
        return cls(
            partner=row.partner,
            status=Disposition(row.status),
            reason=row.reason,
            at=rfc3339(row.at),
        )


class PurgeStatusOut(BaseModel):
    deadline: str
    confirmed: list[str]
    outstanding: list[str]
    overdue: list[str]

    @classmethod
    def of(cls, status: PurgeStatus) -> PurgeStatusOut:
        return cls(
            deadline=rfc3339(status.deadline),
            confirmed=list(status.confirmed),
            outstanding=list(status.outstanding),
            overdue=list(status.overdue),
        )


class ReviewCaseOut(BaseModel):
    case: int
    alert_id: str
    kind: CaseKind
    status: CaseStatus
    reason: str
    opened_by: str
    opened_at: str
    decided_by: str | None
    decided_at: str | None
    decision_reason: str | None

    @classmethod
    def of(cls, case: ReviewCase) -> ReviewCaseOut:
        return cls(
            case=case.id,
            alert_id=case.alert_id,
            kind=CaseKind(case.kind),
            status=CaseStatus(case.status),
            reason=case.reason,
            opened_by=case.opened_by,
            opened_at=rfc3339(case.opened_at),
            decided_by=case.decided_by,
            decided_at=rfc3339(case.decided_at) if case.decided_at else None,
            decision_reason=case.decision_reason,
        )


class _AlertOut(BaseModel):
    alert_id: str
    originator: str
    kind: str
    category: str
    tlp: str
    status: AlertStatus
    status_reason: str | None
    received_at: str
    expires_at: str
    policy_version: str
    decisions: list[DecisionOut]
    dispositions: list[DispositionOut]


class RecipientAlertOut(_AlertOut):
    """A recipient's view of an alert: its own decision and dispositions only."""


class FullAlertOut(_AlertOut):
    """The originator's (and reviewers') view: every decision and disposition, the purge
    status (null unless the alert was withdrawn or cancelled) and the review cases."""

    purge: PurgeStatusOut | None
    reviews: list[ReviewCaseOut]


def alert_out(record: AlertRecord) -> FullAlertOut | RecipientAlertOut:
    """The view of ``record`` its actor may see (``FullAlertOut`` when ``record.full``)."""
    alert = record.alert
    common: dict[str, Any] = {
        "alert_id": alert.id,
        "originator": alert.originator,
        "kind": alert.kind,
        "category": alert.category,
        "tlp": alert.tlp,
        "status": AlertStatus(alert.status),
        "status_reason": alert.status_reason,
        "received_at": rfc3339(alert.received_at),
        "expires_at": rfc3339(alert.expires_at),
        "policy_version": alert.policy_version,
        "decisions": [DecisionOut.of(d) for d in record.decisions],
        "dispositions": [DispositionOut.of(d) for d in record.dispositions],
    }
    if not record.full:
        return RecipientAlertOut(**common)
    return FullAlertOut(
        **common,
        purge=PurgeStatusOut.of(record.purge) if record.purge is not None else None,
        reviews=[ReviewCaseOut.of(c) for c in record.reviews],
    )


class EndingOut(BaseModel):
    """An alert withdrawn (or cancelled) and the recipients told so."""

    alert_id: str
    status: AlertStatus
    recipients: list[str]

    @classmethod
    def of(cls, ending: Ending) -> EndingOut:
        return cls(
            alert_id=ending.alert_id,
            status=AlertStatus(ending.status),
            recipients=list(ending.recipients),
        )


class SimulatedDecision(BaseModel):
    partner: str
    receive: bool
    redacted: list[str]
    policies: list[str]

    @classmethod
    def of(cls, decision: Decision) -> SimulatedDecision:
        return cls(
            partner=decision.partner,
            receive=decision.receive,
            redacted=list(decision.redacted),
            policies=list(decision.policies),
        )


class SimulationOut(BaseModel):
    policy_version: str
    publish: bool
    screening_policies: list[str]
    decisions: list[SimulatedDecision]

    @classmethod
    def of(cls, result: SimulationResult) -> SimulationOut:
        return cls(
            policy_version=result.policy_version,
            publish=result.publish,
            screening_policies=list(result.screening_policies),
            decisions=[SimulatedDecision.of(d) for d in result.decisions],
        )
