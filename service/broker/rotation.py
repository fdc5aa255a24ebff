"""Rotating the key-encryption key: every key it wraps is re-wrapped under a new KEK.

The rotation runs with the service stopped (a running replica would keep wrapping new data
keys under the old KEK) and in batches, each its own transaction, so that a large store is
never held in one. It is safe to interrupt and run again: a key the new KEK already opens is
recognised and skipped, so a second run completes what the first began.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.audit.log import AuditLog
from service.broker.keys import unwrap_broker_key, wrap_broker_key
from service.broker.models import BrokerKey
from service.protocol.crypto import VerificationError
from service.protocol.errors import InvalidInput
from service.protocol.vocabulary import AuditEvent

DEFAULT_BATCH_SIZE = 500

#: ``rewrap(old_kek, new_kek, row_id, wrapped)``: ``wrapped`` re-wrapped under the new KEK,
#: None if the new KEK already opens it; raises VerificationError if neither opens it.
Rewrap = Callable[[bytes, bytes, str, bytes], bytes | None]


@dataclass(frozen=True)
class WrappedColumn:
    """A column of keys wrapped by the KEK, each bound to its row's string id (for example
    ``alerts.wrapped_key``, owned by a package above this one: the caller names it)."""

    name: str
    table: Table
    id_name: str
    key_name: str
    rewrap: Rewrap


@dataclass(frozen=True)
class RotationReport:
    """What one run re-wrapped, and what it found already wrapped under the new KEK."""

    rewrapped: dict[str, int]
    skipped: dict[str, int]


async def rotate_kek(
    sessionmaker: async_sessionmaker[AsyncSession],
    old_kek: bytes,
    new_kek: bytes,
    now: datetime,
    actor: str,
    columns: Sequence[WrappedColumn],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> RotationReport:
    """Re-wrap every key in ``columns`` and the broker's own keys under ``new_kek``.

    Each batch commits on its own; the run ends with a ``kek.rotated`` audit entry. A key
    that ``new_kek`` already opens is skipped, so an interrupted run can be repeated to
    completion. Raises InvalidInput, having re-wrapped nothing of that batch, if a key opens
    under neither KEK (the wrong old KEK, or a damaged row), and if the two KEKs are equal.
    """
    if old_kek == new_kek:
        raise InvalidInput("the new key-encryption key is the old one")
    rewrapped: dict[str, int] = {}
    skipped: dict[str, int] = {}
    for column in columns:
        rewrapped[column.name], skipped[column.name] = await _rotate_column(
            sessionmaker, old_kek, new_kek, column, batch_size
        )
    async with sessionmaker() as session, session.begin():
        rewrapped["broker_keys"], skipped["broker_keys"] = await _rotate_broker_keys(
            session, old_kek, new_kek
        )
        await AuditLog(session, now).append(
            AuditEvent.KEK_ROTATED, actor, {"rewrapped": rewrapped, "already_rewrapped": skipped}
        )
    return RotationReport(rewrapped, skipped)


async def _rotate_column(
    sessionmaker: async_sessionmaker[AsyncSession],
    old_kek: bytes,
    new_kek: bytes,
    column: WrappedColumn,
    batch_size: int,
) -> tuple[int, int]:
    rewrapped = skipped = 0
    after = ""
    ids, keys = column.table.c[column.id_name], column.table.c[column.key_name]
    statement = (
        update(column.table).where(ids == bindparam("row_id")).values({keys: bindparam("new_key")})
    )
    while True:
        async with sessionmaker() as session, session.begin():
            rows = (
                await session.execute(
                    select(ids, keys)
                    .where(keys.is_not(None), ids > after)
                    .order_by(ids)
                    .limit(batch_size)
                )
            ).all()
            if not rows:
                return rewrapped, skipped
            changes = []
            for row_id, wrapped in rows:
                try:
                    new = column.rewrap(old_kek, new_kek, row_id, wrapped)
                except VerificationError:
                    raise InvalidInput(
                        f"{column.name} {row_id} opens under neither key-encryption key"
                    ) from None
                if new is None:
                    skipped += 1
                else:
                    changes.append({"row_id": row_id, "new_key": new})
            if changes:
                await (await session.connection()).execute(statement, changes)
            rewrapped += len(changes)
            after = rows[-1][0]


async def _rotate_broker_keys(
    session: AsyncSession, old_kek: bytes, new_kek: bytes
) -> tuple[int, int]:
    rewrapped = skipped = 0
    for row in (await session.scalars(select(BrokerKey).order_by(BrokerKey.purpose))).all():
        try:
            unwrap_broker_key(new_kek, row.purpose, row.kid, row.wrapped_private)
            skipped += 1
            continue
        except VerificationError:
            pass
        try:
            private = unwrap_broker_key(old_kek, row.purpose, row.kid, row.wrapped_private)
        except VerificationError:
            raise InvalidInput(
                f"broker key {row.purpose!r} opens under neither key-encryption key"
            ) from None
        row.wrapped_private = wrap_broker_key(new_kek, row.purpose, row.kid, private)
        rewrapped += 1
    await session.flush()
    return rewrapped, skipped
