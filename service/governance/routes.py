"""HTTP endpoints of governance: reviews, heightened review, purges, transparency."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from service.alerts.cases import CaseRepository
from service.alerts.purge import purge_status
from service.alerts.repository import AlertRepository
from service.api.dependencies import CoreDep, NowDep, PrincipalDep, SessionDep
from service.audit.log import AuditLog
from service.audit.repository import AuditRepository
from service.broker.dependencies import BrokerKeysDep
from service.governance.report import transparency_report
from service.governance.reviews import ReviewService, Verdict
from service.policy.dependencies import PolicyDep
from service.policy.engine import PolicyEngine
from service.protocol.errors import InvalidInput
from service.registry.repository import RegistryRepository
from service.registry.schemas import PRINCIPAL_ID_PATTERN

router = APIRouter(tags=["governance"])
AlertId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]


class ReviewDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Verdict
    reason: str = Field(min_length=1, max_length=1000)


class HeightenedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    active: bool
    reason: str = Field(min_length=1, max_length=1000)


def _reviews(core: CoreDep, policy: PolicyEngine, session: Any, now: datetime) -> ReviewService:
    return ReviewService(
        alerts=AlertRepository(session),
        registry=RegistryRepository(session),
        governance=CaseRepository(session),
        audit=AuditLog(session, now),
        gateway=policy,
        now=now,
        purge_days=core.settings.purge_deadline_days,
    )


@router.get("/v1/reviews")
async def list_reviews(
    principal: PrincipalDep,
    core: CoreDep,
    policy: PolicyDep,
    session: SessionDep,
    now: NowDep,
    status: Annotated[
        Literal["pending", "approved", "rejected", "upheld", "cancelled"] | None, Query()
    ] = "pending",
) -> dict[str, Any]:
    return {"reviews": await _reviews(core, policy, session, now).cases(principal, status)}


@router.get("/v1/reviews/{alert_id}")
async def read_for_review(
    alert_id: AlertId,
    principal: PrincipalDep,
    core: CoreDep,
    policy: PolicyDep,
    keys: BrokerKeysDep,
    session: SessionDep,
    now: NowDep,
) -> dict[str, Any]:
    return await _reviews(core, policy, session, now).read(
        principal, alert_id, keys.kek, keys.key_binding
    )


@router.post("/v1/reviews/{alert_id}")
async def decide_review(
    alert_id: AlertId,
    body: ReviewDecision,
    principal: PrincipalDep,
    core: CoreDep,
    policy: PolicyDep,
    session: SessionDep,
    now: NowDep,
) -> dict[str, Any]:
    return await _reviews(core, policy, session, now).decide(
        principal, alert_id, body.decision, body.reason
    )


@router.post("/v1/reviews/heightened/{agency_id}")
async def heightened_review(
    agency_id: Annotated[str, Path(pattern=PRINCIPAL_ID_PATTERN)],
    body: HeightenedIn,
    principal: PrincipalDep,
    core: CoreDep,
    policy: PolicyDep,
    session: SessionDep,
    now: NowDep,
) -> dict[str, Any]:
    service = _reviews(core, policy, session, now)
    return await service.set_heightened(principal, agency_id, body.active, body.reason)


@router.get("/v1/purges")
async def purges(
    principal: PrincipalDep, session: SessionDep, now: NowDep, overdue: bool = False
) -> dict[str, Any]:
    """Withdrawn and cancelled alerts with who has and has not confirmed the purge
    (reviewers and auditors)."""
    principal.require_role("reviewer", "auditor")
    alerts = AlertRepository(session)
    listed = []
    for alert in await CaseRepository(session).with_purge_deadline(1000):
        recipients = await alerts.recipients(alert.id)
        status = purge_status(alert, recipients, await alerts.dispositions(alert.id), now)
        if status is not None and (status["overdue"] or not overdue):
            listed.append({"alert_id": alert.id, "originator": alert.originator, **status})
    return {"purges": listed}


@router.get("/v1/transparency")
async def transparency(
    principal: PrincipalDep,
    session: SessionDep,
    start: Annotated[datetime, Query(alias="from")],
    end: Annotated[datetime, Query(alias="to")],
) -> dict[str, Any]:
    """Counts by kind, category and outcome, derived from the audit log (see report.py)."""
    if start.tzinfo is None or end.tzinfo is None or end <= start:
        raise InvalidInput("from and to must be RFC 3339 times with from < to")
    repository = AuditRepository(session)
    latest = await repository.latest_checkpoint()
    size = latest.size if latest is not None else 0
    entries: list[dict[str, Any]] = []
    for first in range(0, size, 5000):
        entries += [
            json.loads(e.leaf) for e in await repository.entries(first, min(size, first + 5000))
        ]
    report = transparency_report(entries, start, end)
    report["log_size"] = size
    report["checkpoint"] = latest.note if latest is not None else ""
    return report
