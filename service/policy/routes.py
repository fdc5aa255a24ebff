"""HTTP endpoints of the policy gateway (API.md "Policy")."""

from __future__ import annotations

from fastapi import APIRouter

from service.api.dependencies import PrincipalDep, StandalonePrincipalDep
from service.policy.dependencies import PolicyDep, ReloaderDep
from service.policy.schemas import PolicySetOut, PolicyVersionOut
from service.protocol.vocabulary import Role

router = APIRouter(prefix="/v1/policy", tags=["policy"])


@router.get("")
async def describe(principal: PrincipalDep, engine: PolicyDep) -> PolicySetOut:
    """The policy set in force: its version and each policy's id, annotations and file."""
    return PolicySetOut.of(engine)


@router.post("/reload")
async def reload(principal: StandalonePrincipalDep, reloader: ReloaderDep) -> PolicyVersionOut:
    """Reload the policy files (admin). A broken set keeps the old one in force: 422 says why.

    Authenticates in its own transaction: the reload writes ``policy.loaded`` in another, and
    on SQLite two write transactions of one request would wait for each other.
    """
    principal.require_role(Role.ADMIN)
    return PolicyVersionOut(version=await reloader.reload_policy(actor=principal.id))
