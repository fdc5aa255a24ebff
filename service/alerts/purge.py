"""Confirmed purge: after a withdrawal or cancellation every recipient must answer ``purged``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from service.alerts.models import Alert, Disposition
from service.protocol.clock import rfc3339


def purge_status(
    alert: Alert, recipients: Sequence[str], dispositions: Sequence[Disposition], now: datetime
) -> dict[str, Any] | None:
    """Who has confirmed the purge and who has not, by the alert's deadline; None if no purge
    is due (the alert was never withdrawn or cancelled)."""
    if alert.purge_deadline is None or alert.status_changed_at is None:
        return None
    since = alert.status_changed_at
    confirmed = sorted({d.partner for d in dispositions if d.status == "purged" and d.at >= since})
    outstanding = sorted(set(recipients) - set(confirmed))
    return {
        "deadline": rfc3339(alert.purge_deadline),
        "confirmed": confirmed,
        "outstanding": outstanding,
        "overdue": outstanding if now > alert.purge_deadline else [],
    }
