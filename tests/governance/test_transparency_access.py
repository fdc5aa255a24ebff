"""Who reads what in the transparency report (issue 11, finding 2): an agency sees the figures
and its own alerts' ids only; ``to`` cannot reach into the future; every query is audited."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI

from service.protocol.clock import ManualClock
from tests.alerts.conftest import Member, MemberFactory
from tests.conftest import settle

RED_TO_DE = {"tlp": "red", "audience": {"agencies": ["de-bka"], "groups": [], "all": False}}


@pytest.fixture
async def network(member: MemberFactory) -> dict[str, Member]:
    return {
        "fr": await member("fr-police", groups=("eu",), country="FR"),
        "de": await member("de-bka", groups=("eu",), country="DE"),
        "it": await member("it-polizia", groups=("eu",), country="IT"),
        "ccf": await member("ccf-review", roles=("reviewer",), country="ZZ"),
        "auditor": await member("eu-audit", roles=("auditor",), country="ZZ"),
    }


async def report(who: Member, clock: ManualClock, days_ahead: int = 1) -> dict[str, Any]:
    start = clock.now() - timedelta(days=60)
    end = clock.now() + timedelta(days=days_ahead)
    response = await who.party.client.request(
        "GET", "/v1/transparency", params={"from": start.isoformat(), "to": end.isoformat()}
    )
    return dict(response.json())


async def overdue_red_alert(network: dict[str, Member], clock: ManualClock, app: FastAPI) -> str:
    fr = network["fr"]
    alert_id = str((await fr.post(**RED_TO_DE))["alert_id"])
    await fr.alerts.withdraw(alert_id, "case closed")
    clock.advance(timedelta(days=30, seconds=1))
    await settle(app)
    return alert_id


async def test_an_agency_never_reads_other_alerts_ids_or_recipients(
    network: dict[str, Member], clock: ManualClock, app: FastAPI
) -> None:
    alert_id = await overdue_red_alert(network, clock, app)
    seen_by_it = await report(network["it"], clock)
    # the figures are the same for everyone; the ids and recipients are not
    assert seen_by_it["outcomes"]["purge_overdue"] == 1
    assert seen_by_it["purge_overdue"] == []
    assert alert_id not in json.dumps(seen_by_it) and "de-bka" not in json.dumps(seen_by_it)
    # the recipient of the alert does not learn the originator's other recipients either
    assert (await report(network["de"], clock))["purge_overdue"] == []


async def test_originator_reviewer_and_auditor_see_the_overdue_purge(
    network: dict[str, Member], clock: ManualClock, app: FastAPI
) -> None:
    alert_id = await overdue_red_alert(network, clock, app)
    for who in ("fr", "ccf", "auditor"):
        listed = (await report(network[who], clock))["purge_overdue"]
        assert [(o["alert_id"], o["partner"]) for o in listed] == [(alert_id, "de-bka")], who


async def test_a_future_to_lists_no_pending_purge_as_overdue(
    network: dict[str, Member], clock: ManualClock, app: FastAPI
) -> None:
    fr = network["fr"]
    alert_id = (await fr.post(**RED_TO_DE))["alert_id"]
    await fr.alerts.withdraw(alert_id, "case closed")
    await settle(app)
    # the purge deadline is 30 days ahead; asking for a report to 60 days ahead must not
    # call it overdue
    seen = await report(network["auditor"], clock, days_ahead=60)
    assert seen["purge_overdue"] == [] and seen["outcomes"]["purge_overdue"] == 0
    assert seen["to"] <= (clock.now() + timedelta(seconds=1)).isoformat()


async def test_a_report_query_is_an_audit_query_entry(
    network: dict[str, Member], clock: ManualClock, app: FastAPI
) -> None:
    await report(network["it"], clock)
    await settle(app)
    found = await network["auditor"].party.client.audit_search(event="audit.query")
    queries = [e for e in found["entries"] if e.get("query") == "transparency"]
    assert [q["actor"] for q in queries] == ["it-polizia"]
    assert set(queries[0]["params"]) == {"start", "end"}
