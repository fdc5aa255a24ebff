"""FastAPI dependencies every domain's endpoints share: the request's transaction, its clock,
its authenticated principal.

This module knows no domain. What it needs from one is injected through ``Core``, which the
composition root (``service.runtime.Runtime``) extends with the domain components; a domain's
own typed dependencies (``BrokerKeysDep``, ``PolicyDep``, ``NotifierDep``) live in that
domain's ``dependencies`` module, so no endpoint module imports every domain.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import Depends, Request
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service.api.logging import set_principal
from service.api.metrics import Metrics
from service.api.principal import AuthenticatedPrincipal
from service.protocol.clock import Clock
from service.protocol.errors import Conflict, InvalidInput, NotReady, WrongAuthority
from service.protocol.signatures import UnverifiedRequest
from service.settings import Settings

T = TypeVar("T")


class Authenticator(Protocol):
    """Request authentication, provided by ``service.auth`` at the composition root."""

    async def __call__(
        self, session: AsyncSession, request: UnverifiedRequest, now: datetime, skew: timedelta
    ) -> AuthenticatedPrincipal: ...


@dataclass
class Core:
    """What every request needs, built once at start-up."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    authenticator: Authenticator
    metrics: Metrics = field(default_factory=Metrics)
    # Read-only snapshots that need not queue behind SQLite's one writer; None: use
    # ``sessionmaker`` (PostgreSQL). See ``service.db.engine.make_read_engine``.
    read_sessionmaker: async_sessionmaker[AsyncSession] | None = None
    # Called with a committed session's ``info``: wakes whoever its writes concern (the
    # audit integrator, long-polling feeds). Registered by the composition root.
    commit_hooks: list[Callable[[dict[Any, Any]], None]] = field(default_factory=list)

    @property
    def skew(self) -> timedelta:
        return timedelta(seconds=self.settings.signature_skew_seconds)

    def reader(self) -> async_sessionmaker[AsyncSession]:
        """Sessions for read-only work: never write through them."""
        return self.read_sessionmaker or self.sessionmaker

    def after_commit(self, info: dict[Any, Any]) -> None:
        for hook in self.commit_hooks:
            hook(info)


def get_core(request: Request) -> Core:
    """The app's ``Core``; NotReady (503) before start-up has built it."""
    core = getattr(request.app.state, "runtime", None)
    if not isinstance(core, Core):
        raise NotReady("the service is starting")
    return core


def component(request: Request, name: str, kind: type[T]) -> T:
    """The component ``name`` of the app's runtime, checked to be a ``kind``; NotReady (503)
    while start-up has not loaded it. Domains build their typed dependencies on this."""
    value = getattr(get_core(request), name, None)
    if not isinstance(value, kind):
        raise NotReady(f"{name.replace('_', ' ')} not loaded")
    return value


CoreDep = Annotated[Core, Depends(get_core)]


@contextlib.asynccontextmanager
async def transaction(core: Core) -> AsyncIterator[AsyncSession]:
    """A session in one transaction; after it commits, wake whoever its writes concern.

    A constraint the database enforces (a unique jti, kid, disposition or decision) that a
    concurrent transaction won first surfaces as IntegrityError at a flush or at commit; the
    transaction is then rolled back and the error raised as Conflict (409), whoever flushed.
    A value the database cannot store (SQLSTATE class 22, "data exception": a NUL character
    in PostgreSQL text, a number out of its column's range) is the request's fault, not the
    server's: rolled back and raised as InvalidInput (422).
    """
    try:
        async with core.sessionmaker() as session:
            async with session.begin():
                yield session
            core.after_commit(session.info)
    # The details name no table or value: the database's message stays in the server.
    except IntegrityError:
        raise Conflict(
            "a concurrent request changed the same record; nothing was written"
        ) from None
    except DBAPIError as error:
        if not _is_data_exception(error):
            raise
        raise InvalidInput("the request holds a value the database cannot store") from None


def _is_data_exception(error: DBAPIError) -> bool:
    sqlstate = getattr(error.orig, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate.startswith("22")


async def _session(core: CoreDep) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the endpoint returns, before the response is
    sent (``scope="function"``), rolled back if anything raises."""
    async with transaction(core) as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(_session, scope="function")]


def request_time(core: CoreDep) -> datetime:
    """The time of this request, read once from the runtime's clock."""
    return core.clock.now()


NowDep = Annotated[datetime, Depends(request_time)]


def unverified_request(request: Request, body: bytes) -> UnverifiedRequest:
    """The request as signed: absolute URL rebuilt from the scope's raw path and Host header.

    The Host header becomes the signed ``@authority``; a signature is only worth something
    for the authority it was made for, so a Host that is not one of this broker's public
    authorities (``Settings.accepts_authority``) raises WrongAuthority (401) here, before
    any verification or write. Every authenticating path rebuilds the request here.
    """
    scope = request.scope
    host = request.headers.get("host", "")
    if not get_core(request).settings.accepts_authority(host):
        raise WrongAuthority("the request is addressed to an authority this broker does not serve")
    raw_path = scope.get("raw_path") or scope["path"].encode()
    query = scope.get("query_string", b"")
    url = f"{scope.get('scheme', 'http')}://{host}{raw_path.decode('latin-1')}"
    if query:
        url += "?" + query.decode("latin-1")
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
    return UnverifiedRequest(method=request.method, url=url, headers=headers, body=body)


async def _principal(
    request: Request, core: CoreDep, session: SessionDep, now: NowDep
) -> AuthenticatedPrincipal:
    body = await request.body()
    principal = await core.authenticator(session, unverified_request(request, body), now, core.skew)
    set_principal(request.scope, principal.id)
    return principal


PrincipalDep = Annotated[AuthenticatedPrincipal, Depends(_principal)]


async def _principal_own_transaction(
    request: Request, core: CoreDep, now: NowDep
) -> AuthenticatedPrincipal:
    """Authenticate in a short transaction of its own, committed at once: for endpoints that
    must not hold a transaction (and SQLite's write lock) while they wait or reload."""
    body = await request.body()
    async with transaction(core) as session:
        principal = await core.authenticator(
            session, unverified_request(request, body), now, core.skew
        )
    set_principal(request.scope, principal.id)
    return principal


@dataclass(frozen=True)
class SignedRequest:
    """A request to authenticate later, inside a transaction the endpoint opens itself (the
    feed authenticates in its first look's transaction, saving one per poll)."""

    request: UnverifiedRequest
    received_at: datetime
    skew: timedelta
    authenticator: Authenticator

    async def authenticate(self, session: AsyncSession) -> AuthenticatedPrincipal:
        principal = await self.authenticator(session, self.request, self.received_at, self.skew)
        set_principal(None, principal.id)
        return principal


async def _signed_request(request: Request, core: CoreDep, now: NowDep) -> SignedRequest:
    body = await request.body()
    return SignedRequest(unverified_request(request, body), now, core.skew, core.authenticator)


StandalonePrincipalDep = Annotated[AuthenticatedPrincipal, Depends(_principal_own_transaction)]
SignedRequestDep = Annotated[SignedRequest, Depends(_signed_request)]
