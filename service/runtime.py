"""The composition root's runtime: ``Core`` plus every domain component, built at start-up.

Only composition roots (``service.app``, ``service.cli``, ``service.live``) import this
module. Endpoints reach the components through typed dependencies
(``service.api.dependencies.CoreDep``, ``service.broker.dependencies.BrokerKeysDep``,
``service.policy.dependencies.PolicyDep``, ``service.alerts.dependencies.NotifierDep``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from service.alerts.gateway import PolicyGateway
from service.alerts.notify import FEED_PARTNERS, FeedNotifier
from service.api.dependencies import Authenticator, Core
from service.api.metrics import Metrics
from service.audit.integrator import Integrator
from service.audit.log import APPENDED, AuditLog
from service.auth.authenticate import authenticate
from service.broker.keys import BrokerKeys, load_broker_keys, read_kek
from service.db.engine import make_engine, make_read_engine, make_sessionmaker
from service.db.migrations import ensure_current
from service.policy.engine import PolicyEngine
from service.policy.policy_set import PolicySet
from service.protocol.clock import Clock, SystemClock
from service.protocol.errors import NotReady
from service.protocol.note import NoteSigner
from service.protocol.vocabulary import AuditEvent
from service.settings import Settings

logger = logging.getLogger("liaison.policy")
INTEGRATOR_TASK = "audit-integrator"


@dataclass
class Runtime(Core):
    authenticator: Authenticator = authenticate
    broker_keys: BrokerKeys | None = None
    integrator: Integrator | None = None
    policy: PolicyGateway | None = None
    notifier: FeedNotifier = field(default_factory=FeedNotifier)
    #: The app's background tasks by name (``INTEGRATOR_TASK``…), for the readiness check.
    background: dict[str, asyncio.Task[None]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.commit_hooks.append(self._wake)

    def _wake(self, info: dict[Any, Any]) -> None:
        """Wake this process's integrator and feed waiters for what a transaction committed."""
        if info.pop(APPENDED, False) and self.integrator is not None:
            self.integrator.wake.set()
        partners = info.pop(FEED_PARTNERS, None)
        if partners:
            self.notifier.notify(partners)

    def require_broker_keys(self) -> BrokerKeys:
        """The broker keys; raises NotReady before start-up has loaded them."""
        if self.broker_keys is None:
            raise NotReady("broker keys are not loaded")
        return self.broker_keys

    async def reload_policy(self, actor: str = "broker") -> str:
        """Load the policy directory and put it in force, logging ``policy.loaded``.

        Raises PolicyLoadError (naming file and line) and keeps the current set in force if
        the files do not load.
        """
        directory = policy_directory(self.settings)
        policy_set = await asyncio.to_thread(PolicySet.load, directory)
        engine = PolicyEngine(policy_set)
        async with self.sessionmaker() as session, session.begin():
            await AuditLog(session, self.clock.now()).append(
                AuditEvent.POLICY_LOADED,
                actor,
                {
                    "policy_version": engine.version,
                    "policies": [p.id for p in policy_set.policies],
                },
            )
        self.policy = engine
        logger.info(
            "policy set loaded",
            extra={"event": "policy.loaded", "policy_version": engine.version, "actor": actor},
        )
        if self.integrator is not None:
            self.integrator.wake.set()
        return engine.version

    def require_policy(self) -> PolicyGateway:
        if self.policy is None:
            raise NotReady("the policy set is not loaded")
        return self.policy

    def checkpoint_signer(self) -> NoteSigner:
        """The signer of checkpoints: the checkpoint key under the log's origin as key name."""
        return NoteSigner(self.settings.origin, self.require_broker_keys().checkpoint)


async def build_runtime(
    settings: Settings,
    clock: Clock | None = None,
    *,
    load_policy: bool = True,
    metrics: Metrics | None = None,
) -> Runtime:
    """The runtime as the app's start-up builds it (``service.app`` uses it): engines, the
    migration check, the broker keys, the integrator and (with ``load_policy``) the policy
    set, which logs ``policy.loaded``.

    Starts no background task: run ``runtime.integrator.run()`` if entries must be
    integrated. Close it with ``close_runtime``. Raises NotReady if the database is
    unreachable or its migrations are not current, and whatever ``read_kek``,
    ``load_broker_keys`` or ``reload_policy`` raise; the engines are disposed first.
    """
    engine = make_engine(settings.resolved_database_url, pool_size=settings.db_pool_size)
    read_engine = make_read_engine(settings.resolved_database_url)
    runtime = Runtime(
        settings=settings,
        engine=engine,
        sessionmaker=make_sessionmaker(engine),
        clock=clock or SystemClock(),
        metrics=metrics or Metrics(),
        read_sessionmaker=make_sessionmaker(read_engine) if read_engine else None,
    )
    try:
        await ensure_current(engine)
        kek = read_kek(settings)
        # In a transaction: a database without a stored register key gets one here.
        async with runtime.sessionmaker() as session, session.begin():
            runtime.broker_keys = await load_broker_keys(session, kek, runtime.clock.now())
        runtime.integrator = Integrator(
            runtime.sessionmaker, runtime.checkpoint_signer(), runtime.clock
        )
        if load_policy:
            await runtime.reload_policy()
    except BaseException:
        await close_runtime(runtime)
        raise
    return runtime


async def close_runtime(runtime: Runtime) -> None:
    """Dispose of the runtime's engines (the writer's and, on SQLite, the readers')."""
    await runtime.engine.dispose()
    if runtime.read_sessionmaker is not None:
        read_engine = runtime.read_sessionmaker.kw.get("bind")
        if isinstance(read_engine, AsyncEngine):
            await read_engine.dispose()


def policy_directory(settings: Settings) -> Path:
    """``LIAISON_POLICY_DIR``, else the checkout's ``policies/`` when running from source,
    else the copy installed with the package as ``service.policies``."""
    if settings.policy_dir is not None:
        return settings.policy_dir
    checkout = Path(__file__).resolve().parents[1] / "policies"
    if (checkout / "schema.cedarschema").is_file():
        return checkout
    from importlib import resources

    return Path(str(resources.files("service.policies")))
