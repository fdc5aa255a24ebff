"""Tables of governance: review cases and the heightened-review list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, UTCDateTime

_BigId = BigInteger().with_variant(Integer(), "sqlite")


class ReviewCase(Base):
    """A held alert awaiting release (``screening``) or a recipient's ``challenge``."""

    __tablename__ = "review_cases"
    __table_args__ = (
        Index("ix_review_cases_alert_id", "alert_id"),
        Index("ix_review_cases_status", "status"),
    )

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(1000))
    opened_by: Mapped[str] = mapped_column(String(63))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(63))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(String(1000))


class HeightenedReview(Base):
    """An originator whose every alert is held for review until a reviewer lifts it."""

    __tablename__ = "heightened_reviews"

    principal_id: Mapped[str] = mapped_column(ForeignKey("principals.id"), primary_key=True)
    reason: Mapped[str] = mapped_column(String(1000))
    set_by: Mapped[str] = mapped_column(String(63))
    since: Mapped[datetime] = mapped_column(UTCDateTime)
