"""The broker's own keys, private halves wrapped by the key-encryption key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, UTCDateTime


class BrokerKey(Base):
    __tablename__ = "broker_keys"

    purpose: Mapped[str] = mapped_column(String(32), primary_key=True)
    kid: Mapped[str] = mapped_column(String(128), unique=True)
    public_jwk: Mapped[dict[str, str]] = mapped_column(JSON)
    wrapped_private: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
