"""HTTP endpoints of the policy gateway (API.md "Policy")."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from service.api.dependencies import PrincipalDep, StandalonePrincipalDep
from service.policy.dependencies import PolicyDep, ReloaderDep

router = APIRouter(prefix="/v1/policy", tags=["policy"])


@router.get("")
async def describe(principal: PrincipalDep, engine: PolicyDep) -> dict[str, Any]:
    return {
        "version": engine.version,
        "policies": [
            {"id": p.id, "annotations": p.annotations, "file": p.file}
            for p in engine.policy_set.policies
        ],
    }


@router.post("/reload")
async def reload(principal: StandalonePrincipalDep, reloader: ReloaderDep) -> dict[str, Any]:
    """Reload the policy files (admin). A broken set keeps the old one in force: 422 says why.

    Authenticates in its own transaction: the reload writes ``policy.loaded`` in another, and
    on SQLite two write transactions of one request would wait for each other.
    """
    principal.require_role("admin")
    version = await reloader.reload_policy(actor=principal.id)
    return {"version": version}
