"""The audit log read straight from the database, for ``service.protocol.logverify``."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from service.audit.repository import AuditRepository
from service.protocol.logverify import LogVerificationError
from service.protocol.merkle import (
    MissingNodeError,
    ProofPlan,
    assemble,
    consistency_plan,
    inclusion_plan,
    plan_addresses,
)


class DatabaseLogSource:
    """Reads the log's tables directly, proving from the stored subtree hashes as the service
    does. Raises LogVerificationError when a checkpoint or a stored hash is missing."""

    def __init__(self, session: AsyncSession) -> None:
        self._repository = AuditRepository(session)

    async def checkpoint_note(self) -> str:
        latest = await self._repository.latest_checkpoint()
        if latest is None:
            raise LogVerificationError("the database holds no signed checkpoint")
        return latest.note

    async def entries(self, start: int, end: int) -> list[bytes]:
        return [row.leaf for row in await self._repository.entries(start, end)]

    async def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return await self._prove(inclusion_plan(index, size))

    async def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        if old_size in (0, new_size):
            return []
        return await self._prove(consistency_plan(old_size, new_size))

    async def _prove(self, plan: ProofPlan) -> list[bytes]:
        try:
            return assemble(plan, await self._repository.nodes(plan_addresses(plan)))
        except (MissingNodeError, ValueError):
            raise LogVerificationError("a stored subtree hash is missing or malformed") from None
