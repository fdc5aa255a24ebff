"""HTTP endpoint of policy simulation (``POST /v1/policy/simulate``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from service.alerts.cases import CaseRepository
from service.alerts.repository import AlertRepository
from service.alerts.simulation import simulate
from service.api.dependencies import NowDep, PrincipalDep, SessionDep
from service.policy.dependencies import PolicyDep

router = APIRouter(prefix="/v1/policy", tags=["policy"])


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


class SimulatedDecision(BaseModel):
    partner: str
    receive: bool
    redacted: list[str]
    policies: list[str]


class SimulationOut(BaseModel):
    policy_version: str
    publish: bool
    screening_policies: list[str]
    decisions: list[SimulatedDecision]


@router.post("/simulate")
async def simulate_alert(
    body: Simulation, principal: PrincipalDep, policy: PolicyDep, session: SessionDep, now: NowDep
) -> SimulationOut:
    """What the gateway would decide for every partner; nothing is stored or logged as a
    decision. An agency may simulate only its own alerts; reviewers and admins any."""
    result = await simulate(
        AlertRepository(session),
        CaseRepository(session),
        policy,
        principal,
        body.model_dump(exclude={"claims"}),
        body.claims,
        now,
    )
    return SimulationOut(
        policy_version=result.policy_version,
        publish=result.publish,
        screening_policies=list(result.screening_policies),
        decisions=[
            SimulatedDecision(
                partner=d.partner,
                receive=d.receive,
                redacted=list(d.redacted),
                policies=list(d.policies),
            )
            for d in result.decisions
        ],
    )
