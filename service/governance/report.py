"""The transparency report, computed from audit entries alone so anyone holding the log can
recompute it: the kind of yearly figures INTERPOL publishes about its notices."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from service.api.principal import AuthenticatedPrincipal
from service.audit.repository import AuditRepository
from service.audit.service import AuditService
from service.protocol.errors import InvalidInput
from service.protocol.vocabulary import AuditEvent, CaseKind, Disposition, Role, Verdict

READ_BATCH = 5000
# Roles that see the whole report; anyone else sees the figures and its own alerts' ids only.
FULL_VIEW = (Role.REVIEWER, Role.AUDITOR)
# A report's end never lies in the future: ``to`` is capped just past the request time, so
# events recorded at that instant count and no pending purge deadline counts as overdue.
TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class OverduePurge:
    """A recipient that had not confirmed the purge of ``alert_id`` by ``deadline``."""

    alert_id: str
    partner: str
    deadline: datetime
    originator: str = ""


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
    repository: AuditRepository,
    audit: AuditService,
    viewer: AuthenticatedPrincipal,
    start: datetime,
    end: datetime,
    now: datetime,
) -> TransparencyReport:
    """The report over the whole log up to its latest checkpoint, for ``start <= time < end``,
    with ``end`` capped just past ``now``; the query is recorded as an ``audit.query`` entry.

    Reviewers and auditors see the whole report; any other principal sees the figures and,
    among the overdue purges, only those of alerts it originated (``visible_to``).
    Raises InvalidInput unless both times carry a UTC offset and ``start < end`` after the cap.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("from and to must be RFC 3339 times with a UTC offset")
    end = min(end, now + TICK)
    if end <= start:
        raise InvalidInput("need from < to, and from not after the present")
    await audit.record_query(viewer, "transparency", start=start, end=end)
    latest = await repository.latest_checkpoint()
    size = latest.size if latest is not None else 0
    entries: list[dict[str, Any]] = []
    for first in range(0, size, READ_BATCH):
        batch = await repository.entries(first, min(size, first + READ_BATCH))
        entries += [json.loads(e.leaf) for e in batch]
    report = transparency_report(entries, start, end)
    report = replace(report, log_size=size, checkpoint=latest.note if latest is not None else "")
    return visible_to(report, viewer)


def visible_to(report: TransparencyReport, viewer: AuthenticatedPrincipal) -> TransparencyReport:
    """``report`` as ``viewer`` may read it: whole for reviewers and auditors; otherwise the
    overdue purges of other originators' alerts are left out (their ids and recipients are
    not the viewer's to know; the counts, which name no alert, stay)."""
    if viewer.roles.intersection(FULL_VIEW):
        return report
    own = [o for o in report.purge_overdue if o.originator == viewer.id]
    return replace(report, purge_overdue=own)


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
    originator_of: dict[str, str] = {}
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
            originator_of[alert_id] = str(entry.get("actor", ""))
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
            originator = originator_of.get(alert_id, "")
            overdue += [OverduePurge(alert_id, p, deadline, originator) for p in missing]
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
