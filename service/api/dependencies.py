"""FastAPI dependencies: the request's transaction, its authenticated principal, the clock."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.authenticate import authenticate
from service.auth.principal import AuthenticatedPrincipal
from service.auth.signatures import UnverifiedRequest
from service.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime = request.app.state.runtime
    assert isinstance(runtime, Runtime)
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


@contextlib.asynccontextmanager
async def transaction(runtime: Runtime) -> AsyncIterator[AsyncSession]:
    """A session in one transaction; after it commits, wake whoever its writes concern
    (the audit integrator, long-polling feeds)."""
    async with runtime.sessionmaker() as session:
        async with session.begin():
            yield session
        runtime.after_commit(session.info)


async def _session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the endpoint returns, before the response is
    sent (``scope="function"``), rolled back if anything raises."""
    async with transaction(runtime) as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(_session, scope="function")]


def request_time(runtime: RuntimeDep) -> datetime:
    """The time of this request, read once from the runtime's clock."""
    return runtime.clock.now()


NowDep = Annotated[datetime, Depends(request_time)]


def unverified_request(request: Request, body: bytes) -> UnverifiedRequest:
    """The request as signed: absolute URL rebuilt from the scope's raw path and Host header."""
    scope = request.scope
    host = request.headers.get("host", "")
    raw_path = scope.get("raw_path") or scope["path"].encode()
    query = scope.get("query_string", b"")
    url = f"{scope.get('scheme', 'http')}://{host}{raw_path.decode('latin-1')}"
    if query:
        url += "?" + query.decode("latin-1")
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
    return UnverifiedRequest(method=request.method, url=url, headers=headers, body=body)


async def _principal(
    request: Request, runtime: RuntimeDep, session: SessionDep, now: NowDep
) -> AuthenticatedPrincipal:
    body = await request.body()
    skew = timedelta(seconds=runtime.settings.signature_skew_seconds)
    return await authenticate(session, unverified_request(request, body), now, skew)


PrincipalDep = Annotated[AuthenticatedPrincipal, Depends(_principal)]


async def _principal_own_transaction(
    request: Request, runtime: RuntimeDep, now: NowDep
) -> AuthenticatedPrincipal:
    """Authenticate in a short transaction of its own, committed at once: for endpoints that
    must not hold a transaction (and SQLite's write lock) while they wait or reload."""
    body = await request.body()
    skew = timedelta(seconds=runtime.settings.signature_skew_seconds)
    async with transaction(runtime) as session:
        return await authenticate(session, unverified_request(request, body), now, skew)


@dataclass(frozen=True)
class SignedRequest:
    """A request to authenticate later, inside a transaction the endpoint opens itself (the
    feed authenticates in its first look's transaction, saving one per poll)."""

    request: UnverifiedRequest
    received_at: datetime
    skew: timedelta

    async def authenticate(self, session: AsyncSession) -> AuthenticatedPrincipal:
        return await authenticate(session, self.request, self.received_at, self.skew)


async def _signed_request(request: Request, runtime: RuntimeDep, now: NowDep) -> SignedRequest:
    body = await request.body()
    skew = timedelta(seconds=runtime.settings.signature_skew_seconds)
    return SignedRequest(unverified_request(request, body), now, skew)


StandalonePrincipalDep = Annotated[AuthenticatedPrincipal, Depends(_principal_own_transaction)]
SignedRequestDep = Annotated[SignedRequest, Depends(_signed_request)]
