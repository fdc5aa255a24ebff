"""Tables of the registry: principals (agencies, reviewers, auditors, admins) and their keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db.base import Base, UTCDateTime


class Principal(Base):
    __tablename__ = "principals"

    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    groups: Mapped[list[str]] = mapped_column(JSON)
    roles: Mapped[list[str]] = mapped_column(JSON)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    keys: Mapped[list[PrincipalKey]] = relationship(
        back_populates="principal", lazy="raise", order_by="PrincipalKey.created_at"
    )


class PrincipalKey(Base):
    """A public key of a principal. ``use`` is ``sig`` (Ed25519) or ``enc`` (X25519)."""

    __tablename__ = "principal_keys"
    __table_args__ = (Index("ix_principal_keys_principal_id", "principal_id"),)

    kid: Mapped[str] = mapped_column(String(128), primary_key=True)
    principal_id: Mapped[str] = mapped_column(ForeignKey("principals.id"))
    use: Mapped[str] = mapped_column(String(3))
    public_jwk: Mapped[dict[str, str]] = mapped_column(JSON)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    not_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    principal: Mapped[Principal] = relationship(back_populates="keys", lazy="raise")

    def is_valid_at(self, moment: datetime) -> bool:
        """True when the key is inside its window and not revoked at ``moment``."""
        return self.window_contains(self.not_before, self.not_after, self.revoked_at, moment)

    @staticmethod
    def window_contains(
        not_before: datetime,
        not_after: datetime | None,
        revoked_at: datetime | None,
        moment: datetime,
    ) -> bool:
        """The validity rule of ``is_valid_at``, for key columns read without an object."""
        if revoked_at is not None and revoked_at <= moment:
            return False
        if moment < not_before:
            return False
        return not_after is None or moment < not_after
