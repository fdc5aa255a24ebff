"""Review decisions against the alert lifecycle: withdrawn, shredded and concurrently
decided alerts, and what a superseded alert's recipients are told."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from service.alerts.models import AlertDecision, FeedItem
from service.app import shred_due
from service.client import LiaisonAPIError
from service.protocol.clock import ManualClock
from tests.alerts.conftest import Member, MemberFactory
from tests.conftest import settle, table_snapshot

RED_NOTICE = {
    "kind": "red",
    "category": "corruption",
    "tlp": "clear",
    "audience": {"agencies": [], "groups": [], "all": True},
}


@pytest.fixture
async def network(member: MemberFactory) -> dict[str, Member]:
    return {
        "fr": await member("fr-police", groups=("eu",), country="FR"),
        "de": await member("de-bka", groups=("eu",), country="DE"),
        "it": await member("it-polizia", groups=("eu",), country="IT"),
        "ccf": await member("ccf-review", roles=("reviewer",), country="ZZ"),
        "auditor": await member("eu-audit", roles=("auditor",), country="ZZ"),
    }


async def decision_status(reviewer: Member, alert_id: str, decision: str) -> int:
    body = {"decision": decision, "reason": "r"}
    try:
        await reviewer.party.client.request("POST", f"/v1/reviews/{alert_id}", json=body)
    except LiaisonAPIError as error:
        return error.status
    return 200


async def pending(reviewer: Member) -> list[dict[str, Any]]:
    response = await reviewer.party.client.request("GET", "/v1/reviews")
    return list(response.json()["reviews"])


async def audit_events(app: FastAPI, auditor: Member, alert_id: str, event: str) -> list[Any]:
    await settle(app)
    found = await auditor.party.client.audit_search(alert_id=alert_id, event=event)
    return list(found["entries"])


async def test_a_withdrawn_held_alert_cannot_be_approved(
    network: dict[str, Member], engine: AsyncEngine, app: FastAPI
) -> None:
    """Finding 1: the originator withdraws its held red notice; a later approval is 409."""
    fr, de, ccf, auditor = network["fr"], network["de"], network["ccf"], network["auditor"]
    alert_id = (await fr.post(**RED_NOTICE))["alert_id"]
    assert [c["alert_id"] for c in await pending(ccf)] == [alert_id]
    await fr.alerts.withdraw(alert_id, "no longer needed")
    # The case is closed by the withdrawal, on the record, and off the pending list.
    assert await pending(ccf) == []
    [case] = (await fr.alerts.show(alert_id))["reviews"]
    assert (case["status"], case["decided_by"]) == ("withdrawn", "fr-police")
    [closed] = await audit_events(app, auditor, alert_id, "review.closed")
    assert closed["status"] == "withdrawn"
    before = await table_snapshot(engine, app)
    assert await decision_status(ccf, alert_id, "approve") == 409
    after = await table_snapshot(engine, app)
    after.pop("seen_nonces"), before.pop("seen_nonces")
    assert after == before
    assert (await fr.alerts.show(alert_id))["status"] == "withdrawn"
    assert (await de.poll())[0] == []
    assert await audit_events(app, auditor, alert_id, "review.decision") == []


async def test_a_held_withdrawn_shredded_alert_cannot_be_approved(
    network: dict[str, Member], clock: ManualClock, app: FastAPI
) -> None:
    """Finding 8: held, withdrawn, shredded by retention; approval is 409 and feeds work."""
    fr, de, ccf = network["fr"], network["de"], network["ccf"]
    alert_id = (await fr.post(**RED_NOTICE))["alert_id"]
    await fr.alerts.withdraw(alert_id, "done")
    clock.advance(timedelta(days=366))
    assert await shred_due(app.state.runtime) == [alert_id]
    assert await decision_status(ccf, alert_id, "approve") == 409
    assert (await fr.alerts.show(alert_id))["status"] == "shredded"
    assert (await de.poll())[0] == []


async def test_a_notice_names_the_newer_alert_only_to_its_recipients(
    network: dict[str, Member],
) -> None:
    """Finding 5: a partner withheld the newer alert is not told its id."""
    fr, de, it = network["fr"], network["de"], network["it"]
    older = (await fr.post())["alert_id"]
    _, de_cursor = await de.poll()
    _, it_cursor = await it.poll()
    only_de = {"audience": {"agencies": ["de-bka"], "groups": [], "all": False}}
    newer = (await fr.post(supersedes=older, **only_de))["alert_id"]
    de_items, _ = await de.poll(after=de_cursor)
    it_items, _ = await it.poll(after=it_cursor)
    assert [(i.type, i.alert_id) for i in de_items] == [("withdrawal", older), ("alert", newer)]
    assert newer in de_items[0].notice["reason"]
    [notice] = it_items
    assert (notice.type, notice.alert_id) == ("withdrawal", older)
    assert newer not in notice.notice["reason"]
    assert notice.notice["reason"] == "superseded"
    # Nor does its view of the older alert.
    assert newer not in str(await it.alerts.show(older))


async def test_concurrent_approve_and_reject_one_succeeds(
    network: dict[str, Member], engine: AsyncEngine, app: FastAPI
) -> None:
    """Finding 4b: approve and reject of one held alert at the same moment: one 200, one
    409, one ``review.decision``, at most one fan-out."""
    fr, ccf, auditor = network["fr"], network["ccf"], network["auditor"]
    alert_id = (await fr.post(**RED_NOTICE))["alert_id"]
    statuses = await asyncio.gather(
        decision_status(ccf, alert_id, "approve"), decision_status(ccf, alert_id, "reject")
    )
    assert sorted(statuses) == [200, 409]
    [decision] = await audit_events(app, auditor, alert_id, "review.decision")
    expected = "published" if decision["decision"] == "approve" else "rejected"
    assert (await fr.alerts.show(alert_id))["status"] == expected
    async with engine.connect() as connection:
        per_partner = (
            await connection.execute(
                select(AlertDecision.partner, func.count())
                .where(AlertDecision.alert_id == alert_id)
                .group_by(AlertDecision.partner)
            )
        ).all()
        items = (
            await connection.execute(
                select(FeedItem.partner, FeedItem.type).where(FeedItem.alert_id == alert_id)
            )
        ).all()
    assert all(count == 1 for _, count in per_partner)
    alert_items = [partner for partner, kind in items if kind == "alert"]
    assert len(alert_items) == len(set(alert_items))
    assert bool(alert_items) == (expected == "published")
