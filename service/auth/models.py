"""The replay cache: every (keyid, nonce) accepted, kept in the database so that it holds
across restarts and replicas."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, UTCDateTime


class SeenNonce(Base):
    __tablename__ = "seen_nonces"
    __table_args__ = (Index("ix_seen_nonces_seen_at", "seen_at"),)

    keyid: Mapped[str] = mapped_column(String(128), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(128), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
