"""HTTP endpoints of the alert exchange (API.md "Submitting an alert", "Partner feed",
"Acting on an alert")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from service.alerts.actions import AlertActions
from service.alerts.dependencies import NotifierDep
from service.alerts.feed import MAX_LIMIT
from service.alerts.polling import poll
from service.alerts.prepare import PreparedGateway, prepare_decisions
from service.alerts.repository import AlertRepository
from service.alerts.schemas import (
    DispositionIn,
    DispositionOut,
    EndingOut,
    FeedPageOut,
    FullAlertOut,
    RecipientAlertOut,
    SubmissionOut,
    WithdrawIn,
    alert_out,
)
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
from service.api.params import FeedCursor, StrictInt
from service.audit.log import AuditLog
from service.broker.dependencies import BrokerKeysDep
from service.policy.dependencies import PolicyDep
from service.policy.engine import PolicyEngine
from service.protocol.errors import InvalidInput
from service.registry.repository import RegistryRepository

router = APIRouter(tags=["alerts"])
SD_JWT_MEDIA_TYPE = "application/sd-jwt"
AlertId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]


def _actions(policy: PolicyEngine, session: AsyncSession, now: datetime) -> AlertActions:
    return AlertActions(AlertRepository(session), AuditLog(session, now), policy, now)


async def _prepared(
    request: Request, core: CoreDep, policy: PolicyDep, now: NowDep
) -> PreparedGateway:
    body = await request.body()
    return await prepare_decisions(
        policy, core.reader(), unverified_request(request, body), body, now, core.skew
    )


@router.post(
    "/v1/alerts",
    status_code=201,
    responses={200: {"model": SubmissionOut, "description": "The same alert, submitted before"}},
)
async def submit_alert(
    request: Request,
    response: Response,
    # Solved first, before the request transaction (and its connection) exists: the policy
    # decisions are made without holding it (service.alerts.prepare).
    prepared: Annotated[PreparedGateway, Depends(_prepared)],
    principal: PrincipalDep,
    core: CoreDep,
    keys: BrokerKeysDep,
    session: SessionDep,
    now: NowDep,
) -> SubmissionOut:
    """Accept an SD-JWT alert: 201 when new, 200 for an idempotent repeat of the same bytes."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != SD_JWT_MEDIA_TYPE:
        raise InvalidInput(f"Content-Type must be {SD_JWT_MEDIA_TYPE}")
    service = SubmissionService(
        alerts=AlertRepository(session),
        registry=RegistryRepository(session),
        audit=AuditLog(session, now),
        gateway=prepared,
        kek=keys.kek,
        register_key=keys.subject_register,
        kb_key=keys.key_binding.public,
        now=now,
        skew=core.skew,
        purge_days=core.settings.purge_deadline_days,
    )
    try:
        result = await service.submit(principal, await request.body())
    finally:
        core.metrics.prepared_decisions.labels(prepared.outcome).inc()
    response.status_code = 201 if result.created else 200
    return SubmissionOut.of(result)


@router.get("/v1/feed")
async def feed(
    signed: SignedRequestDep,
    core: CoreDep,
    notifier: NotifierDep,
    keys: BrokerKeysDep,
    after: Annotated[FeedCursor | None, Query(max_length=20)] = None,
    limit: Annotated[StrictInt, Query(ge=1, le=MAX_LIMIT)] = 100,
    wait: Annotated[float, Query(ge=0, le=30)] = 0,
) -> FeedPageOut:
    """The caller's feed (see ``service.alerts.polling.poll``)."""
    page = await poll(
        signed, lambda: transaction(core), notifier, keys, core.clock, after, limit, wait
    )
    return FeedPageOut.of(page)


@router.get("/v1/alerts/{alert_id}")
async def show_alert(
    alert_id: AlertId,
    principal: PrincipalDep,
    policy: PolicyDep,
    session: SessionDep,
    now: NowDep,
) -> FullAlertOut | RecipientAlertOut:
    """The originator, reviewers and auditors get ``FullAlertOut``; a recipient its own part."""
    return alert_out(await _actions(policy, session, now).view(principal, alert_id))


@router.post("/v1/alerts/{alert_id}/dispositions", status_code=201)
async def add_disposition(
    alert_id: AlertId,
    body: DispositionIn,
    principal: PrincipalDep,
    policy: PolicyDep,
    session: SessionDep,
    now: NowDep,
) -> DispositionOut:
    row = await _actions(policy, session, now).dispose(
        principal, alert_id, body.status, body.reason
    )
    return DispositionOut.of(row)


@router.post("/v1/alerts/{alert_id}/withdraw")
async def withdraw_alert(
    alert_id: AlertId,
    body: WithdrawIn,
    principal: PrincipalDep,
    policy: PolicyDep,
    session: SessionDep,
    now: NowDep,
) -> EndingOut:
    ending = await _actions(policy, session, now).withdraw(principal, alert_id, body.reason)
    return EndingOut.of(ending)
