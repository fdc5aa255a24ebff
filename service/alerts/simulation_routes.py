"""HTTP endpoint of policy simulation (``POST /v1/policy/simulate``)."""

from __future__ import annotations

from fastapi import APIRouter

from service.alerts.cases import CaseRepository
from service.alerts.repository import AlertRepository
from service.alerts.schemas import Simulation, SimulationOut
from service.alerts.simulation import simulate
from service.api.dependencies import NowDep, PrincipalDep, SessionDep
from service.policy.dependencies import PolicyDep

router = APIRouter(prefix="/v1/policy", tags=["policy"])


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
    return SimulationOut.of(result)
