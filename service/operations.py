"""Operational endpoints: liveness, readiness, metrics and the broker's public identity."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from service.api.dependencies import get_core
from service.api.problems import problem_response
from service.db.migrations import ensure_current
from service.protocol.errors import NotReady
from service.runtime import Runtime

router = APIRouter(tags=["operations"])


def _runtime(request: Request) -> Runtime:
    runtime = get_core(request)
    if not isinstance(runtime, Runtime):
        raise NotReady("the service is starting")
    return runtime


# This module is part of the composition root: it reports on every component.
RuntimeDep = Annotated[Runtime, Depends(_runtime)]


class BrokerIdentity(BaseModel):
    origin: str
    checkpoint_vkey: str
    kb_key: dict[str, str]
    policy_version: str


@router.get("/v1/health")
async def health() -> dict[str, str]:
    """The process is up. Touches nothing else, so it stays cheap for orchestrators."""
    return {"status": "ok"}


@router.get("/v1/ready", response_model=None)
async def ready(runtime: RuntimeDep) -> JSONResponse:
    """Ready when the database is reachable at the current migration and keys are loaded."""
    checks: dict[str, Any] = {}
    try:
        await ensure_current(runtime.engine)
        checks["database"] = "ok"
    except NotReady as exc:
        return problem_response(503, "not-ready", "Service not ready", exc.detail)
    if runtime.broker_keys is None:
        return problem_response(503, "not-ready", "Service not ready", "broker keys not loaded")
    checks["broker_keys"] = "ok"
    return JSONResponse({"status": "ready", "checks": checks})


@router.get("/metrics", include_in_schema=False)
async def metrics(runtime: RuntimeDep) -> Response:
    return Response(runtime.metrics.render(), media_type="text/plain; version=0.0.4")


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
