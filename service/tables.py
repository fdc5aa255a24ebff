"""Every mapped table, imported in one place so that Alembic and tests see the full metadata."""

from service.alerts.models import (
    Alert,
    AlertDecision,
    Disposition,
    FeedItem,
    HeightenedReview,
    ProtectedSubject,
    ReviewCase,
)
from service.audit.models import AuditCheckpoint, AuditEntry, AuditNode, PendingEntry
from service.auth.models import SeenNonce
from service.broker.models import BrokerKey
from service.db.base import Base
from service.registry.models import Principal, PrincipalKey

__all__ = [
    "Alert",
    "AlertDecision",
    "AuditCheckpoint",
    "AuditEntry",
    "AuditNode",
    "Base",
    "BrokerKey",
    "Disposition",
    "FeedItem",
    "HeightenedReview",
    "PendingEntry",
    "Principal",
    "PrincipalKey",
    "ProtectedSubject",
    "ReviewCase",
    "SeenNonce",
]
