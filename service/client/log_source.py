"""The audit log read over HTTP, for ``service.protocol.logverify``."""

from __future__ import annotations

from typing import Any, Protocol


class AuditReader(Protocol):
    """The part of ``LiaisonClient`` that reads the log (kept apart so that this module and
    the log monitor need not import the client, which imports them)."""

    async def broker(self) -> dict[str, Any]: ...
    async def audit_checkpoint(self) -> str: ...
    async def audit_entries(self, start: int, end: int) -> list[bytes]: ...
    async def inclusion_proof(self, index: int, size: int) -> list[bytes]: ...
    async def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]: ...


class HttpLogSource:
    """Reads the log through the audit endpoints; the client's principal must be an auditor
    to read entries and inclusion proofs. API errors propagate as LiaisonAPIError."""

    def __init__(self, client: AuditReader) -> None:
        self._client = client

    async def checkpoint_note(self) -> str:
        return await self._client.audit_checkpoint()

    async def entries(self, start: int, end: int) -> list[bytes]:
        return await self._client.audit_entries(start, end)

    async def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return await self._client.inclusion_proof(index, size)

    async def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        return await self._client.consistency_proof(old_size, new_size)
