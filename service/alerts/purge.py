"""Confirmed purge: after a withdrawal or cancellation every recipient must answer ``purged``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from service.alerts.models import Alert
from service.alerts.models import Disposition as DispositionRow
from service.protocol.vocabulary import Disposition


@dataclass(frozen=True)
class PurgeStatus:
    """Who has confirmed an ended alert's purge, and who has not, by its deadline."""

    deadline: datetime
    #: Recipients that answered ``purged`` since the alert ended, sorted.
    confirmed: tuple[str, ...]
    #: Recipients that have not (yet), sorted.
    outstanding: tuple[str, ...]
    #: ``outstanding`` once the deadline has passed, else empty.
    overdue: tuple[str, ...]


def purge_status(
    alert: Alert, recipients: Sequence[str], dispositions: Sequence[DispositionRow], now: datetime
) -> PurgeStatus | None:
    """Who has confirmed the purge and who has not, by the alert's deadline; None if no purge
    is due (the alert was never withdrawn or cancelled)."""
    if alert.purge_deadline is None or alert.status_changed_at is None:
        return None
    since = alert.status_changed_at
    confirmed = sorted(
        {d.partner for d in dispositions if d.status == Disposition.PURGED and d.at >= since}
    )
    outstanding = tuple(sorted(set(recipients) - set(confirmed)))
    return PurgeStatus(
        deadline=alert.purge_deadline,
        confirmed=tuple(confirmed),
        outstanding=outstanding,
        overdue=outstanding if now > alert.purge_deadline else (),
    )
