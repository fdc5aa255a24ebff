"""Escalation: an originator whose alerts reviewers keep rejecting or cancelling is put under
heightened review by the broker itself, without waiting for a reviewer to notice."""

from __future__ import annotations

from datetime import datetime, timedelta

from service.alerts.cases import CaseRepository
from service.alerts.models import HeightenedReview
from service.api.principal import BROKER_ID
from service.audit.sink import AuditSink
from service.protocol.vocabulary import AuditEvent


async def escalate_if_due(
    cases: CaseRepository,
    audit: AuditSink,
    originator: str,
    now: datetime,
    threshold: int,
    window: timedelta,
) -> HeightenedReview | None:
    """Put ``originator`` under heightened review if ``threshold`` or more of its alerts were
    rejected or cancelled by reviewers within ``window`` before ``now``.

    Call it after a reject or cancel decision is recorded (in the same transaction, so the
    decision just made counts). Returns the new heightened review, or None when none is due
    or the originator is under heightened review already (nothing is written then). Appends
    ``review.heightened`` with actor ``broker`` and the reason. Flushes, never commits.
    """
    if await cases.heightened(originator) is not None:
        return None
    count = await cases.ended_by_review_since(originator, now - window)
    if count < threshold:
        return None
    reason = (
        f"{count} alerts rejected or cancelled by reviewers within {window.days} days "
        f"(threshold {threshold})"
    )
    row = HeightenedReview(principal_id=originator, reason=reason, set_by=BROKER_ID, since=now)
    await cases.add(row)
    await audit.append(
        AuditEvent.REVIEW_HEIGHTENED,
        BROKER_ID,
        {"principal": originator, "active": True, "reason": reason},
    )
    return row
