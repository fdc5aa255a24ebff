"""The ASGI application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from datetime import timedelta

from fastapi import FastAPI

from service import __version__, operations
from service.alerts import routes as alert_routes
from service.alerts import schema_routes, simulation_routes
from service.alerts.actions import AlertActions
from service.alerts.cases import CaseRepository
from service.alerts.notify import listen
from service.alerts.repository import AlertRepository
from service.api import problems
from service.api.dependencies import transaction
from service.api.docs import install_docs
from service.api.limits import BodyLimitMiddleware
from service.api.logging import RequestContextMiddleware, configure_logging
from service.api.metrics import Metrics, MetricsMiddleware, mark_worker_dead
from service.api.openapi import customise_openapi
from service.audit import routes as audit_routes
from service.audit.log import AuditLog
from service.auth.nonces import NonceRepository
from service.console import install_console
from service.governance import protected_routes
from service.governance import routes as governance_routes
from service.governance.retention import Retention
from service.policy import routes as policy_routes
from service.protocol.clock import Clock
from service.protocol.errors import NotReady
from service.registry import routes as registry_routes
from service.runtime import INTEGRATOR_TASK, Runtime, build_runtime, close_runtime
from service.settings import Settings

logger = logging.getLogger("liaison")
NONCE_SWEEP_SECONDS = 60
EXPIRY_SECONDS = 5


async def _sweep_nonces(runtime: Runtime) -> None:
    """Forget nonces that can no longer pass the freshness check (older than twice the skew)."""
    horizon = timedelta(seconds=2 * runtime.settings.signature_skew_seconds + 60)
    while True:
        await asyncio.sleep(NONCE_SWEEP_SECONDS)
        try:
            async with runtime.sessionmaker() as session, session.begin():
                await NonceRepository(session).forget_before(runtime.clock.now() - horizon)
        except Exception:
            logger.exception("nonce sweep failed; will retry")


async def _expire_alerts(runtime: Runtime) -> None:
    """Expire alerts whose ``exp`` has passed and shred those past retention, every
    EXPIRY_SECONDS."""
    while True:
        await asyncio.sleep(EXPIRY_SECONDS)
        try:
            await expire_due(runtime)
            await shred_due(runtime)
        except Exception:
            logger.exception("alert expiry or retention failed; will retry")


async def expire_due(runtime: Runtime) -> list[str]:
    """One expiry pass at the runtime clock's now; returns the expired alert ids."""
    now = runtime.clock.now()
    async with transaction(runtime) as session:
        actions = AlertActions(
            AlertRepository(session), AuditLog(session, now), runtime.require_policy(), now
        )
        expired = await actions.expire_due()
    if expired:
        logger.info(
            "expired %d alerts", len(expired), extra={"event": "alert.expired", "alerts": expired}
        )
    return expired


async def shred_due(runtime: Runtime) -> list[str]:
    """One retention pass at the runtime clock's now; returns the shredded alert ids."""
    now = runtime.clock.now()
    settings = runtime.settings
    async with transaction(runtime) as session:
        retention = Retention(
            CaseRepository(session),
            AuditLog(session, now),
            now,
            settings.retention_default_days,
            settings.retention_days,
        )
        shredded = await retention.shred_due()
    if shredded:
        logger.info(
            "shredded %d alerts past retention",
            len(shredded),
            extra={"event": "alert.shredded", "alerts": shredded},
        )
    return shredded


def _reload_on_sighup(runtime: Runtime) -> None:
    """SIGHUP reloads the policy files; a broken set is logged and the old one stays."""

    async def reload() -> None:
        try:
            await runtime.reload_policy()
        except Exception:
            logger.exception("policy reload on SIGHUP failed; the previous set stays in force")

    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(reload()))


def create_app(settings: Settings, clock: Clock | None = None) -> FastAPI:
    """Build the app. Nothing touches the database until start-up (the lifespan), which
    refuses to proceed if migrations are not current or the broker keys cannot be opened."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await build_runtime(settings, clock, metrics=app.state.metrics)
        app.state.runtime = runtime
        try:
            integrator = runtime.integrator
            if integrator is None:
                raise NotReady("the audit integrator was not built")
            await integrator.drain()
            tasks = [
                asyncio.create_task(_sweep_nonces(runtime), name="nonce-sweep"),
                asyncio.create_task(integrator.run(), name=INTEGRATOR_TASK),
                asyncio.create_task(_expire_alerts(runtime), name="alert-expiry"),
            ]
            if runtime.engine.dialect.name == "postgresql":
                tasks.append(
                    asyncio.create_task(
                        listen(settings.resolved_database_url, runtime.notifier),
                        name="feed-listener",
                    )
                )
            runtime.background = {task.get_name(): task for task in tasks}
            _reload_on_sighup(runtime)
            try:
                yield
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            await close_runtime(runtime)
            mark_worker_dead()

    # Interactive docs and the OpenAPI document map the attack surface for anyone: production
    # serves them only when LIAISON_API_DOCS says so.
    docs = settings.env != "production" or settings.api_docs
    app = FastAPI(
        title="Liaison",
        version=__version__,
        lifespan=lifespan,
        # The docs pages are served from packaged assets (service.api.docs), never a CDN.
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.metrics = metrics = Metrics()
    problems.install(app)
    app.include_router(operations.router)
    app.include_router(registry_routes.router)
    app.include_router(audit_routes.router)
    app.include_router(alert_routes.router)
    app.include_router(policy_routes.router)
    app.include_router(simulation_routes.router)
    app.include_router(governance_routes.router)
    app.include_router(protected_routes.router)
    app.include_router(schema_routes.router)
    customise_openapi(app)
    install_docs(app, docs)
    install_console(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    # Outermost: the request id and the access line cover everything below, errors included.
    app.add_middleware(RequestContextMiddleware)
    return app


def create_app_from_environment() -> FastAPI:
    """Factory for ``uvicorn --factory``: settings from ``LIAISON_*`` (``liaison serve``).

    Each worker process calls it after uvicorn configured its own logging, so this is where
    the structured logs (``service.api.logging``) replace uvicorn's.
    """
    configure_logging()
    return create_app(Settings())
