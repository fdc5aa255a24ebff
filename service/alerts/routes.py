"""HTTP endpoints of the alert exchange (API.md "Submitting an alert", "Partner feed",
"Acting on an alert")."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from service.alerts.actions import AlertActions
from service.alerts.feed import MAX_LIMIT, FeedService, current_encryption_key, parse_cursor
from service.alerts.notify import POLL_SECONDS
from service.alerts.prepare import PreparedGateway, prepare_decisions
from service.alerts.repository import AlertRepository
from service.alerts.submission import SubmissionService
from service.api.dependencies import (
    NowDep,
    PrincipalDep,
    RuntimeDep,
    SessionDep,
    SignedRequestDep,
    transaction,
    unverified_request,
)
from service.audit.log import AuditLog
from service.audit.repository import AuditRepository
from service.auth.principal import AuthenticatedPrincipal
from service.clock import rfc3339
from service.errors import InvalidInput
from service.registry.repository import RegistryRepository
from service.runtime import Runtime

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


def _actions(runtime: Runtime, session: Any, now: Any) -> AlertActions:
    return AlertActions(
        AlertRepository(session), AuditLog(session, now), runtime.require_policy(), now
    )


async def _prepared(request: Request, runtime: RuntimeDep, now: NowDep) -> PreparedGateway:
    body = await request.body()
    return await prepare_decisions(
        runtime.require_policy(),
        runtime.reader(),
        unverified_request(request, body),
        body,
        now,
        timedelta(seconds=runtime.settings.signature_skew_seconds),
    )


@router.post("/v1/alerts", status_code=201, response_model=None)
async def submit_alert(
    request: Request,
    # Solved first, before the request transaction (and its connection) exists: the policy
    # decisions are made without holding it (service.alerts.prepare).
    prepared: Annotated[PreparedGateway, Depends(_prepared)],
    principal: PrincipalDep,
    runtime: RuntimeDep,
    session: SessionDep,
    now: NowDep,
) -> JSONResponse:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != SD_JWT_MEDIA_TYPE:
        raise InvalidInput(f"Content-Type must be {SD_JWT_MEDIA_TYPE}")
    keys = runtime.require_broker_keys()
    service = SubmissionService(
        alerts=AlertRepository(session),
        registry=RegistryRepository(session),
        audit=AuditLog(session, now),
        gateway=prepared,
        kek=keys.kek,
        kb_key=keys.key_binding.public,
        now=now,
        skew=timedelta(seconds=runtime.settings.signature_skew_seconds),
        purge_days=runtime.settings.purge_deadline_days,
    )
    try:
        result = await service.submit(principal, await request.body())
    finally:
        runtime.metrics.prepared_decisions.labels(prepared.outcome).inc()
    body = {
        "alert_id": result.alert_id,
        "status": result.status,
        "received_at": rfc3339(result.received_at),
    }
    return JSONResponse(body, status_code=201 if result.created else 200)


@router.get("/v1/feed")
async def feed(
    signed: SignedRequestDep,
    runtime: RuntimeDep,
    after: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    wait: Annotated[float, Query(ge=0, le=30)] = 0,
) -> dict[str, Any]:
    """The caller's feed. Waiting holds no transaction: each look is its own short one, and
    the request is authenticated in the first (one transaction for a poll that does not wait).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    keys = runtime.require_broker_keys()
    principal: AuthenticatedPrincipal | None = None
    async with contextlib.AsyncExitStack() as stack:
        while True:
            now = runtime.clock.now()
            async with transaction(runtime) as session:
                if principal is None:
                    principal = await signed.authenticate(session)
                    position = parse_cursor(after)
                    # Registered before the first look: nothing committed after it is missed.
                    woken = await stack.enter_async_context(runtime.notifier.waiter(principal.id))
                woken.clear()
                own_keys = await RegistryRepository(session).encryption_keys(principal.id)
                service = FeedService(
                    AlertRepository(session),
                    AuditLog(session, now),
                    keys.kek,
                    keys.key_binding,
                    now,
                )
                key = current_encryption_key(own_keys, now)
                served, position = await service.serve(principal.id, key, position, limit)
                checkpoint = await AuditRepository(session).latest_note()
            remaining = deadline - loop.time()
            if served or remaining <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), timeout=min(remaining, POLL_SECONDS))
    return {
        "items": [vars(item) for item in served],
        "next": str(position),
        "checkpoint": checkpoint or "",
    }


@router.get("/v1/alerts/{alert_id}")
async def show_alert(
    alert_id: AlertId,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    session: SessionDep,
    now: NowDep,
) -> dict[str, Any]:
    return await _actions(runtime, session, now).view(principal, alert_id)


@router.post("/v1/alerts/{alert_id}/dispositions", status_code=201)
async def add_disposition(
    alert_id: AlertId,
    body: DispositionIn,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    session: SessionDep,
    now: NowDep,
) -> dict[str, Any]:
    return await _actions(runtime, session, now).dispose(
        principal, alert_id, body.status, body.reason
    )


@router.post("/v1/alerts/{alert_id}/withdraw")
async def withdraw_alert(
    alert_id: AlertId,
    body: WithdrawIn,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    session: SessionDep,
    now: NowDep,
) -> dict[str, Any]:
    return await _actions(runtime, session, now).withdraw(principal, alert_id, body.reason)
