"""HTTP endpoints of governance: reviews, heightened review, purges, transparency."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from sqlalchemy.ext.asyncio import AsyncSession

from service.alerts.cases import CaseRepository
from service.alerts.repository import AlertRepository
from service.api.dependencies import CoreDep, NowDep, PrincipalDep, SessionDep
from service.api.params import AwareDatetime
from service.audit.log import AuditLog
from service.audit.repository import AuditRepository
from service.audit.service import AuditService
from service.broker.dependencies import BrokerKeysDep
from service.broker.keys import BrokerKeys
from service.governance.purges import PurgeService
from service.governance.report import read_transparency_report
from service.governance.reviews import ReviewService
from service.governance.schemas import (
    HeightenedIn,
    HeightenedOut,
    PurgeListOut,
    PurgeOut,
    ReviewCopyOut,
    ReviewDecidedOut,
    ReviewDecision,
    ReviewItemOut,
    ReviewListOut,
    TransparencyReportOut,
)
from service.policy.dependencies import PolicyDep
from service.policy.engine import PolicyEngine
from service.protocol.vocabulary import CaseStatus
from service.registry.repository import RegistryRepository
from service.registry.schemas import PRINCIPAL_ID_PATTERN

router = APIRouter(tags=["governance"])
AlertId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]
# ``pending`` is the query's name for an open case.
ReviewFilter = Literal[
    "pending", "approved", "rejected", "upheld", "cancelled", "withdrawn", "closed"
]


def _reviews(
    core: CoreDep,
    policy: PolicyEngine,
    session: AsyncSession,
    now: datetime,
    keys: BrokerKeys | None = None,
) -> ReviewService:
    settings = core.settings
    return ReviewService(
        alerts=AlertRepository(session),
        registry=RegistryRepository(session),
        governance=CaseRepository(session),
        audit=AuditLog(session, now),
        gateway=policy,
        now=now,
        purge_days=settings.purge_deadline_days,
        # Only a decision needs the keys here; the reviewer's read gets them as arguments.
        keys=keys,
        escalate_after=settings.escalate_after,
        escalate_window=timedelta(days=settings.escalate_window_days),
    )


@router.get("/v1/reviews")
async def list_reviews(
    principal: PrincipalDep,
    core: CoreDep,
    policy: PolicyDep,
    session: SessionDep,
    now: NowDep,
    status: Annotated[ReviewFilter | None, Query()] = "pending",
) -> ReviewListOut:
    """Review cases (``status=pending`` means open), with the alerts' clear facts."""
    wanted = CaseStatus.OPEN if status == "pending" else CaseStatus(status) if status else None
    items = await _reviews(core, policy, session, now).cases(principal, wanted)
    return ReviewListOut(reviews=[ReviewItemOut.of_item(item) for item in items])


@router.get("/v1/reviews/{alert_id}")
async def read_for_review(
    alert_id: AlertId,
    principal: PrincipalDep,
    core: CoreDep,
    policy: PolicyDep,
    keys: BrokerKeysDep,
    session: SessionDep,
    now: NowDep,
) -> ReviewCopyOut:
    """The whole alert, sealed to the reviewer's encryption key; the read is logged."""
    copy = await _reviews(core, policy, session, now).read(
        principal, alert_id, keys.kek, keys.key_binding
    )
    return ReviewCopyOut.of(copy)


@router.post("/v1/reviews/{alert_id}")
async def decide_review(
    alert_id: AlertId,
    body: ReviewDecision,
    principal: PrincipalDep,
    core: CoreDep,
    policy: PolicyDep,
    keys: BrokerKeysDep,
    session: SessionDep,
    now: NowDep,
) -> ReviewDecidedOut:
    """Approve or reject a held alert; uphold or cancel a challenged one (a cancel on
    ``grounds: neutrality`` also registers the alert's subject as protected)."""
    decided = await _reviews(core, policy, session, now, keys).decide(
        principal, alert_id, body.decision, body.reason, body.grounds
    )
    return ReviewDecidedOut.of_item(decided)


@router.post("/v1/reviews/heightened/{agency_id}")
async def heightened_review(
    agency_id: Annotated[str, Path(pattern=PRINCIPAL_ID_PATTERN)],
    body: HeightenedIn,
    principal: PrincipalDep,
    core: CoreDep,
    policy: PolicyDep,
    session: SessionDep,
    now: NowDep,
) -> HeightenedOut:
    """Place an originator under heightened review (every alert held), or lift it."""
    service = _reviews(core, policy, session, now)
    return HeightenedOut.of(
        await service.set_heightened(principal, agency_id, body.active, body.reason)
    )


@router.get("/v1/purges")
async def purges(
    principal: PrincipalDep, session: SessionDep, now: NowDep, overdue: bool = False
) -> PurgeListOut:
    """Withdrawn and cancelled alerts with who has and has not confirmed the purge
    (reviewers and auditors)."""
    service = PurgeService(AlertRepository(session), CaseRepository(session), now)
    listed = await service.purges(principal, overdue_only=overdue)
    return PurgeListOut(purges=[PurgeOut.of(p) for p in listed])


@router.get("/v1/transparency")
async def transparency(
    principal: PrincipalDep,
    session: SessionDep,
    now: NowDep,
    start: Annotated[AwareDatetime, Query(alias="from")],
    end: Annotated[AwareDatetime, Query(alias="to")],
) -> TransparencyReportOut:
    """Counts by kind, category and outcome, derived from the audit log (see report.py).

    ``to`` is capped at the present; reviewers and auditors see every overdue purge, anyone
    else only those of its own alerts. The query is logged as ``audit.query``.
    """
    repository = AuditRepository(session)
    audit = AuditService(repository, AuditLog(session, now))
    report = await read_transparency_report(repository, audit, principal, start, end, now)
    return TransparencyReportOut.of(report)
