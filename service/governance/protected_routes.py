"""HTTP endpoints of the protected-subject register (reviewers only)."""

from __future__ import annotations

from fastapi import APIRouter, status

from service.alerts.protected import ProtectedSubjectRepository, SubjectIdentity, register
from service.api.dependencies import NowDep, PrincipalDep, SessionDep
from service.audit.log import AuditLog
from service.broker.dependencies import BrokerKeysDep
from service.governance.schemas import (
    ProtectedSubjectIn,
    ProtectedSubjectListOut,
    ProtectedSubjectOut,
)
from service.protocol.vocabulary import Role

router = APIRouter(tags=["governance"])


@router.post("/v1/protected-subjects", status_code=status.HTTP_201_CREATED)
async def register_protected_subject(
    body: ProtectedSubjectIn,
    principal: PrincipalDep,
    keys: BrokerKeysDep,
    session: SessionDep,
    now: NowDep,
) -> ProtectedSubjectOut:
    """Register a protected person; every later alert about them is held for review. The
    answer names the entry, never the identity."""
    identity = SubjectIdentity.of(body.name, body.birth_date, body.nationality)
    entry = await register(
        session,
        AuditLog(session, now),
        keys.subject_register,
        principal,
        identity,
        body.reason,
        now,
    )
    return ProtectedSubjectOut.of(entry)


@router.get("/v1/protected-subjects")
async def list_protected_subjects(
    principal: PrincipalDep, session: SessionDep
) -> ProtectedSubjectListOut:
    """The register's entries: ids, reasons, who registered them and when."""
    principal.require_role(Role.REVIEWER)
    entries = await ProtectedSubjectRepository(session).entries(1000)
    return ProtectedSubjectListOut(
        protected_subjects=[ProtectedSubjectOut.of(entry) for entry in entries]
    )
