"""Review decisions that feed the safeguards: a cancellation on neutrality grounds registers
the alert's subject as protected; repeated rejections put the originator under heightened
review. Both through the real decision endpoint."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from service.alerts.models import HeightenedReview, ProtectedSubject
from service.audit.models import AuditEntry
from service.client import LiaisonAPIError
from tests.alerts.conftest import Member, MemberFactory
from tests.conftest import settle

SUBJECT = {"name": "Ana  Lúcia Ñúñez", "born": "1980-02-29", "nationality": "BR"}
SPELLED_OTHERWISE = {"name": "ana lucia NUNEZ", "born": "1980-02-29", "nationality": "br"}


@pytest.fixture
async def network(member: MemberFactory) -> dict[str, Member]:
    return {
        "fr": await member("fr-police", groups=("eu",), country="FR"),
        "de": await member("de-bka", groups=("eu",), country="DE"),
        "ccf": await member("ccf-review", roles=("reviewer",), country="ZZ"),
    }


async def decide(reviewer: Member, alert_id: str, body: dict[str, Any]) -> Any:
    return await reviewer.party.client.request("POST", f"/v1/reviews/{alert_id}", json=body)


async def challenged(fr: Member, de: Member) -> str:
    posted = await fr.post(purpose="investigate", content={"subject": SUBJECT})
    assert posted["status"] == "published"
    alert_id = str(posted["alert_id"])
    body = {"status": "challenged", "reason": "a journalist, not a fraudster"}
    answer = await de.party.client.request("POST", f"/v1/alerts/{alert_id}/dispositions", json=body)
    assert answer.status_code == 201
    return alert_id


async def test_a_cancellation_on_neutrality_grounds_protects_the_subject(
    app: FastAPI, network: dict[str, Member]
) -> None:
    fr, de, ccf = network["fr"], network["de"], network["ccf"]
    alert_id = await challenged(fr, de)
    body = {"decision": "cancel", "reason": "political case", "grounds": "neutrality"}
    decided = await decide(ccf, alert_id, body)
    assert decided.status_code == 200, decided.text
    async with app.state.runtime.sessionmaker() as session:
        [entry] = (await session.scalars(select(ProtectedSubject))).all()
    assert entry.source_alert_id == alert_id
    # The next alert about the same person, spelled otherwise and marked nothing, is held.
    again = await fr.post(purpose="investigate", content={"subject": SPELLED_OTHERWISE})
    assert again["status"] == "pending_review"
    [case] = [
        c
        for c in (await ccf.party.client.request("GET", "/v1/reviews")).json()["reviews"]
        if c["alert_id"] == again["alert_id"]
    ]
    assert f"register entry {entry.id}" in case["reason"]
    assert SUBJECT["name"] not in case["reason"]


async def test_a_cancellation_without_grounds_protects_no_one(
    app: FastAPI, network: dict[str, Member]
) -> None:
    fr, de, ccf = network["fr"], network["de"], network["ccf"]
    alert_id = await challenged(fr, de)
    decided = await decide(ccf, alert_id, {"decision": "cancel", "reason": "insufficient"})
    assert decided.status_code == 200, decided.text
    async with app.state.runtime.sessionmaker() as session:
        assert (await session.scalars(select(ProtectedSubject))).all() == []
    again = await fr.post(purpose="investigate", content={"subject": SPELLED_OTHERWISE})
    assert again["status"] == "published"


async def test_grounds_are_refused_with_any_other_verdict(network: dict[str, Member]) -> None:
    fr, ccf = network["fr"], network["ccf"]
    held = await fr.post(purpose="arrest")
    body = {"decision": "reject", "reason": "no", "grounds": "neutrality"}
    with pytest.raises(LiaisonAPIError) as refused:
        await decide(ccf, held["alert_id"], body)
    assert refused.value.status == 422
    assert (await fr.party.client.request("GET", f"/v1/alerts/{held['alert_id']}")).json()[
        "status"
    ] == "pending_review"


async def test_three_rejections_put_the_originator_under_heightened_review(
    app: FastAPI, network: dict[str, Member]
) -> None:
    fr, de, ccf = network["fr"], network["de"], network["ccf"]
    assert app.state.runtime.settings.escalate_after == 3
    for count in range(3):
        async with app.state.runtime.sessionmaker() as session:
            assert (await session.scalars(select(HeightenedReview))).all() == [], count
        held = await fr.post(purpose="arrest")
        body = {"decision": "reject", "reason": "no ordinary-law crime"}
        assert (await decide(ccf, held["alert_id"], body)).status_code == 200
    async with app.state.runtime.sessionmaker() as session:
        [row] = (await session.scalars(select(HeightenedReview))).all()
    assert (row.principal_id, row.set_by) == (fr.id, "broker")
    await settle(app)
    async with app.state.runtime.sessionmaker() as session:
        [entry] = (
            await session.scalars(select(AuditEntry).where(AuditEntry.event == "review.heightened"))
        ).all()
    assert entry.actor == "broker"
    # Every alert of the originator is now held, whatever it asks; others are not.
    assert (await fr.post(purpose="inform"))["status"] == "pending_review"
    assert (await de.post(purpose="inform"))["status"] == "published"
