"""Operational endpoints: liveness, readiness, metrics and the broker's public identity."""

from __future__ import annotations

import hmac
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import and_, exists, func, select

from service.alerts.models import Alert, AlertDecision, Disposition, ReviewCase
from service.api.dependencies import get_core
from service.api.metrics import DomainFigures
from service.api.problems import problem_content
from service.audit.models import AuditCheckpoint, PendingEntry
from service.db.migrations import ensure_current
from service.protocol.errors import NotFound, NotReady
from service.protocol.vocabulary import CaseStatus
from service.protocol.vocabulary import Disposition as DispositionStatus
from service.runtime import INTEGRATOR_TASK, Runtime

router = APIRouter(tags=["operations"])
PROMETHEUS_MEDIA_TYPE = "text/plain; version=0.0.4"


def _runtime(request: Request) -> Runtime:
    runtime = get_core(request)
    if not isinstance(runtime, Runtime):
        raise NotReady("the service is starting")
    return runtime


# This module is part of the composition root: it reports on every component.
RuntimeDep = Annotated[Runtime, Depends(_runtime)]


class Health(BaseModel):
    status: Literal["ok"]


class ReadyChecks(BaseModel):
    database: Literal["ok"]
    broker_keys: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready"]
    checks: ReadyChecks


class BrokerIdentity(BaseModel):
    origin: str
    checkpoint_vkey: str
    kb_key: dict[str, str]
    policy_version: str


@router.get("/v1/health")
async def health() -> Health:
    """The process is up. Touches nothing else, so it stays cheap for orchestrators."""
    return Health(status="ok")


@router.get(
    "/v1/ready",
    responses={503: {"description": "Service not ready", "content": problem_content()}},
)
async def ready(runtime: RuntimeDep) -> Readiness:
    """Ready when the database is reachable at the current migration, the broker keys and the
    policy set are loaded and the audit integrator is running.

    Raises NotReady (503) otherwise, saying which check failed.
    """
    await ensure_current(runtime.engine)
    if runtime.broker_keys is None:
        raise NotReady("broker keys not loaded")
    if runtime.policy is None:
        raise NotReady("the policy set is not loaded")
    integrator = runtime.background.get(INTEGRATOR_TASK)
    if integrator is None or integrator.done():
        raise NotReady("the audit integrator is not running")
    return Readiness(status="ready", checks=ReadyChecks(database="ok", broker_keys="ok"))


@router.get(
    "/metrics",
    include_in_schema=False,
    responses={200: {"content": {PROMETHEUS_MEDIA_TYPE: {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request, runtime: RuntimeDep) -> Response:
    """Prometheus metrics. In production only for ``Authorization: Bearer
    LIAISON_METRICS_TOKEN`` (compared in constant time); without a configured token, or with
    a wrong one, production answers 404 as if there were no such endpoint."""
    settings = runtime.settings
    if settings.env == "production":
        token = settings.metrics_token
        offered = request.headers.get("authorization", "").encode()
        if token is None or not hmac.compare_digest(
            offered, b"Bearer " + token.get_secret_value().encode()
        ):
            raise NotFound("no such endpoint")
    figures = await domain_figures(runtime)
    return Response(runtime.metrics.render(figures), media_type=PROMETHEUS_MEDIA_TYPE)


async def domain_figures(runtime: Runtime) -> DomainFigures:
    """The gauges read from the database, computed once per scrape by the answering worker."""
    now = runtime.clock.now()
    purged = exists().where(
        Disposition.alert_id == AlertDecision.alert_id,
        Disposition.partner == AlertDecision.partner,
        Disposition.status == DispositionStatus.PURGED,
    )
    async with runtime.reader()() as session:
        pending_reviews = await session.scalar(
            select(func.count()).select_from(ReviewCase).where(ReviewCase.status == CaseStatus.OPEN)
        )
        overdue = await session.scalar(
            select(func.count())
            .select_from(AlertDecision)
            .join(Alert, Alert.id == AlertDecision.alert_id)
            .where(
                and_(AlertDecision.receive, Alert.purge_deadline < now, ~purged),
            )
        )
        backlog = await session.scalar(select(func.count()).select_from(PendingEntry))
        latest = await session.scalar(select(func.max(AuditCheckpoint.signed_at)))
    return DomainFigures(
        pending_reviews=pending_reviews or 0,
        overdue_purges=overdue or 0,
        audit_backlog=backlog or 0,
        checkpoint_age_seconds=None if latest is None else (now - latest).total_seconds(),
    )


@router.get("/v1/broker")
async def broker(runtime: RuntimeDep) -> BrokerIdentity:
    """The broker's public identity (API.md "Broker identity"); unauthenticated by contract."""
    keys = runtime.require_broker_keys()
    return BrokerIdentity(
        origin=runtime.settings.origin,
        checkpoint_vkey=runtime.checkpoint_signer().vkey,
        kb_key=keys.key_binding.public.to_jwk(),
        policy_version=runtime.require_policy().version,
    )
