"""Tables of the audit log. ``audit_entries``, ``audit_nodes`` and ``audit_checkpoints`` are
append-only: database triggers made by the migrations refuse UPDATE and DELETE on them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, UTCDateTime

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants a BIGINT identity.
_BigId = BigInteger().with_variant(Integer(), "sqlite")


class PendingEntry(Base):
    """An entry enqueued by a committed transaction, waiting for the integrator to index it."""

    __tablename__ = "audit_pending"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    enqueued_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """One leaf. ``leaf`` holds the exact bytes that are hashed; the other columns are indexes
    over it for search and are never trusted over ``leaf``."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_alert_id", "alert_id"),
        Index("ix_audit_entries_partner", "partner"),
        Index("ix_audit_entries_actor", "actor"),
        Index("ix_audit_entries_event", "event"),
        Index("ix_audit_entries_time", "time"),
    )

    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    leaf: Mapped[bytes] = mapped_column(LargeBinary)
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    event: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(63))
    alert_id: Mapped[str | None] = mapped_column(String(64))
    partner: Mapped[str | None] = mapped_column(String(63))
    principal: Mapped[str | None] = mapped_column(String(63))


class AuditNode(Base):
    """The hash of a complete, aligned subtree: leaves [index·2^level, (index+1)·2^level)."""

    __tablename__ = "audit_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class AuditCheckpoint(Base):
    """A signed checkpoint, one per integration batch; kept so that old sizes stay provable."""

    __tablename__ = "audit_checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
