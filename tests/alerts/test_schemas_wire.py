"""The JSON the alert endpoints answer with: exactly these keys, in these formats (the typed
response schemas of service.alerts.schemas must not change the wire)."""

from __future__ import annotations

import re

from tests.alerts.conftest import MemberFactory

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
ALERT_KEYS = {
    "alert_id",
    "originator",
    "kind",
    "category",
    "tlp",
    "status",
    "status_reason",
    "received_at",
    "expires_at",
    "policy_version",
    "decisions",
    "dispositions",
}


async def test_submission_feed_view_disposition_and_withdrawal_shapes(
    member: MemberFactory,
) -> None:
    fr = await member("fr-police", groups=("eu",), country="FR")
    de = await member("de-bka", groups=("eu",), country="DE")

    posted = await fr.post()
    assert set(posted) == {"alert_id", "status", "received_at"}
    assert posted["status"] == "published"
    assert RFC3339.match(posted["received_at"])
    alert_id = posted["alert_id"]

    page = await de.alerts.feed()
    assert set(page) == {"items", "next", "checkpoint"}
    assert isinstance(page["next"], str) and page["next"].isdigit()
    assert isinstance(page["checkpoint"], str)
    [item] = page["items"]
    assert set(item) == {"cursor", "type", "alert_id", "envelope"}
    assert (item["type"], item["alert_id"]) == ("alert", alert_id)
    assert item["cursor"] == page["next"]

    # A recipient sees its own part only: no purge, no reviews.
    seen = await de.alerts.show(alert_id)
    assert set(seen) == ALERT_KEYS
    assert seen["status_reason"] is None
    assert [set(d) for d in seen["decisions"]] == [{"partner", "decision", "redacted", "policies"}]

    disposed = await de.alerts.dispose(alert_id, "acting", "on it")
    assert set(disposed) == {"partner", "status", "reason", "at"}
    assert (disposed["partner"], disposed["status"]) == ("de-bka", "acting")
    assert RFC3339.match(disposed["at"])

    # The originator's view has both, purge present as null before any withdrawal.
    full = await fr.alerts.show(alert_id)
    assert set(full) == ALERT_KEYS | {"purge", "reviews"}
    assert full["purge"] is None and full["reviews"] == []
    assert full["dispositions"] == [disposed]

    withdrawn = await fr.alerts.withdraw(alert_id, "case closed")
    assert withdrawn == {"alert_id": alert_id, "status": "withdrawn", "recipients": ["de-bka"]}
    full = await fr.alerts.show(alert_id)
    assert full["status_reason"] == "case closed"
    purge = full["purge"]
    assert set(purge) == {"deadline", "confirmed", "outstanding", "overdue"}
    assert RFC3339.match(purge["deadline"])
    assert (purge["confirmed"], purge["outstanding"], purge["overdue"]) == ([], ["de-bka"], [])


async def test_a_challenge_shows_as_a_review_case(member: MemberFactory) -> None:
    fr = await member("fr-police", groups=("eu",), country="FR")
    de = await member("de-bka", groups=("eu",), country="DE")
    alert_id = (await fr.post())["alert_id"]

    await de.alerts.dispose(alert_id, "challenged", "wrong subject")
    [case] = (await fr.alerts.show(alert_id))["reviews"]
    assert {k: case[k] for k in ("alert_id", "kind", "status", "opened_by")} == {
        "alert_id": alert_id,
        "kind": "challenge",
        "status": "open",
        "opened_by": "de-bka",
    }
    assert isinstance(case["case"], int)
    assert RFC3339.match(case["opened_at"])
    assert case["decided_by"] is None and case["decided_at"] is None
    assert case["decision_reason"] is None
