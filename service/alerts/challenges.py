"""Review cases: how one is opened by a challenge and how it is shown."""

from __future__ import annotations

from datetime import datetime

from service.alerts.cases import CaseRepository
from service.alerts.models import Alert, ReviewCase
from service.audit.sink import AuditSink
from service.protocol.vocabulary import AuditEvent, CaseKind, CaseStatus


async def open_challenge(
    repository: CaseRepository,
    audit: AuditSink,
    alert: Alert,
    partner: str,
    reason: str,
    now: datetime,
) -> ReviewCase:
    """A recipient's ``challenged`` disposition opens a review case (or joins the open one)."""
    case = await repository.open_case(alert.id, CaseKind.CHALLENGE)
    if case is None:
        case = ReviewCase(
            alert_id=alert.id,
            kind=CaseKind.CHALLENGE,
            status=CaseStatus.OPEN,
            reason=f"{partner}: {reason}",
            opened_by=partner,
            opened_at=now,
        )
        await repository.add(case)
    await audit.append(
        AuditEvent.REVIEW_OPENED,
        partner,
        {"alert_id": alert.id, "kind": CaseKind.CHALLENGE, "case": case.id, "reason": reason},
    )
    return case
