"""The one append function of the audit log, and its contract."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.audit.models import PendingEntry
from service.db.base import table_of
from service.protocol.clock import rfc3339

# Session flag: this transaction queued entries (the integrator is woken after commit).
APPENDED = "liaison.audit.appended"
# Members every entry carries, filled in by the log itself; callers may not set them.
RESERVED_FIELDS = frozenset({"index", "time", "event", "actor"})


class AuditLog:
    """Appends entries in the caller's transaction.

    The append contract (``append`` below is the only way an entry enters the log):

    - Entries MUST get dense indices 0, 1, 2, … with no gaps and no duplicates, in the order
      the integrator takes them from the queue; concurrent writers in any number of processes
      MUST NOT break this, which is why writers only enqueue and exactly one integrator at a
      time (a PostgreSQL advisory lock; SQLite's write lock) assigns indices.
    - An entry MUST be durable before the response that depends on it is sent: it is written
      in the request's own transaction, which commits before the response leaves.
    - An entry MUST be integrated into a signed checkpoint within 2 s of its commit.
    - An entry's bytes are fixed when it is integrated: canonical JSON (sorted keys, no
      whitespace, UTF-8) of the fields given here plus ``index``. Entries, node hashes and
      checkpoints MUST NOT be updated or deleted (database triggers refuse it).
    - An entry MUST NOT contain alert content: callers pass identifiers, decisions, policy ids
      and digests, never claim values.
    """

    def __init__(self, session: AsyncSession, now: datetime) -> None:
        self._session = session
        self._now = now

    async def append(self, event: str, actor: str, fields: Mapping[str, Any]) -> None:
        """Enqueue one entry; durable when the caller's transaction commits.

        Raises ValueError if ``fields`` tries to set a reserved member.
        """
        clash = RESERVED_FIELDS.intersection(fields)
        if clash:
            raise ValueError(f"audit fields may not set {sorted(clash)}")
        payload = {"time": rfc3339(self._now), "event": event, "actor": actor, **fields}
        # No flush here: the session writes pending entries in one batched INSERT when it
        # flushes (at the latest, at commit).
        self._session.add(PendingEntry(payload=payload, enqueued_at=self._now))
        self._session.info[APPENDED] = True

    async def append_many(
        self, event: str, actor: str, fields: Sequence[Mapping[str, Any]]
    ) -> None:
        """Enqueue one entry per item of ``fields``, in order, with a single INSERT (a fan-out
        writes one per partner). Same contract and errors as :meth:`append`."""
        rows = []
        for item in fields:
            clash = RESERVED_FIELDS.intersection(item)
            if clash:
                raise ValueError(f"audit fields may not set {sorted(clash)}")
            payload = {"time": rfc3339(self._now), "event": event, "actor": actor, **item}
            rows.append({"payload": payload, "enqueued_at": self._now})
        if rows:
            # Entries added with append() before must keep their place in the queue.
            await self._session.flush()
            await self._session.execute(insert(table_of(PendingEntry)), rows)
            self._session.info[APPENDED] = True
