"""The closed vocabularies of Liaison's wire formats, each an enum owned here.

Every value below appears on the wire (responses, feed items, audit leaves), so the server
and the SDK share this one definition (docs/protocol.md lists them).
"""

from __future__ import annotations

from enum import StrEnum


class AlertStatus(StrEnum):
    """Where an alert is in its lifecycle (``service.alerts`` moves it)."""

    PUBLISHED = "published"
    PENDING_REVIEW = "pending_review"
    WITHDRAWN = "withdrawn"
    SUPERSEDED = "superseded"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    SHREDDED = "shredded"


#: Statuses after which an alert is no longer in force.
ENDED_STATUSES: frozenset[AlertStatus] = frozenset(
    {
        AlertStatus.EXPIRED,
        AlertStatus.WITHDRAWN,
        AlertStatus.SUPERSEDED,
        AlertStatus.CANCELLED,
        AlertStatus.REJECTED,
    }
)


class Role(StrEnum):
    """What a registered principal may do."""

    AGENCY = "agency"
    REVIEWER = "reviewer"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Disposition(StrEnum):
    """A recipient's answer to an alert: each member decides for itself."""

    RECEIVED = "received"
    ACTING = "acting"
    DECLINED = "declined"
    CHALLENGED = "challenged"
    PURGED = "purged"


class FeedItemType(StrEnum):
    """What a feed item carries: the alert itself, or a signed notice about it."""

    ALERT = "alert"
    WITHDRAWAL = "withdrawal"
    EXPIRY = "expiry"
    REJECTION = "rejection"
    CANCELLATION = "cancellation"


class CaseKind(StrEnum):
    """Why a review case was opened: screening held the alert, or a recipient challenged it."""

    SCREENING = "screening"
    CHALLENGE = "challenge"


class CaseStatus(StrEnum):
    OPEN = "open"
    APPROVED = "approved"
    REJECTED = "rejected"
    UPHELD = "upheld"
    CANCELLED = "cancelled"
    #: Closed without a verdict: the alert was withdrawn or superseded (docs/lifecycle.md).
    WITHDRAWN = "withdrawn"
    #: Closed without a verdict: the alert's content was shredded by retention.
    CLOSED = "closed"


class Verdict(StrEnum):
    """A reviewer's decision: approve or reject a screening case, uphold or cancel a
    challenge."""

    APPROVE = "approve"
    REJECT = "reject"
    UPHOLD = "uphold"
    CANCEL = "cancel"


class CancelGrounds(StrEnum):
    """Why a reviewer cancels a challenged alert, when the reason has consequences:
    ``neutrality`` (a political, military, religious or racial case dressed as another)
    registers the alert's subject as protected, so that the next alert about them is held."""

    NEUTRALITY = "neutrality"


class AuditEvent(StrEnum):
    """The ``event`` of every audit log entry (docs/protocol.md "Audit leaves")."""

    PRINCIPAL_REGISTERED = "principal.registered"
    KEY_ADDED = "key.added"
    KEY_REVOKED = "key.revoked"
    POLICY_LOADED = "policy.loaded"
    ALERT_SUBMITTED = "alert.submitted"
    ALERT_HELD = "alert.held"
    ALERT_DECISION = "alert.decision"
    ALERT_AUDIENCE = "alert.audience"
    ALERT_DISCLOSED = "alert.disclosed"
    ALERT_DISPOSITION = "alert.disposition"
    ALERT_WITHDRAWN = "alert.withdrawn"
    ALERT_EXPIRED = "alert.expired"
    ALERT_CANCELLED = "alert.cancelled"
    ALERT_SHREDDED = "alert.shredded"
    REVIEW_OPENED = "review.opened"
    REVIEW_DECISION = "review.decision"
    REVIEW_CLOSED = "review.closed"
    REVIEW_HEIGHTENED = "review.heightened"
    AUDIT_QUERY = "audit.query"
    PROTECTED_REGISTERED = "protected.registered"
    KEK_ROTATED = "kek.rotated"
