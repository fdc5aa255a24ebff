"""Wire shapes of governance's endpoints: reviews, heightened review, purges, transparency."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from service.alerts.models import ProtectedSubject
from service.alerts.schemas import PurgeStatusOut, ReviewCaseOut
from service.governance.purges import AlertPurge
from service.governance.report import OverduePurge, TransparencyReport
from service.governance.reviews import CaseWithAlert, HeightenedState, ReviewCopy
from service.protocol.clock import rfc3339
from service.protocol.vocabulary import AlertStatus, CancelGrounds, Verdict


class ReviewDecision(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"decision": "approve", "reason": "ordinary-law fraud, evidence attached"},
                {"decision": "cancel", "reason": "a journalist's case", "grounds": "neutrality"},
            ]
        },
    )

    decision: Verdict
    reason: str = Field(min_length=1, max_length=1000)
    #: Only with ``cancel``: ``neutrality`` also registers the subject as protected.
    grounds: CancelGrounds | None = None


class HeightenedIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"active": True, "reason": "three rejected requests"}]},
    )

    active: bool
    reason: str = Field(min_length=1, max_length=1000)


class ReviewItemOut(ReviewCaseOut):
    """A review case with the clear facts of its alert (never the content)."""

    originator: str
    alert_kind: str
    category: str
    tlp: str
    alert_status: AlertStatus

    @classmethod
    def of_item(cls, item: CaseWithAlert) -> ReviewItemOut:
        alert = item.alert
        return cls(
            **ReviewCaseOut.of(item.case).model_dump(),
            originator=alert.originator,
            alert_kind=alert.kind,
            category=alert.category,
            tlp=alert.tlp,
            alert_status=AlertStatus(alert.status),
        )


class ReviewListOut(BaseModel):
    reviews: list[ReviewItemOut]


class ReviewCopyOut(BaseModel):
    """The alert sealed to the reviewer: ``envelope`` opens to an SD-JWT presentation whose
    key binding carries ``nonce``."""

    case: ReviewCaseOut
    nonce: str
    envelope: str

    @classmethod
    def of(cls, copy: ReviewCopy) -> ReviewCopyOut:
        return cls(case=ReviewCaseOut.of(copy.case), nonce=copy.nonce, envelope=copy.envelope)


class ReviewDecidedOut(ReviewCaseOut):
    """The decided case and the status its alert is now in."""

    alert_status: AlertStatus

    @classmethod
    def of_item(cls, item: CaseWithAlert) -> ReviewDecidedOut:
        return cls(
            **ReviewCaseOut.of(item.case).model_dump(), alert_status=AlertStatus(item.alert.status)
        )


class HeightenedOut(BaseModel):
    agency: str
    heightened_review: bool
    since: str

    @classmethod
    def of(cls, state: HeightenedState) -> HeightenedOut:
        return cls(agency=state.agency, heightened_review=state.active, since=rfc3339(state.since))


class PurgeOut(BaseModel):
    """An ended alert and who has and has not confirmed its purge (``PurgeStatusOut``)."""

    alert_id: str
    originator: str
    deadline: str
    confirmed: list[str]
    outstanding: list[str]
    overdue: list[str]

    @classmethod
    def of(cls, purge: AlertPurge) -> PurgeOut:
        return cls(
            alert_id=purge.alert.id,
            originator=purge.alert.originator,
            **PurgeStatusOut.of(purge.status).model_dump(),
        )


class PurgeListOut(BaseModel):
    purges: list[PurgeOut]


class OverduePurgeOut(BaseModel):
    alert_id: str
    partner: str
    deadline: str

    @classmethod
    def of(cls, overdue: OverduePurge) -> OverduePurgeOut:
        return cls(
            alert_id=overdue.alert_id,
            partner=overdue.partner,
            deadline=overdue.deadline.isoformat(),
        )


class TransparencyReportOut(BaseModel):
    """Counts by outcome, overall and by kind and category (see ``governance.report``)."""

    model_config = ConfigDict(populate_by_name=True)

    start: str = Field(alias="from")
    end: str = Field(alias="to")
    outcomes: dict[str, int]
    by_kind: dict[str, dict[str, int]]
    by_category: dict[str, dict[str, int]]
    held_by_policy: dict[str, int]
    rejected_by_policy: dict[str, int]
    purge_overdue: list[OverduePurgeOut]
    log_size: int
    checkpoint: str

    @classmethod
    def of(cls, report: TransparencyReport) -> TransparencyReportOut:
        return cls(
            start=report.start.isoformat(),
            end=report.end.isoformat(),
            outcomes=report.outcomes,
            by_kind=report.by_kind,
            by_category=report.by_category,
            held_by_policy=report.held_by_policy,
            rejected_by_policy=report.rejected_by_policy,
            purge_overdue=[OverduePurgeOut.of(o) for o in report.purge_overdue],
            log_size=report.log_size,
            checkpoint=report.checkpoint,
        )


class ProtectedSubjectIn(BaseModel):
    """A protected person to register: the identity is digested at once, never stored."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "José María Pérez",
                    "birth_date": "1975-04-12",
                    "nationality": "VE",
                    "reason": "recognised refugee (UNHCR mandate)",
                }
            ]
        },
    )

    name: str = Field(min_length=1, max_length=500)
    birth_date: str = Field(min_length=1, max_length=64)
    nationality: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=1000)


class ProtectedSubjectOut(BaseModel):
    """A register entry: who registered it, when and why; never the identity or digest."""

    id: int
    reason: str
    registered_by: str
    registered_at: str
    source_alert_id: str | None

    @classmethod
    def of(cls, entry: ProtectedSubject) -> ProtectedSubjectOut:
        return cls(
            id=entry.id,
            reason=entry.reason,
            registered_by=entry.registered_by,
            registered_at=rfc3339(entry.registered_at),
            source_alert_id=entry.source_alert_id,
        )


class ProtectedSubjectListOut(BaseModel):
    protected_subjects: list[ProtectedSubjectOut]
