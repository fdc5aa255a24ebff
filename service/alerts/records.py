"""What acting on an alert returns: domain values the endpoints shape (``schemas``)."""

from __future__ import annotations

from dataclasses import dataclass

from service.alerts.models import Alert, AlertDecision, ReviewCase
from service.alerts.models import Disposition as DispositionRow
from service.alerts.purge import PurgeStatus
from service.protocol.vocabulary import AlertStatus


@dataclass(frozen=True)
class AlertRecord:
    """What one actor may know of an alert.

    ``full`` (the originator, reviewers and auditors): every decision and disposition, the
    purge status and the review cases. Otherwise (a recipient): its own decision and
    dispositions only, and ``purge`` None and ``reviews`` empty.
    """

    alert: Alert
    full: bool
    decisions: tuple[AlertDecision, ...]
    dispositions: tuple[DispositionRow, ...]
    purge: PurgeStatus | None = None
    reviews: tuple[ReviewCase, ...] = ()


@dataclass(frozen=True)
class Ending:
    """An alert withdrawn or cancelled, and the recipients queued a withdrawal item."""

    alert_id: str
    status: AlertStatus
    recipients: tuple[str, ...]
