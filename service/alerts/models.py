"""Tables of the alert exchange. Alert content is stored only sealed (AES-256-GCM with a
per-alert data key wrapped by the KEK); the open columns hold clear, policy-relevant claims."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, UTCDateTime

_BigId = BigInteger().with_variant(Integer(), "sqlite")


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_originator", "originator"),
        Index("ix_alerts_status_expires_at", "status", "expires_at"),
        Index("ix_alerts_status_status_changed_at", "status", "status_changed_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    originator: Mapped[str] = mapped_column(ForeignKey("principals.id"))
    kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    tlp: Mapped[str] = mapped_column(String(16))
    handling: Mapped[list[str]] = mapped_column(JSON)
    audience: Mapped[dict[str, Any]] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(String(500))
    legal_basis: Mapped[str] = mapped_column(String(500))
    supersedes: Mapped[str | None] = mapped_column(String(36))
    claims: Mapped[list[str]] = mapped_column(JSON)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str | None] = mapped_column(String(500))
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    policy_version: Mapped[str] = mapped_column(String(64))
    body_sha256: Mapped[str] = mapped_column(String(64))
    sealed_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Set when the alert is withdrawn or cancelled: recipients must confirm purging by then.
    purge_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Screening markers declared in the clear (see AlertFacts); None on alerts without any.
    character: Mapped[list[str] | None] = mapped_column(JSON)
    subject_status: Mapped[list[str] | None] = mapped_column(JSON)


class AlertDecision(Base):
    """The gateway's decision for one partner, made once at fan-out."""

    __tablename__ = "alert_decisions"
    __table_args__ = (Index("ix_alert_decisions_partner", "partner"),)

    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id"), primary_key=True)
    partner: Mapped[str] = mapped_column(ForeignKey("principals.id"), primary_key=True)
    receive: Mapped[bool] = mapped_column(Boolean)
    redacted: Mapped[list[str]] = mapped_column(JSON)
    policies: Mapped[list[str]] = mapped_column(JSON)
    policy_version: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FeedItem(Base):
    """One item in one partner's feed; ``cursor`` is global, so feeds are ordered by it."""

    __tablename__ = "feed_items"
    __table_args__ = (Index("ix_feed_items_partner_cursor", "partner", "cursor"),)

    cursor: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    partner: Mapped[str] = mapped_column(ForeignKey("principals.id"))
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id"))
    type: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Disposition(Base):
    __tablename__ = "dispositions"
    __table_args__ = (Index("ix_dispositions_alert_id", "alert_id"),)

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id"))
    partner: Mapped[str] = mapped_column(ForeignKey("principals.id"))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(1000))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


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


class ProtectedSubject(Base):
    """A protected person (a recognised refugee, the subject of an alert cancelled on
    neutrality grounds), known only by a keyed digest of their identity
    (``service/alerts/protected.py``): no column holds a name, a birth date or a nationality."""

    __tablename__ = "protected_subjects"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    reason: Mapped[str] = mapped_column(String(1000))
    registered_by: Mapped[str] = mapped_column(String(63))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source_alert_id: Mapped[str | None] = mapped_column(ForeignKey("alerts.id"))
