"""What domain code needs from the audit log: a way to append an entry in its transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol


class AuditSink(Protocol):
    async def append(self, event: str, actor: str, fields: Mapping[str, Any]) -> None:
        """Enqueue an entry in the caller's transaction.

        It becomes durable when that transaction commits and is then integrated into the log
        (see ``service.audit.log.AuditLog.append`` for the full contract).
        """
        ...

    async def append_many(
        self, event: str, actor: str, fields: Sequence[Mapping[str, Any]]
    ) -> None:
        """Enqueue several entries of one event at once, in order (one statement)."""
        ...
