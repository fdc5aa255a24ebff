"""Response schemas of the alert exchange's endpoints (and the review case, which
governance's endpoints show too)."""

from __future__ import annotations

from pydantic import BaseModel

from service.alerts.models import ReviewCase
from service.protocol.clock import rfc3339


class ReviewCaseOut(BaseModel):
    case: int
    alert_id: str
    kind: str
    status: str
    reason: str
    opened_by: str
    opened_at: str
    decided_by: str | None
    decided_at: str | None
    decision_reason: str | None

    @classmethod
    def of(cls, case: ReviewCase) -> ReviewCaseOut:
        return cls(
            case=case.id,
            alert_id=case.alert_id,
            kind=case.kind,
            status=case.status,
            reason=case.reason,
            opened_by=case.opened_by,
            opened_at=rfc3339(case.opened_at),
            decided_by=case.decided_by,
            decided_at=rfc3339(case.decided_at) if case.decided_at else None,
            decision_reason=case.decision_reason,
        )
