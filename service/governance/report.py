"""The transparency report, computed from audit entries alone so anyone holding the log can
recompute it: the kind of yearly figures INTERPOL publishes about its notices."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any


def _at(entry: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(entry["time"]).replace("Z", "+00:00"))


def transparency_report(
    entries: Iterable[dict[str, Any]], start: datetime, end: datetime
) -> dict[str, Any]:
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
        if event == "alert.submitted":
            kind_of[alert_id] = (entry["kind"], entry["category"])
        if event in {"alert.withdrawn", "alert.cancelled"} and "purge_deadline" in entry:
            deadline = datetime.fromisoformat(entry["purge_deadline"].replace("Z", "+00:00"))
            deadlines[alert_id] = (deadline, set(entry.get("recipients", [])), moment)
        # Only a confirmation between the withdrawal and the deadline meets the duty.
        window = deadlines.get(alert_id)
        if (
            event == "alert.disposition"
            and entry.get("status") == "purged"
            and window is not None
            and window[2] <= moment <= window[0]
        ):
            purged[alert_id].add(entry["partner"])
        if event == "alert.held":
            held_by[alert_id] = list(entry.get("policies", []))
        if not start <= moment < end:
            continue
        if event == "alert.submitted":
            count("submitted", alert_id)
        elif event == "alert.held":
            count("held", alert_id)
            held_policies.update(entry.get("policies", []) or ["(no permit)"])
        elif event == "review.decision" and entry.get("kind") == "screening":
            verdict = "approved" if entry["decision"] == "approve" else "rejected"
            count(verdict, alert_id)
            if verdict == "rejected":
                rejected_policies.update(held_by.get(alert_id, []) or ["(no permit)"])
        elif event == "alert.withdrawn":
            count("withdrawn", alert_id)
        elif event == "alert.cancelled":
            count("cancelled", alert_id)
        elif event == "alert.disposition" and entry.get("status") in {"challenged", "declined"}:
            count(str(entry["status"]), alert_id)
    overdue: list[dict[str, str]] = []
    for alert_id, (deadline, recipients, _) in sorted(deadlines.items()):
        if start <= deadline < end:
            missing = sorted(recipients - purged[alert_id])
            overdue += [
                {"alert_id": alert_id, "partner": p, "deadline": deadline.isoformat()}
                for p in missing
            ]
            if missing:
                kind, category = kind_of.get(alert_id, ("unknown", "unknown"))
                by_kind[kind]["purge_overdue"] += len(missing)
                by_category[category]["purge_overdue"] += len(missing)
    outcomes["purge_overdue"] = len(overdue)
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "outcomes": dict(sorted(outcomes.items())),
        "by_kind": {k: dict(sorted(v.items())) for k, v in sorted(by_kind.items())},
        "by_category": {k: dict(sorted(v.items())) for k, v in sorted(by_category.items())},
        "held_by_policy": dict(sorted(held_policies.items())),
        "rejected_by_policy": dict(sorted(rejected_policies.items())),
        "purge_overdue": overdue,
    }
