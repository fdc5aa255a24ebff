"""HTTP endpoints of the audit log (API.md "Audit log (exact)")."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from service.api.dependencies import NowDep, PrincipalDep, SessionDep
from service.api.params import AwareDatetime, StrictInt
from service.audit.log import AuditLog
from service.audit.repository import AuditRepository
from service.audit.schemas import ConsistencyProof, Entries, InclusionProof, SearchResult
from service.audit.service import AuditService, SearchFilters, decoded
from service.protocol.crypto import b64encode_std

router = APIRouter(prefix="/v1/audit", tags=["audit"])
NOTE_MEDIA_TYPE = "text/plain; charset=utf-8"
NonNegative = Annotated[StrictInt, Query(ge=0)]
# A signed note or a tlog-proof is text, documented as such in the OpenAPI document.
NOTE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/plain": {"schema": {"type": "string"}}}}
}


def _service(session: SessionDep, now: NowDep) -> AuditService:
    return AuditService(AuditRepository(session), AuditLog(session, now))


@router.get("/checkpoint", response_class=PlainTextResponse, responses=NOTE_RESPONSE)
async def checkpoint(session: SessionDep, now: NowDep) -> PlainTextResponse:
    """The latest signed checkpoint; unauthenticated by contract."""
    latest = await _service(session, now).latest()
    return PlainTextResponse(latest.note, media_type=NOTE_MEDIA_TYPE)


@router.get("/entries")
async def entries(
    start: NonNegative, end: NonNegative, principal: PrincipalDep, session: SessionDep, now: NowDep
) -> Entries:
    rows = await _service(session, now).entries(principal, start, end)
    return Entries(entries=[b64encode_std(row.leaf) for row in rows])


@router.get("/search")
async def search(
    principal: PrincipalDep,
    session: SessionDep,
    now: NowDep,
    alert_id: Annotated[str | None, Query(max_length=64)] = None,
    partner: Annotated[str | None, Query(max_length=63)] = None,
    event: Annotated[str | None, Query(max_length=64)] = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    after: Annotated[StrictInt | None, Query(ge=-1)] = None,
    limit: Annotated[StrictInt, Query(ge=1, le=1000)] = 100,
) -> SearchResult:
    filters = SearchFilters(alert_id, partner, event, since, until, after, limit)
    rows = await _service(session, now).search(principal, filters)
    found = [decoded(row) for row in rows]
    return SearchResult(entries=found, next=rows[-1].idx if len(rows) == limit else None)


@router.get("/proof/inclusion")
async def inclusion(
    index: NonNegative, size: NonNegative, principal: PrincipalDep, session: SessionDep, now: NowDep
) -> InclusionProof:
    hashes = await _service(session, now).inclusion(principal, index, size)
    return InclusionProof(index=index, size=size, hashes=[b64encode_std(h) for h in hashes])


@router.get("/proof/consistency")
async def consistency(
    principal: PrincipalDep,
    session: SessionDep,
    now: NowDep,
    old_size: Annotated[StrictInt, Query(alias="from", ge=0)],
    new_size: Annotated[StrictInt, Query(alias="to", ge=0)],
) -> ConsistencyProof:
    hashes = await _service(session, now).consistency(principal, old_size, new_size)
    return ConsistencyProof(
        old_size=old_size, new_size=new_size, hashes=[b64encode_std(h) for h in hashes]
    )


@router.get("/receipt/{index}", response_class=PlainTextResponse, responses=NOTE_RESPONSE)
async def receipt(
    index: StrictInt, principal: PrincipalDep, session: SessionDep, now: NowDep
) -> PlainTextResponse:
    text = await _service(session, now).receipt(principal, index)
    return PlainTextResponse(text, media_type=NOTE_MEDIA_TYPE)
