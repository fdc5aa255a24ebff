"""Review cases: how one is opened by a challenge and how it is shown."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from service.alerts.cases import CaseRepository
from service.alerts.models import Alert, ReviewCase
from service.audit.sink import AuditSink
from service.protocol.clock import rfc3339


def case_view(case: ReviewCase) -> dict[str, Any]:
    return {
        "case": case.id,
        "alert_id": case.alert_id,
        "kind": case.kind,
        "status": case.status,
        "reason": case.reason,
        "opened_by": case.opened_by,
        "opened_at": rfc3339(case.opened_at),
        "decided_by": case.decided_by,
        "decided_at": rfc3339(case.decided_at) if case.decided_at else None,
        "decision_reason": case.decision_reason,
    }


async def open_challenge(
    repository: CaseRepository,
    audit: AuditSink,
    alert: Alert,
    partner: str,
    reason: str,
    now: datetime,
) -> ReviewCase:
    """A recipient's ``challenged`` disposition opens a review case (or joins the open one)."""
    case = await repository.open_case(alert.id, "challenge")
    if case is None:
        case = ReviewCase(
            alert_id=alert.id,
            kind="challenge",
            status="open",
            reason=f"{partner}: {reason}",
            opened_by=partner,
            opened_at=now,
        )
        await repository.add(case)
    await audit.append(
        "review.opened",
        partner,
        {"alert_id": alert.id, "kind": "challenge", "case": case.id, "reason": reason},
    )
    return case
