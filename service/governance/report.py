"""The transparency report, computed from audit entries alone so anyone holding the log can
recompute it: the kind of yearly figures INTERPOL publishes about its notices."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from service.audit.repository import AuditRepository
from service.protocol.errors import InvalidInput
from service.protocol.vocabulary import AuditEvent, CaseKind, Disposition, Verdict

READ_BATCH = 5000


@dataclass(frozen=True)
class OverduePurge:
    """A recipient that had not confirmed the purge of ``alert_id`` by ``deadline``."""

    alert_id: str
    partner: str
    deadline: datetime


@dataclass(frozen=True)
class TransparencyReport:
    """Counts for events with ``start <= time < end``; each count table is sorted by key.

    ``log_size`` and ``checkpoint`` say which log the figures were computed from (0 and ""
    from an entry list that was not read from a checkpointed log).
    """

    start: datetime
    end: datetime
    outcomes: dict[str, int]
    by_kind: dict[str, dict[str, int]]
    by_category: dict[str, dict[str, int]]
    held_by_policy: dict[str, int]
    rejected_by_policy: dict[str, int]
    purge_overdue: list[OverduePurge]
    log_size: int = 0
    checkpoint: str = ""


async def read_transparency_report(
    repository: AuditRepository, start: datetime, end: datetime
) -> TransparencyReport:
    """The report over the whole log up to its latest checkpoint, for ``start <= time < end``.

    Raises InvalidInput unless both times carry a UTC offset and ``start < end``.
    """
    if start.tzinfo is None or end.tzinfo is None or end <= start:
        raise InvalidInput("from and to must be RFC 3339 times with from < to")
    latest = await repository.latest_checkpoint()
    size = latest.size if latest is not None else 0
    entries: list[dict[str, Any]] = []
    for first in range(0, size, READ_BATCH):
        batch = await repository.entries(first, min(size, first + READ_BATCH))
        entries += [json.loads(e.leaf) for e in batch]
    report = transparency_report(entries, start, end)
    return replace(report, log_size=size, checkpoint=latest.note if latest is not None else "")


def _at(entry: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(entry["time"]).replace("Z", "+00:00"))


def transparency_report(
    entries: Iterable[dict[str, Any]], start: datetime, end: datetime
) -> TransparencyReport:
    """Counts of alerts by outcome, overall and by kind and category, for events with
    ``start <= time < end``.

    Outcomes: submitted, held (and by the policy that held), approved, rejected (by the
    policy that held them), withdrawn, cancelled, challenged, declined, and purge overdue
    (recipients that had not confirmed a purge by a deadline that fell before ``end``).
    ``entries`` must be the whole log from its start (an alert's kind and category are
    learnt from its ``alert.submitted`` entry, purges from later dispositions).
    """
    kind_of: dict[str, tuple[str, str]] = {}
    held_by: dict[str, list[str]] = {}
    outcomes: Counter[str] = Counter()
    by_kind: dict[str, Counter[str]] = defaultdict(Counter)
    by_category: dict[str, Counter[str]] = defaultdict(Counter)
    held_policies: Counter[str] = Counter()
    rejected_policies: Counter[str] = Counter()
    deadlines: dict[str, tuple[datetime, set[str], datetime]] = {}
    purged: dict[str, set[str]] = defaultdict(set)

    def count(outcome: str, alert_id: str) -> None:
        outcomes[outcome] += 1
        kind, category = kind_of.get(alert_id, ("unknown", "unknown"))
        by_kind[kind][outcome] += 1
        by_category[category][outcome] += 1

    for entry in entries:
        event, alert_id = entry.get("event"), str(entry.get("alert_id", ""))
        moment = _at(entry)
        if event == AuditEvent.ALERT_SUBMITTED:
            kind_of[alert_id] = (entry["kind"], entry["category"])
        if (
            event in {AuditEvent.ALERT_WITHDRAWN, AuditEvent.ALERT_CANCELLED}
            and "purge_deadline" in entry
        ):
            deadline = datetime.fromisoformat(entry["purge_deadline"].replace("Z", "+00:00"))
            deadlines[alert_id] = (deadline, set(entry.get("recipients", [])), moment)
        # Only a confirmation between the withdrawal and the deadline meets the duty.
        window = deadlines.get(alert_id)
        if (
            event == AuditEvent.ALERT_DISPOSITION
            and entry.get("status") == Disposition.PURGED
            and window is not None
            and window[2] <= moment <= window[0]
        ):
            purged[alert_id].add(entry["partner"])
        if event == AuditEvent.ALERT_HELD:
            held_by[alert_id] = list(entry.get("policies", []))
        if not start <= moment < end:
            continue
        if event == AuditEvent.ALERT_SUBMITTED:
            count("submitted", alert_id)
        elif event == AuditEvent.ALERT_HELD:
            count("held", alert_id)
            held_policies.update(entry.get("policies", []) or ["(no permit)"])
        elif event == AuditEvent.REVIEW_DECISION and entry.get("kind") == CaseKind.SCREENING:
            verdict = "approved" if entry["decision"] == Verdict.APPROVE else "rejected"
            count(verdict, alert_id)
            if verdict == "rejected":
                rejected_policies.update(held_by.get(alert_id, []) or ["(no permit)"])
        elif event == AuditEvent.ALERT_WITHDRAWN:
            count("withdrawn", alert_id)
        elif event == AuditEvent.ALERT_CANCELLED:
            count("cancelled", alert_id)
        elif event == AuditEvent.ALERT_DISPOSITION and entry.get("status") in {
            Disposition.CHALLENGED,
            Disposition.DECLINED,
        }:
            count(str(entry["status"]), alert_id)
    overdue: list[OverduePurge] = []
    for alert_id, (deadline, recipients, _) in sorted(deadlines.items()):
        if start <= deadline < end:
            missing = sorted(recipients - purged[alert_id])
            overdue += [OverduePurge(alert_id, p, deadline) for p in missing]
            if missing:
                kind, category = kind_of.get(alert_id, ("unknown", "unknown"))
                by_kind[kind]["purge_overdue"] += len(missing)
                by_category[category]["purge_overdue"] += len(missing)
    outcomes["purge_overdue"] = len(overdue)
    return TransparencyReport(
        start=start,
        end=end,
        outcomes=dict(sorted(outcomes.items())),
        by_kind={k: dict(sorted(v.items())) for k, v in sorted(by_kind.items())},
        by_category={k: dict(sorted(v.items())) for k, v in sorted(by_category.items())},
        held_by_policy=dict(sorted(held_policies.items())),
        rejected_by_policy=dict(sorted(rejected_policies.items())),
        purge_overdue=overdue,
    )
