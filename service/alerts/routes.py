"""HTTP endpoints of the alert exchange (API.md "Submitting an alert", "Partner feed",
"Acting on an alert")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from service.alerts.actions import AlertActions
from service.alerts.dependencies import NotifierDep
from service.alerts.feed import MAX_LIMIT
from service.alerts.polling import poll
from service.alerts.prepare import PreparedGateway, prepare_decisions
from service.alerts.repository import AlertRepository
from service.alerts.submission import SubmissionService
from service.api.dependencies import (
    CoreDep,
    NowDep,
    PrincipalDep,
    SessionDep,
    SignedRequestDep,
    transaction,
    unverified_request,
)
from service.audit.log import AuditLog
from service.broker.dependencies import BrokerKeysDep
from service.policy.dependencies import PolicyDep
from service.policy.engine import PolicyEngine
from service.protocol.clock import rfc3339
from service.protocol.errors import InvalidInput
from service.registry.repository import RegistryRepository

router = APIRouter(tags=["alerts"])
SD_JWT_MEDIA_TYPE = "application/sd-jwt"
AlertId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]


class DispositionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["received", "acting", "declined", "challenged", "purged"]
    reason: str = Field(min_length=1, max_length=1000)


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


def _actions(policy: PolicyEngine, session: AsyncSession, now: datetime) -> AlertActions:
    return AlertActions(AlertRepository(session), AuditLog(session, now), policy, now)


async def _prepared(
    request: Request, core: CoreDep, policy: PolicyDep, now: NowDep
) -> PreparedGateway:
    body = await request.body()
    return await prepare_decisions(
        policy, core.reader(), unverified_request(request, body), body, now, core.skew
    )


@router.post("/v1/alerts", status_code=201, response_model=None)
async def submit_alert(
    request: Request,
    # Solved first, before the request transaction (and its connection) exists: the policy
    # decisions are made without holding it (service.alerts.prepare).
    prepared: Annotated[PreparedGateway, Depends(_prepared)],
    principal: PrincipalDep,
    core: CoreDep,
    keys: BrokerKeysDep,
    session: SessionDep,
    now: NowDep,
) -> JSONResponse:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != SD_JWT_MEDIA_TYPE:
        raise InvalidInput(f"Content-Type must be {SD_JWT_MEDIA_TYPE}")
    service = SubmissionService(
        alerts=AlertRepository(session),
        registry=RegistryRepository(session),
        audit=AuditLog(session, now),
        gateway=prepared,
        kek=keys.kek,
        kb_key=keys.key_binding.public,
        now=now,
        skew=core.skew,
        purge_days=core.settings.purge_deadline_days,
    )
    try:
        result = await service.submit(principal, await request.body())
    finally:
        core.metrics.prepared_decisions.labels(prepared.outcome).inc()
    body = {
        "alert_id": result.alert_id,
        "status": result.status,
        "received_at": rfc3339(result.received_at),
    }
    return JSONResponse(body, status_code=201 if result.created else 200)


@router.get("/v1/feed")
async def feed(
    signed: SignedRequestDep,
    core: CoreDep,
    notifier: NotifierDep,
    keys: BrokerKeysDep,
    after: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    wait: Annotated[float, Query(ge=0, le=30)] = 0,
) -> dict[str, Any]:
    """The caller's feed (see ``service.alerts.polling.poll``)."""
    page = await poll(
        signed, lambda: transaction(core), notifier, keys, core.clock, after, limit, wait
    )
    return {
        "items": [vars(item) for item in page.items],
        "next": str(page.next),
        "checkpoint": page.checkpoint,
    }


@router.get("/v1/alerts/{alert_id}")
async def show_alert(
    alert_id: AlertId,
    principal: PrincipalDep,
    policy: PolicyDep,
    session: SessionDep,
    now: NowDep,
) -> dict[str, Any]:
    return await _actions(policy, session, now).view(principal, alert_id)


@router.post("/v1/alerts/{alert_id}/dispositions", status_code=201)
async def add_disposition(
    alert_id: AlertId,
    body: DispositionIn,
    principal: PrincipalDep,
    policy: PolicyDep,
    session: SessionDep,
    now: NowDep,
) -> dict[str, Any]:
    return await _actions(policy, session, now).dispose(
        principal, alert_id, body.status, body.reason
    )


@router.post("/v1/alerts/{alert_id}/withdraw")
async def withdraw_alert(
    alert_id: AlertId,
    body: WithdrawIn,
    principal: PrincipalDep,
    policy: PolicyDep,
    session: SessionDep,
    now: NowDep,
) -> dict[str, Any]:
    return await _actions(policy, session, now).withdraw(principal, alert_id, body.reason)
