"""Governance over real HTTP: screening, review, challenges, purges, retention, transparency."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.app import shred_due
from service.cli.main import main
from service.client import LiaisonAPIError
from service.protocol.clock import ManualClock
from service.protocol.crypto import SigningPublicKey
from service.protocol.envelope import open_envelope
from service.protocol.sdjwt import verify_presentation
from tests.alerts.conftest import Member, MemberFactory
from tests.conftest import settle


@pytest.fixture
async def network(member: MemberFactory) -> dict[str, Member]:
    return {
        "fr": await member("fr-police", groups=("eu",), country="FR"),
        "de": await member("de-bka", groups=("eu",), country="DE"),
        "it": await member("it-polizia", groups=("eu",), country="IT"),
        "ccf": await member("ccf-review", roles=("reviewer",), country="ZZ"),
        "ccf-fr": await member("ccf-fr", roles=("reviewer",), country="FR"),
        "auditor": await member("eu-audit", roles=("auditor",), country="ZZ"),
    }


async def reviews(reviewer: Member, status: str = "pending") -> list[dict[str, Any]]:
    response = await reviewer.party.client.request("GET", "/v1/reviews", params={"status": status})
    return list(response.json()["reviews"])


async def decide(
    reviewer: Member, alert_id: str, decision: str, reason: str = "r"
) -> dict[str, Any]:
    body = {"decision": decision, "reason": reason}
    return dict(
        (await reviewer.party.client.request("POST", f"/v1/reviews/{alert_id}", json=body)).json()
    )


RED_NOTICE = {
    "kind": "red",
    "category": "corruption",
    "tlp": "clear",
    "audience": {"agencies": [], "groups": [], "all": True},
}


async def test_red_notice_is_held_until_approved(network: dict[str, Member]) -> None:
    fr, de, ccf = network["fr"], network["de"], network["ccf"]
    posted = await fr.post(**RED_NOTICE)
    assert posted["status"] == "pending_review"
    assert (await de.poll())[0] == []
    [case] = await reviews(ccf)
    assert case["alert_id"] == posted["alert_id"]
    assert "screening-hold-red-notice" in case["reason"]
    # the reviewer reads it: a disclosure sealed to the reviewer, verifiable like a delivery
    read = (await ccf.party.client.request("GET", f"/v1/reviews/{posted['alert_id']}")).json()
    plaintext = open_envelope(ccf.party.encryption, read["envelope"]).decode()
    broker = await ccf.alerts.broker()
    presentation = verify_presentation(
        plaintext,
        fr.party.signing.public,
        SigningPublicKey.from_jwk(broker["kb_key"]),
        "ccf-review",
        read["nonce"],
        now=int(datetime.now(UTC).timestamp()) + 3600,
    )
    assert presentation.disclosed["narrative"]
    approved = await decide(ccf, posted["alert_id"], "approve", "no Article 3 concern")
    assert approved["alert_status"] == "published"
    [item], _ = await de.poll()
    assert item.alert_id == posted["alert_id"]
    assert await reviews(ccf) == []


async def test_rejected_alert_never_reaches_a_feed(network: dict[str, Member]) -> None:
    fr, de, it, ccf = network["fr"], network["de"], network["it"], network["ccf"]
    posted = await fr.post(**RED_NOTICE, character=["political"])
    await decide(ccf, posted["alert_id"], "reject", "political character (Article 3)")
    assert (await de.poll())[0] == [] and (await it.poll())[0] == []
    view = await fr.alerts.show(posted["alert_id"])
    assert view["status"] == "rejected"
    assert view["decisions"] == []
    [notice], _ = await fr.poll()
    assert (notice.type, notice.notice["reason"]) == (
        "rejection",
        "political character (Article 3)",
    )


async def test_reviewer_cannot_review_own_agency(network: dict[str, Member]) -> None:
    posted = await network["fr"].post(**RED_NOTICE)
    conflicted = network["ccf-fr"]
    with pytest.raises(LiaisonAPIError) as caught:
        await conflicted.party.client.request("GET", f"/v1/reviews/{posted['alert_id']}")
    assert caught.value.status == 403
    with pytest.raises(LiaisonAPIError) as caught:
        await decide(conflicted, posted["alert_id"], "approve")
    assert caught.value.status == 403
    assert (await reviews(network["ccf"]))[0]["status"] == "open"
    with pytest.raises(LiaisonAPIError) as caught:
        await decide(network["de"], posted["alert_id"], "approve")
    assert caught.value.status == 403


@pytest.mark.parametrize(
    ("claims", "policy"),
    [
        ({"character": ["religious"]}, "screening-hold-article-3"),
        ({"subject_status": ["asylum-seeker"]}, "screening-hold-protected-subject"),
    ],
)
async def test_screening_markers_hold(
    network: dict[str, Member], claims: dict[str, Any], policy: str
) -> None:
    posted = await network["fr"].post(**claims)
    assert posted["status"] == "pending_review"
    [case] = await reviews(network["ccf"])
    assert policy in case["reason"]


async def test_heightened_review_holds_everything_from_an_originator(
    network: dict[str, Member],
) -> None:
    fr, ccf = network["fr"], network["ccf"]
    assert (await fr.post())["status"] == "published"
    body = {"active": True, "reason": "pattern of politically motivated requests"}
    await ccf.party.client.request("POST", "/v1/reviews/heightened/fr-police", json=body)
    held = await fr.post()
    assert held["status"] == "pending_review"
    assert "screening-hold-heightened-review" in (await reviews(ccf))[0]["reason"]
    body = {"active": False, "reason": "lifted"}
    await ccf.party.client.request("POST", "/v1/reviews/heightened/fr-police", json=body)
    assert (await fr.post())["status"] == "published"


async def test_challenge_leads_to_cancellation_and_withdrawals(network: dict[str, Member]) -> None:
    fr, de, it, ccf = network["fr"], network["de"], network["it"], network["ccf"]
    alert_id = (await fr.post())["alert_id"]
    _, de_cursor = await de.poll()
    _, it_cursor = await it.poll()
    await de.alerts.dispose(alert_id, "challenged", "the subject is a journalist")
    [case] = await reviews(ccf)
    assert (case["kind"], case["alert_id"]) == ("challenge", alert_id)
    decided = await decide(ccf, alert_id, "cancel", "politically motivated")
    assert decided["alert_status"] == "cancelled"
    for member, cursor in ((de, de_cursor), (it, it_cursor)):
        items, _ = await member.poll(after=cursor)
        assert [(i.type, i.alert_id) for i in items] == [("withdrawal", alert_id)]
    notices = [i.type for i in (await fr.poll())[0]]
    assert notices == ["cancellation"]


async def test_purge_confirmations_and_overdue(
    network: dict[str, Member], clock: ManualClock, app: FastAPI
) -> None:
    fr, de, auditor = network["fr"], network["de"], network["auditor"]
    alert_id = (await fr.post())["alert_id"]
    await fr.alerts.withdraw(alert_id, "case closed")
    purge = (await fr.alerts.show(alert_id))["purge"]
    assert purge["outstanding"] == ["de-bka", "it-polizia"] and purge["overdue"] == []
    await de.alerts.dispose(alert_id, "purged", "deleted from national systems")
    clock.advance(timedelta(days=30, seconds=1))
    purge = (await auditor.alerts.show(alert_id))["purge"]
    assert purge["confirmed"] == ["de-bka"]
    assert purge["overdue"] == ["it-polizia"]
    listed = (
        await auditor.party.client.request("GET", "/v1/purges", params={"overdue": True})
    ).json()
    assert [(p["alert_id"], p["overdue"]) for p in listed["purges"]] == [(alert_id, ["it-polizia"])]
    await settle(app)
    start = (clock.now() - timedelta(days=60)).isoformat()
    end = (clock.now() + timedelta(days=1)).isoformat()
    report = (
        await auditor.party.client.request(
            "GET", "/v1/transparency", params={"from": start, "to": end}
        )
    ).json()
    assert report["purge_overdue"] == [
        {
            "alert_id": alert_id,
            "partner": "it-polizia",
            "deadline": report["purge_overdue"][0]["deadline"],
        }
    ]


async def test_shredding_removes_content_everywhere_and_the_log_still_verifies(
    network: dict[str, Member],
    clock: ManualClock,
    app: FastAPI,
    engine: AsyncEngine,
    database_url: str,
) -> None:
    fr, de, auditor = network["fr"], network["de"], network["auditor"]
    marker = "shred-marker-7f3a9c"
    alert_id = (await fr.post(content={"narrative": marker}))["alert_id"]
    [item], _ = await de.poll()
    assert item.content["narrative"] == marker
    await fr.alerts.withdraw(alert_id, "done")
    clock.advance(timedelta(days=366))
    assert await shred_due(app.state.runtime) == [alert_id]
    assert (await fr.alerts.show(alert_id))["status"] == "shredded"
    assert [i.type for i in (await de.poll())[0]] == ["withdrawal"]
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text("SELECT sealed_body, wrapped_key FROM alerts WHERE id = :id"), {"id": alert_id}
            )
        ).one()
    assert tuple(row) == (None, None)
    await settle(app)
    from service.client.log_source import HttpLogSource
    from service.protocol.logverify import verify_log
    from service.protocol.note import NoteVerifier

    broker = await auditor.alerts.broker()
    report = await verify_log(
        HttpLogSource(auditor.party.client),
        NoteVerifier.from_vkey(broker["checkpoint_vkey"]),
        broker["origin"],
    )
    assert report.entries_checked > 0
    shredded = await auditor.party.client.audit_search(alert_id=alert_id, event="alert.shredded")
    assert len(shredded["entries"]) == 1
    # the operator's offline verifier, as a command, agrees
    result = await asyncio.to_thread(
        CliRunner().invoke, main, ["audit", "verify", "--database", database_url]
    )
    assert result.exit_code == 0, result.output
    # and nothing reads the content any more: not the originator, not a reviewer
    view = await fr.alerts.show(alert_id)
    assert marker not in json.dumps(view)
    async with engine.connect() as connection:
        for table in ("alerts", "feed_items", "alert_decisions", "dispositions", "audit_entries"):
            rows = (await connection.execute(text(f"SELECT * FROM {table}"))).all()
            assert marker not in repr(rows)


async def test_transparency_report_equals_a_recount(
    network: dict[str, Member], clock: ManualClock, app: FastAPI
) -> None:
    fr, de, it, ccf, auditor = (network[k] for k in ("fr", "de", "it", "ccf", "auditor"))
    start = clock.now() - timedelta(seconds=1)
    held = (await fr.post(**RED_NOTICE))["alert_id"]
    await decide(ccf, held, "approve")
    rejected = (
        await de.post(
            kind="red",
            category="terrorism",
            tlp="clear",
            audience={"agencies": [], "groups": [], "all": True},
        )
    )["alert_id"]
    await decide(ccf, rejected, "reject", "insufficient basis")
    plain = (await it.post(category="fraud"))["alert_id"]
    await de.alerts.dispose(plain, "declined", "no")
    await fr.alerts.dispose(plain, "challenged", "bad faith")
    await decide(ccf, plain, "cancel", "cancelled")
    withdrawn = (await fr.post())["alert_id"]
    await fr.alerts.withdraw(withdrawn, "done")
    await settle(app)
    end = clock.now() + timedelta(seconds=1)
    report = (
        await auditor.party.client.request(
            "GET", "/v1/transparency", params={"from": start.isoformat(), "to": end.isoformat()}
        )
    ).json()
    # recount from the raw entries, independently of the service's report code
    size = report["log_size"]
    raw = []
    for first in range(0, size, 1000):
        raw += [
            json.loads(leaf)
            for leaf in await auditor.party.client.audit_entries(first, min(size, first + 1000))
        ]
    recount: Counter[str] = Counter()
    for entry in raw:
        event = entry["event"]
        if event == "alert.submitted":
            recount["submitted"] += 1
        elif event == "alert.held":
            recount["held"] += 1
        elif event == "review.decision" and entry["kind"] == "screening":
            recount["approved" if entry["decision"] == "approve" else "rejected"] += 1
        elif event in ("alert.withdrawn", "alert.cancelled"):
            recount[event.split(".")[1]] += 1
        elif event == "alert.disposition" and entry["status"] in ("challenged", "declined"):
            recount[entry["status"]] += 1
    expected = dict(recount) | {"purge_overdue": 0}
    assert report["outcomes"] == dict(sorted(expected.items()))
    assert report["outcomes"]["submitted"] == 4
    assert report["outcomes"]["held"] == 2
    assert report["by_kind"]["red"]["held"] == 2
    assert report["rejected_by_policy"] == {"screening-hold-red-notice": 1}
