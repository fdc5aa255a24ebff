"""HTTP endpoints of the registry: parse, call the service, shape the answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path

from service.api.dependencies import NowDep, PrincipalDep, SessionDep
from service.audit.log import AuditLog
from service.registry.repository import RegistryRepository
from service.registry.schemas import (
    PRINCIPAL_ID_PATTERN,
    Agency,
    AgencyCreate,
    AgencyList,
    KeyRevocation,
    PublicJWK,
    RegisteredKey,
)
from service.registry.service import RegistryService

router = APIRouter(prefix="/v1/agencies", tags=["registry"])
AgencyId = Annotated[str, Path(pattern=PRINCIPAL_ID_PATTERN)]


def _service(session: SessionDep, now: NowDep) -> RegistryService:
    return RegistryService(RegistryRepository(session), AuditLog(session, now), now)


@router.get("")
async def list_agencies(principal: PrincipalDep, session: SessionDep, now: NowDep) -> AgencyList:
    return AgencyList(agencies=await _service(session, now).list_agencies())


@router.get("/{agency_id}")
async def get_agency(
    agency_id: AgencyId, principal: PrincipalDep, session: SessionDep, now: NowDep
) -> Agency:
    return await _service(session, now).get_agency(agency_id)


@router.post("", status_code=201)
async def register_agency(
    body: AgencyCreate, principal: PrincipalDep, session: SessionDep, now: NowDep
) -> Agency:
    return await _service(session, now).register(principal, body)


@router.post("/{agency_id}/keys", status_code=201, response_model_exclude_none=True)
async def add_key(
    agency_id: AgencyId,
    body: PublicJWK,
    principal: PrincipalDep,
    session: SessionDep,
    now: NowDep,
) -> RegisteredKey:
    return await _service(session, now).add_key(principal, agency_id, body)


@router.post("/{agency_id}/keys/{kid}/revoke", response_model_exclude_none=True)
async def revoke_key(
    agency_id: AgencyId,
    kid: Annotated[str, Path(min_length=1, max_length=128)],
    principal: PrincipalDep,
    session: SessionDep,
    now: NowDep,
    body: Annotated[KeyRevocation | None, Body()] = None,
) -> RegisteredKey:
    reason = body.reason if body else None
    return await _service(session, now).revoke_key(principal, agency_id, kid, reason)
