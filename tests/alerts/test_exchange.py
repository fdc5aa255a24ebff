"""End to end over the real app: post, fan-out, poll, decrypt, verify, dispose, withdraw,
expire — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI

from service.app import expire_due
from service.client import LiaisonAPIError
from service.protocol.clock import ManualClock
from tests.alerts.conftest import MemberFactory
from tests.conftest import settle


async def test_post_fan_out_poll_dispose_withdraw(member: MemberFactory, app: FastAPI) -> None:
    fr = await member("fr-police", groups=("eu",), country="FR")
    de = await member("de-bka", groups=("eu",), country="DE", attributes={"biometrics": True})
    us = await member("us-fbi", groups=("five-eyes",), country="US")

    posted = await fr.post(
        content={
            "subject": {"name": "Jane Example"},
            "narrative": "Embezzlement of public funds.",
            "biometrics": {"fingerprint": "ABCD-1234"},
        }
    )
    assert posted["status"] == "published"
    alert_id = posted["alert_id"]

    items, cursor = await de.poll()
    assert [i.alert_id for i in items] == [alert_id]
    [item] = items
    assert item.originator == "fr-police"
    assert item.claims["category"] == "corruption"
    assert item.content["narrative"] == "Embezzlement of public funds."
    assert item.content["biometrics"] == {"fingerprint": "ABCD-1234"}
    assert item.undisclosed == 0

    assert (await us.poll())[0] == []  # outside the amber audience
    assert (await fr.poll())[0] == []  # the originator is not a recipient

    view = await fr.alerts.show(alert_id)
    decisions = {d["partner"]: d for d in view["decisions"]}
    assert decisions["de-bka"]["decision"] == "received"
    assert decisions["us-fbi"]["decision"] == "withheld"
    assert decisions["us-fbi"]["policies"]

    await de.alerts.dispose(alert_id, "declined", "no presence on our territory")
    view = await fr.alerts.show(alert_id)
    assert [(d["partner"], d["status"]) for d in view["dispositions"]] == [("de-bka", "declined")]

    withdrawn = await fr.alerts.withdraw(alert_id, "case closed")
    assert withdrawn["recipients"] == ["de-bka"]
    items, cursor = await de.poll(after=cursor)
    assert [(i.type, i.alert_id, i.notice["reason"]) for i in items] == [
        ("withdrawal", alert_id, "case closed")
    ]
    # the withdrawn alert left the feed: re-reading from the start shows only the notice
    items, _ = await de.poll()
    assert [i.type for i in items] == ["withdrawal"]

    await settle(app)
    log = (
        await de.party.client.request("GET", "/v1/audit/search", params={"alert_id": alert_id})
    ).json()
    events = [e["event"] for e in log["entries"]]
    assert "alert.disclosed" in events and "alert.disposition" in events


async def test_biometrics_redacted_for_partner_without_clearance(member: MemberFactory) -> None:
    fr = await member("fr-police", groups=("eu",))
    it = await member("it-polizia", groups=("eu",))
    await fr.post(content={"narrative": "n", "biometrics": {"face": "xyz-secret"}})
    [item], _ = await it.poll()
    assert "biometrics" not in item.content
    assert item.content["narrative"] == "n"
    assert item.undisclosed == 1


async def test_expiry_sends_expiry_items(
    member: MemberFactory, app: FastAPI, clock: ManualClock
) -> None:
    fr = await member("fr-police", groups=("eu",))
    es = await member("es-policia", groups=("eu",))
    from service.client.alerts import alert_token

    broker = await fr.alerts.broker()
    token = alert_token(
        fr.party.signing,
        "fr-police",
        broker["kb_key"],
        _clear(),
        {"narrative": "x"},
        now=clock.now(),
        lifetime=timedelta(hours=1),
    )
    alert_id = (await fr.alerts.post(token))["alert_id"]
    _, cursor = await es.poll()
    clock.advance(timedelta(hours=1, seconds=1))
    assert await expire_due(app.state.runtime) == [alert_id]
    items, _ = await es.poll(after=cursor)
    assert [(i.type, i.alert_id) for i in items] == [("expiry", alert_id)]
    view = await fr.alerts.show(alert_id)
    assert view["status"] == "expired"


async def test_long_poll_wakes_on_new_item(member: MemberFactory) -> None:
    import asyncio
    import time

    fr = await member("fr-police", groups=("eu",))
    nl = await member("nl-politie", groups=("eu",))
    _, cursor = await nl.poll()

    async def post_later() -> None:
        await asyncio.sleep(0.3)
        await fr.post()

    started = time.monotonic()
    poster = asyncio.create_task(post_later())
    items, _ = await nl.poll(after=cursor, wait=10)
    elapsed = time.monotonic() - started
    await poster
    assert len(items) == 1
    assert elapsed < 9, "the long poll returned at its timeout instead of on the new item"


def _clear() -> dict[str, Any]:
    from tests.alerts.conftest import default_clear

    return default_clear()


async def test_idempotent_resubmission_and_conflict(member: MemberFactory) -> None:
    fr = await member("fr-police", groups=("eu",))
    await member("pt-pj", groups=("eu",))
    broker = await fr.alerts.broker()
    from service.client.alerts import alert_token

    token = alert_token(
        fr.party.signing, "fr-police", broker["kb_key"], _clear(), {"narrative": "a"}
    )
    first = await fr.alerts.post(token)
    again = await fr.alerts.client.request(
        "POST", "/v1/alerts", content=token.encode(), headers={"content-type": "application/sd-jwt"}
    )
    assert again.status_code == 200
    assert again.json() == first
    other = alert_token(
        fr.party.signing,
        "fr-police",
        broker["kb_key"],
        _clear() | {"jti": first["alert_id"]},
        {"narrative": "b"},
    )
    with pytest.raises(LiaisonAPIError) as caught:
        await fr.alerts.post(other)
    assert caught.value.status == 409
