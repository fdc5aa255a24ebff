"""Escalation: N alerts rejected or cancelled by reviewers within the window put their
originator under heightened review, audited as the broker's act."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from service.alerts.cases import CaseRepository
from service.alerts.models import HeightenedReview
from service.audit.log import AuditLog
from service.audit.models import AuditEntry
from service.governance.escalation import escalate_if_due
from service.protocol.clock import ManualClock
from service.settings import Settings
from tests.alerts.conftest import Member, MemberFactory
from tests.conftest import settle

THRESHOLD, WINDOW = 3, timedelta(days=90)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """These tests call ``escalate_if_due`` themselves; the escalation wired into review
    decisions is kept out of their way (tests/governance/test_review_safeguards.py covers it)."""
    return settings.model_copy(update={"escalate_after": 1000})


@pytest.fixture
async def network(member: MemberFactory) -> dict[str, Member]:
    return {
        "fr": await member("fr-police", groups=("eu",), country="FR"),
        "de": await member("de-bka", groups=("eu",), country="DE"),
        "ccf": await member("ccf-review", roles=("reviewer",), country="ZZ"),
    }


async def rejected_alert(fr: Member, ccf: Member) -> str:
    posted = await fr.post(purpose="arrest")
    assert posted["status"] == "pending_review"
    body = {"decision": "reject", "reason": "no evidence of an ordinary-law crime"}
    response = await ccf.party.client.request(
        "POST", f"/v1/reviews/{posted['alert_id']}", json=body
    )
    assert response.json()["alert_status"] == "rejected"
    return str(posted["alert_id"])


async def escalate(app: FastAPI, originator: str, clock: ManualClock, later: timedelta) -> Any:
    now = clock.now() + later
    async with app.state.runtime.sessionmaker() as session, session.begin():
        return await escalate_if_due(
            CaseRepository(session), AuditLog(session, now), originator, now, THRESHOLD, WINDOW
        )


async def heightened_rows(app: FastAPI) -> list[HeightenedReview]:
    async with app.state.runtime.sessionmaker() as session:
        return list((await session.scalars(select(HeightenedReview))).all())


async def test_escalation_after_n_rejections_within_the_window(
    app: FastAPI, clock: ManualClock, network: dict[str, Member]
) -> None:
    fr, de, ccf = network["fr"], network["de"], network["ccf"]
    for _ in range(THRESHOLD - 1):
        await rejected_alert(fr, ccf)
    # N-1 rejections: not yet.
    assert await escalate(app, fr.id, clock, timedelta(0)) is None
    assert await heightened_rows(app) == []
    await rejected_alert(fr, ccf)
    # N rejections, all long past the window: not counted.
    assert await escalate(app, fr.id, clock, WINDOW + timedelta(days=1)) is None
    assert await heightened_rows(app) == []
    # N rejections within the window: heightened review, set by the broker, and audited.
    row = await escalate(app, fr.id, clock, timedelta(hours=1))
    assert row is not None
    [stored] = await heightened_rows(app)
    assert (stored.principal_id, stored.set_by) == (fr.id, "broker")
    assert f"{THRESHOLD} alerts rejected or cancelled" in stored.reason
    await settle(app)
    async with app.state.runtime.sessionmaker() as session:
        entries = (
            await session.scalars(select(AuditEntry).where(AuditEntry.event == "review.heightened"))
        ).all()
    [entry] = entries
    assert entry.actor == "broker"
    assert stored.reason.encode() in entry.leaf
    # Only once: a second call finds the originator under heightened review already.
    assert await escalate(app, fr.id, clock, timedelta(hours=2)) is None
    # From now on every alert of the originator is held, whatever it asks.
    posted = await fr.post(purpose="inform")
    assert posted["status"] == "pending_review"
    # Another originator is not affected.
    assert (await de.post(purpose="inform"))["status"] == "published"


async def test_an_escalation_counts_only_the_originators_own_alerts(
    app: FastAPI, clock: ManualClock, network: dict[str, Member]
) -> None:
    fr, de, ccf = network["fr"], network["de"], network["ccf"]
    for _ in range(THRESHOLD):
        await rejected_alert(fr, ccf)
    assert await escalate(app, de.id, clock, timedelta(0)) is None
    assert await escalate(app, fr.id, clock, timedelta(0)) is not None


def test_settings_name_the_threshold_and_window() -> None:
    defaults = Settings(env="test")
    assert (defaults.escalate_after, defaults.escalate_window_days) == (3, 90)
