"""Everything a running app shares between requests, built once at start-up."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service.alerts.gateway import PolicyGateway
from service.alerts.notify import FEED_PARTNERS, FeedNotifier
from service.api.metrics import Metrics
from service.audit.integrator import Integrator
from service.audit.log import APPENDED, AuditLog
from service.audit.note import NoteSigner
from service.broker.keys import BrokerKeys
from service.clock import Clock
from service.errors import NotReady
from service.policy.engine import PolicyEngine
from service.policy.policy_set import PolicySet
from service.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    metrics: Metrics = field(default_factory=Metrics)
    broker_keys: BrokerKeys | None = None
    integrator: Integrator | None = None
    policy: PolicyGateway | None = None
    notifier: FeedNotifier = field(default_factory=FeedNotifier)
    # Read-only snapshots that need not queue behind SQLite's one writer; None: use
    # ``sessionmaker`` (PostgreSQL). See ``service.db.engine.make_read_engine``.
    read_sessionmaker: async_sessionmaker[AsyncSession] | None = None

    def reader(self) -> async_sessionmaker[AsyncSession]:
        """Sessions for read-only work: never write through them."""
        return self.read_sessionmaker or self.sessionmaker

    def require_broker_keys(self) -> BrokerKeys:
        """The broker keys; raises NotReady before start-up has loaded them."""
        return _require(self.broker_keys)

    def after_commit(self, info: dict[Any, Any]) -> None:
        """Wake this process's integrator and feed waiters for what a transaction committed."""
        if info.pop(APPENDED, False) and self.integrator is not None:
            self.integrator.wake.set()
        partners = info.pop(FEED_PARTNERS, None)
        if partners:
            self.notifier.notify(partners)

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
                "policy.loaded",
                actor,
                {
                    "policy_version": engine.version,
                    "policies": [p.id for p in policy_set.policies],
                },
            )
        self.policy = engine
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


def _require(keys: BrokerKeys | None) -> BrokerKeys:
    if keys is None:
        raise NotReady("broker keys are not loaded")
    return keys


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
