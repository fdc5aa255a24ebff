"""HTTP endpoints of the policy gateway (API.md "Policy")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from service.alerts.gateway import alert_facts, partner_facts
from service.alerts.repository import AlertRepository
from service.alerts.validation import validate_claims
from service.api.dependencies import (
    NowDep,
    PrincipalDep,
    RuntimeDep,
    SessionDep,
    StandalonePrincipalDep,
)
from service.errors import Forbidden, InvalidInput
from service.governance.repository import GovernanceRepository
from service.policy.engine import PolicyEngine

router = APIRouter(prefix="/v1/policy", tags=["policy"])
SIMULATION_ID = "00000000-0000-4000-8000-000000000000"


class Simulation(BaseModel):
    """The clear claims of a would-be alert, plus the names of its content claims."""

    model_config = ConfigDict(extra="forbid")

    iss: str
    kind: str
    category: str
    tlp: str
    handling: list[str] = Field(default_factory=list)
    audience: dict[str, Any]
    purpose: str
    legal_basis: str
    claims: list[str] = Field(default_factory=list, max_length=64)
    character: list[str] = Field(default_factory=list)
    subject_status: list[str] = Field(default_factory=list)


@router.get("")
async def describe(principal: PrincipalDep, runtime: RuntimeDep) -> dict[str, Any]:
    engine = runtime.require_policy()
    assert isinstance(engine, PolicyEngine)
    return {
        "version": engine.version,
        "policies": [
            {"id": p.id, "annotations": p.annotations, "file": p.file}
            for p in engine.policy_set.policies
        ],
    }


@router.post("/simulate")
async def simulate(
    body: Simulation, principal: PrincipalDep, runtime: RuntimeDep, session: SessionDep, now: NowDep
) -> dict[str, Any]:
    """What the gateway would decide for every partner; nothing is stored or logged as a
    decision. An agency may simulate only its own alerts; reviewers and admins any."""
    if body.iss != principal.id and not principal.roles & {"reviewer", "admin"}:
        raise Forbidden("an agency may simulate only alerts it would originate")
    horizon = int((now + timedelta(days=1)).timestamp())
    clear = body.model_dump(exclude={"claims"})
    clear |= {"jti": SIMULATION_ID, "iat": int(now.timestamp()), "exp": horizon, "cnf": {"jwk": {}}}
    validated = validate_claims(clear, len(body.claims), now, timedelta(seconds=0))
    registered = (await AlertRepository(session).directory(now)).partners
    partners = [p for p in registered if p.id != body.iss]
    originator = next((p for p in registered if p.id == body.iss), None)
    if originator is None:
        raise InvalidInput(f"{body.iss!r} is not a registered agency")
    facts = alert_facts(validated, originator.country, sorted(set(body.claims)))
    gateway = runtime.require_policy()
    decisions = gateway.decide(facts, [partner_facts(p) for p in partners])
    heightened = await GovernanceRepository(session).heightened(body.iss) is not None
    screening = gateway.screen(facts, partner_facts(originator, heightened_review=heightened))
    return {
        "policy_version": gateway.version,
        "publish": screening.publish,
        "screening_policies": list(screening.policies),
        "decisions": [
            {
                "partner": d.partner,
                "receive": d.receive,
                "redacted": list(d.redacted),
                "policies": list(d.policies),
            }
            for d in decisions
        ],
    }


@router.post("/reload")
async def reload(principal: StandalonePrincipalDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Reload the policy files (admin). A broken set keeps the old one in force: 422 says why.

    Authenticates in its own transaction: the reload writes ``policy.loaded`` in another, and
    on SQLite two write transactions of one request would wait for each other.
    """
    principal.require_role("admin")
    version = await runtime.reload_policy(actor=principal.id)
    return {"version": version}
