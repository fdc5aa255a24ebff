"""Everything a running app shares between requests, built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service.api.metrics import Metrics
from service.audit.integrator import Integrator
from service.audit.note import NoteSigner
from service.broker.keys import BrokerKeys
from service.clock import Clock
from service.errors import NotReady
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

    def require_broker_keys(self) -> BrokerKeys:
        """The broker keys; raises NotReady before start-up has loaded them."""
        return _require(self.broker_keys)

    def audit_appended(self) -> None:
        """Tell this process's integrator that a committed transaction queued entries."""
        if self.integrator is not None:
            self.integrator.wake.set()

    def checkpoint_signer(self) -> NoteSigner:
        """The signer of checkpoints: the checkpoint key under the log's origin as key name."""
        return NoteSigner(self.settings.origin, self.require_broker_keys().checkpoint)


def _require(keys: BrokerKeys | None) -> BrokerKeys:
    if keys is None:
        raise NotReady("broker keys are not loaded")
    return keys
