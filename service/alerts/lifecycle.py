"""The alert lifecycle: one table of every (state, action) pair the broker accepts.

Every change of an alert's status goes through ``transition``; a pair the table does not
hold is refused with Conflict and an actor the pair does not name with Forbidden, and in
either case nothing is changed. docs/lifecycle.md is the same table in prose (a test keeps
the two in step).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from service.alerts.cases import CaseRepository
from service.alerts.models import Alert, ReviewCase
from service.audit.sink import AuditSink
from service.protocol.errors import Conflict, Forbidden
from service.protocol.vocabulary import AlertStatus, AuditEvent, CaseStatus


class AlertAction(StrEnum):
    """What may be done to an alert once it has been submitted."""

    APPROVE = "approve"
    REJECT = "reject"
    WITHDRAW = "withdraw"
    CANCEL = "cancel"
    UPHOLD = "uphold"
    EXPIRE = "expire"
    SHRED = "shred"
    SUPERSEDE = "supersede"
    DISPOSITION = "disposition"


class ActorKind(StrEnum):
    """Who acts, as the lifecycle sees it (relative to the alert)."""

    ORIGINATOR = "originator"
    REVIEWER = "reviewer"
    RECIPIENT = "recipient"
    #: The broker itself: expiry and retention passes.
    BROKER = "broker"


@dataclass(frozen=True)
class Rule:
    """Who may perform an action in a state, and the state it leaves the alert in."""

    actors: frozenset[ActorKind]
    result: AlertStatus


S = AlertStatus
A = AlertAction
_REVIEWER = frozenset({ActorKind.REVIEWER})
_OWNERS = frozenset({ActorKind.ORIGINATOR, ActorKind.REVIEWER})
_ORIGINATOR = frozenset({ActorKind.ORIGINATOR})
_RECIPIENT = frozenset({ActorKind.RECIPIENT})
_BROKER = frozenset({ActorKind.BROKER})
#: A recipient answers an alert it received for as long as the alert's row exists: after an
#: ending, ``purged`` is the confirmation the purge duty asks for (service.alerts.purge).
_ANSWERABLE = (S.PUBLISHED, S.WITHDRAWN, S.SUPERSEDED, S.EXPIRED, S.CANCELLED, S.SHREDDED)
#: Ended alerts whose content retention destroys once their period is over.
_SHREDDABLE = (S.WITHDRAWN, S.SUPERSEDED, S.EXPIRED, S.CANCELLED, S.REJECTED)

#: The lifecycle. A pair that is not a key here is refused (Conflict).
TABLE: dict[tuple[AlertStatus, AlertAction], Rule] = {
    (S.PENDING_REVIEW, A.APPROVE): Rule(_REVIEWER, S.PUBLISHED),
    (S.PENDING_REVIEW, A.REJECT): Rule(_REVIEWER, S.REJECTED),
    (S.PENDING_REVIEW, A.WITHDRAW): Rule(_OWNERS, S.WITHDRAWN),
    (S.PENDING_REVIEW, A.SUPERSEDE): Rule(_ORIGINATOR, S.SUPERSEDED),
    (S.PUBLISHED, A.WITHDRAW): Rule(_OWNERS, S.WITHDRAWN),
    (S.PUBLISHED, A.SUPERSEDE): Rule(_ORIGINATOR, S.SUPERSEDED),
    (S.PUBLISHED, A.CANCEL): Rule(_REVIEWER, S.CANCELLED),
    (S.PUBLISHED, A.UPHOLD): Rule(_REVIEWER, S.PUBLISHED),
    (S.PUBLISHED, A.EXPIRE): Rule(_BROKER, S.EXPIRED),
    # Expiry does not settle a challenge: a cancelled alert must still be purged.
    (S.EXPIRED, A.CANCEL): Rule(_REVIEWER, S.CANCELLED),
    (S.EXPIRED, A.UPHOLD): Rule(_REVIEWER, S.EXPIRED),
    **{(state, A.SHRED): Rule(_BROKER, S.SHREDDED) for state in _SHREDDABLE},
    **{(state, A.DISPOSITION): Rule(_RECIPIENT, state) for state in _ANSWERABLE},
}

#: Everyone who may perform each action in some state.
ACTORS: dict[AlertAction, frozenset[ActorKind]] = {
    action: frozenset().union(*(r.actors for (_, a), r in TABLE.items() if a == action))
    for action in AlertAction
}


def rule(state: AlertStatus | str, action: AlertAction) -> Rule | None:
    """The table's rule for ``action`` in ``state``, or None if the pair is refused."""
    return TABLE.get((AlertStatus(state), action))


def allowed(state: AlertStatus | str, action: AlertAction) -> bool:
    """Whether the table holds ``action`` in ``state`` (for anyone)."""
    return rule(state, action) is not None


def check(state: AlertStatus | str, action: AlertAction, actor: ActorKind) -> AlertStatus:
    """The state ``action`` by ``actor`` leads to from ``state``; changes nothing.

    Raises Forbidden when ``actor`` may never perform ``action`` or may not in ``state``,
    Conflict when nobody may perform ``action`` in ``state``.
    """
    if actor not in ACTORS[action]:
        raise Forbidden(f"a {actor} may not {action} an alert")
    found = rule(state, action)
    if found is None:
        raise Conflict(f"an alert that is {AlertStatus(state)} cannot take {action}")
    if actor not in found.actors:
        raise Forbidden(f"a {actor} may not {action} an alert that is {AlertStatus(state)}")
    return found.result


def transition(alert: Alert, action: AlertAction, actor: ActorKind) -> AlertStatus:
    """Move ``alert`` to the state the table gives for ``action`` by ``actor``; returns it.

    The caller holds the alert's row lock (``AlertRepository.get(for_update=True)``) so
    that the state checked is the state changed. Raises Conflict or Forbidden (see
    ``check``) and then leaves the alert untouched; the caller records the reason, the time
    and the consequences (audit, notices, review cases).
    """
    result = check(alert.status, action, actor)
    alert.status = result
    return result


async def close_open_cases(
    cases: CaseRepository,
    audit: AuditSink,
    alert: Alert,
    status: CaseStatus,
    actor: str,
    reason: str,
    now: datetime,
) -> list[ReviewCase]:
    """Close every open review case of an alert that has ended without a verdict on them
    (withdrawn, superseded, shredded): each gets ``status`` and a ``review.closed`` audit
    entry, and leaves the reviewers' pending list. Returns the cases closed."""
    closed = [c for c in await cases.locked_cases_for(alert.id) if c.status == CaseStatus.OPEN]
    for case in closed:
        case.status = status
        case.decided_by, case.decided_at, case.decision_reason = actor, now, reason
        await audit.append(
            AuditEvent.REVIEW_CLOSED,
            actor,
            {
                "alert_id": alert.id,
                "case": case.id,
                "kind": case.kind,
                "status": status,
                "alert_status": alert.status,
                "reason": reason,
            },
        )
    return closed
