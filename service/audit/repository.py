"""All SQL of the audit log."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, bindparam, delete, insert, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from service.audit.models import AuditCheckpoint, AuditEntry, AuditNode, PendingEntry
from service.db.base import table_of
from service.protocol.merkle import NodeAddress

# An arbitrary constant: the PostgreSQL advisory lock that elects the one integrator.
INTEGRATOR_LOCK_KEY = 0x4C49_4149_534F_4E01 - (1 << 63)
# Parameters per statement stay well under SQLite's and asyncpg's limits.
_CHUNK = 500


@functools.lru_cache(maxsize=512)
def _nodes_statement(levels: tuple[int, ...]) -> Select[int, int, bytes]:
    """``SELECT level, idx, hash`` of the nodes at ``levels``, with one expanding ``IN``
    parameter (``idx0``, ``idx1``, …) per level, in the order given."""
    table = table_of(AuditNode)
    condition = or_(
        *(
            and_(table.c.level == level, table.c.idx.in_(bindparam(f"idx{n}", expanding=True)))
            for n, level in enumerate(levels)
        )
    )
    return select(table.c.level, table.c.idx, table.c.hash).where(condition)


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @property
    def dialect(self) -> str:
        return self._session.get_bind().dialect.name

    async def take_integrator_lock(self, *, wait: bool) -> bool:
        """Take the integrator lock for this transaction; False if another process holds it
        and ``wait`` is false.

        On SQLite the transaction's own write lock (BEGIN IMMEDIATE) already excludes every
        other writer, so there is nothing more to take.
        """
        if self.dialect != "postgresql":
            return True
        if wait:
            await self._session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": INTEGRATOR_LOCK_KEY}
            )
            return True
        statement = text("SELECT pg_try_advisory_xact_lock(:key)")
        return bool(await self._session.scalar(statement, {"key": INTEGRATOR_LOCK_KEY}))

    async def latest_checkpoint(self) -> AuditCheckpoint | None:
        statement = select(AuditCheckpoint).order_by(AuditCheckpoint.size.desc()).limit(1)
        return (await self._session.scalars(statement)).first()

    async def latest_note(self) -> str | None:
        """The latest checkpoint's signed note alone (what every feed page carries)."""
        statement = select(AuditCheckpoint.note).order_by(AuditCheckpoint.size.desc()).limit(1)
        return await self._session.scalar(statement)

    async def checkpoint(self, size: int) -> AuditCheckpoint | None:
        return await self._session.get(AuditCheckpoint, size)

    async def nodes(self, addresses: Iterable[NodeAddress]) -> dict[NodeAddress, bytes]:
        """The stored hashes of ``addresses``, in as few queries as the parameter limit allows.

        Written as ``(level = ? AND idx IN (…)) OR …`` rather than a row-value ``IN``: SQLite
        answers the row-value form with a full scan (130 ms at a million entries), the OR form
        with one primary-key search per address on both databases. The statement for a set of
        levels is built once (``_nodes_statement``); proofs of one tree size share it.
        """
        wanted = sorted(set(addresses))
        found: dict[NodeAddress, bytes] = {}
        for start in range(0, len(wanted), _CHUNK):
            by_level: dict[int, list[int]] = {}
            for address in wanted[start : start + _CHUNK]:
                by_level.setdefault(address.level, []).append(address.index)
            levels = tuple(by_level)
            parameters = {f"idx{n}": by_level[level] for n, level in enumerate(levels)}
            result = await self._session.execute(_nodes_statement(levels), parameters)
            for level, index, value in result:
                found[NodeAddress(level, index)] = value
        return found

    async def latest_size(self) -> int | None:
        """The size of the latest checkpoint; None before the first."""
        statement = select(AuditCheckpoint.size).order_by(AuditCheckpoint.size.desc()).limit(1)
        return await self._session.scalar(statement)

    async def pending(self, limit: int) -> list[tuple[int, dict[str, Any]]]:
        """The oldest ``limit`` queued entries as (queue id, payload), plain rows."""
        table = table_of(PendingEntry)
        statement = select(table.c.id, table.c.payload).order_by(table.c.id).limit(limit)
        return [(row[0], row[1]) for row in await self._session.execute(statement)]

    async def has_pending(self) -> bool:
        return (await self._session.scalar(select(PendingEntry.id).limit(1))) is not None

    async def store_integrated(
        self,
        entries: list[dict[str, Any]],
        nodes: list[tuple[NodeAddress, bytes]],
        checkpoint: dict[str, Any],
        integrated_ids: list[int],
    ) -> None:
        """Insert a batch's entries, node hashes and checkpoint, and dequeue its pending rows."""
        # Table-level (Core) statements: no ORM bookkeeping for rows never loaded as objects.
        entry_table, node_table = table_of(AuditEntry), table_of(AuditNode)
        for start in range(0, len(entries), _CHUNK):
            await self._session.execute(insert(entry_table), entries[start : start + _CHUNK])
        node_rows = [{"level": a.level, "idx": a.index, "hash": h} for a, h in nodes]
        for start in range(0, len(node_rows), _CHUNK):
            await self._session.execute(insert(node_table), node_rows[start : start + _CHUNK])
        await self._session.execute(insert(table_of(AuditCheckpoint)), [checkpoint])
        pending = table_of(PendingEntry)
        for start in range(0, len(integrated_ids), _CHUNK):
            ids = integrated_ids[start : start + _CHUNK]
            await self._session.execute(delete(pending).where(pending.c.id.in_(ids)))

    async def entries(self, start: int, end: int) -> Sequence[AuditEntry]:
        statement = (
            select(AuditEntry)
            .where(AuditEntry.idx >= start, AuditEntry.idx < end)
            .order_by(AuditEntry.idx)
        )
        return (await self._session.scalars(statement)).all()

    async def entry(self, index: int) -> AuditEntry | None:
        return await self._session.get(AuditEntry, index)

    async def search(
        self,
        *,
        alert_id: str | None,
        partner: str | None,
        event: str | None,
        since: datetime | None,
        until: datetime | None,
        after: int | None,
        limit: int,
        naming: str | None,
    ) -> Sequence[AuditEntry]:
        """Entries matching every given filter, in index order, after index ``after``.

        ``naming`` restricts to entries that name that principal (as actor, partner or
        principal): what an agency may see.
        """
        statement = select(AuditEntry).order_by(AuditEntry.idx).limit(limit)
        if alert_id is not None:
            statement = statement.where(AuditEntry.alert_id == alert_id)
        if partner is not None:
            statement = statement.where(AuditEntry.partner == partner)
        if event is not None:
            statement = statement.where(AuditEntry.event == event)
        if since is not None:
            statement = statement.where(AuditEntry.time >= since)
        if until is not None:
            statement = statement.where(AuditEntry.time < until)
        if after is not None:
            statement = statement.where(AuditEntry.idx > after)
        if naming is not None:
            statement = statement.where(
                or_(
                    AuditEntry.actor == naming,
                    AuditEntry.partner == naming,
                    AuditEntry.principal == naming,
                )
            )
        return (await self._session.scalars(statement)).all()
