"""Re-serving, supersession, the policy endpoints, and wake-ups across app instances."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from service.alerts.notify import FeedNotifier, listen, mark_published
from service.app import create_app
from service.client import LiaisonAPIError, LiaisonClient
from service.client.alerts import AlertsClient
from service.protocol.clock import ManualClock
from service.protocol.envelope import open_envelope
from service.settings import Settings
from tests.alerts.conftest import MemberFactory, default_clear
from tests.conftest import settle


async def test_re_served_items_are_logged_again(member: MemberFactory, app: FastAPI) -> None:
    fr = await member("fr-police", groups=("eu",))
    de = await member("de-bka", groups=("eu",))
    alert_id = (await fr.post())["alert_id"]
    plaintexts = []
    for _ in range(2):
        [item] = (await de.alerts.feed())["items"]
        plaintexts.append(open_envelope(de.party.encryption, item["envelope"]))
    await settle(app)
    entries = (
        await de.party.client.request(
            "GET", "/v1/audit/search", params={"alert_id": alert_id, "event": "alert.disclosed"}
        )
    ).json()["entries"]
    assert len(entries) == 2
    assert {e["partner"] for e in entries} == {"de-bka"}
    assert all(len(e["digest"]) == 64 for e in entries)
    assert [e["digest"] for e in entries] == [hashlib.sha256(p).hexdigest() for p in plaintexts]
    assert entries[0]["policy_version"] == app.state.runtime.require_policy().version


async def test_supersedes_withdraws_the_older_alert(member: MemberFactory) -> None:
    fr = await member("fr-police", groups=("eu",))
    be = await member("be-fedpol", groups=("eu",))
    older = (await fr.post())["alert_id"]
    _, cursor = await be.poll()
    newer = (await fr.post(supersedes=older))["alert_id"]
    items, _ = await be.poll(after=cursor)
    assert [(i.type, i.alert_id) for i in items] == [("withdrawal", older), ("alert", newer)]
    assert newer in items[0].notice["reason"]
    assert (await fr.alerts.show(older))["status"] == "superseded"


async def test_policy_description_and_simulation(
    member: MemberFactory, admin: LiaisonClient
) -> None:
    fr = await member("fr-police", groups=("eu",))
    await member("de-bka", groups=("eu",), attributes={"biometrics": True})
    await member("us-fbi", groups=("five-eyes",))
    described = (await fr.party.client.request("GET", "/v1/policy")).json()
    assert len(described["version"]) == 64
    ids = {p["id"] for p in described["policies"]}
    assert "tlp-red-named-only" in ids
    claims = default_clear() | {"iss": "fr-police", "claims": ["narrative", "biometrics"]}
    claims.pop("handling")
    simulated = (await fr.party.client.request("POST", "/v1/policy/simulate", json=claims)).json()
    by_partner = {d["partner"]: d for d in simulated["decisions"]}
    assert by_partner["de-bka"]["receive"] is True
    assert by_partner["de-bka"]["redacted"] == []
    assert by_partner["us-fbi"]["receive"] is False
    assert simulated["publish"] is True
    red = claims | {"kind": "red"}
    held = (await fr.party.client.request("POST", "/v1/policy/simulate", json=red)).json()
    assert (held["publish"], held["screening_policies"]) == (False, ["screening-hold-red-notice"])
    # an agency may only simulate its own alerts; an admin may simulate any
    with pytest.raises(LiaisonAPIError) as caught:
        await fr.party.client.request(
            "POST", "/v1/policy/simulate", json=claims | {"iss": "de-bka"}
        )
    assert caught.value.status == 403
    assert (
        await admin.request("POST", "/v1/policy/simulate", json=claims | {"iss": "de-bka"})
    ).status_code == 200


async def test_long_poll_across_app_instances(
    member: MemberFactory, settings: Settings, clock: ManualClock, app: FastAPI
) -> None:
    """A partner waiting on one instance gets an item published through another."""
    fr = await member("fr-police", groups=("eu",))
    dk = await member("dk-politi", groups=("eu",))
    other = create_app(settings, clock)
    async with other.router.lifespan_context(other):
        client = LiaisonClient(
            "http://testserver",
            dk.party.signing,
            transport=httpx.ASGITransport(app=other),
            clock=clock.now,
        )
        waiting = AlertsClient(client, dk.id, dk.party.encryption)
        _, cursor = await dk.poll()
        poll = asyncio.create_task(waiting.feed(after=cursor, wait=20))
        await asyncio.sleep(0.2)
        posted = await fr.post()
        page = await asyncio.wait_for(poll, timeout=25)
        await client.aclose()
    assert [i["alert_id"] for i in page["items"]] == [posted["alert_id"]]


async def test_postgresql_notifications_reach_other_processes(
    app: FastAPI, settings: Settings, backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite instances rely on the re-check")
    notifier = FeedNotifier()
    listener = asyncio.create_task(listen(settings.resolved_database_url, notifier))
    try:
        async with notifier.waiter("se-polisen") as woken:
            await asyncio.sleep(0.5)  # let the listener connect
            runtime = app.state.runtime
            async with runtime.sessionmaker() as session, session.begin():
                await mark_published(session, ["se-polisen", "no-politi"])
            await asyncio.wait_for(woken.wait(), timeout=10)
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)


@pytest.mark.parametrize(
    "body",
    [
        {"status": "maybe", "reason": "x"},
        {"status": "acting"},
        {"status": "acting", "reason": "x", "extra": 1},
    ],
)
async def test_invalid_dispositions(member: MemberFactory, body: dict[str, Any]) -> None:
    fr = await member("fr-police", groups=("eu",))
    at = await member("at-bmi", groups=("eu",))
    alert_id = (await fr.post())["alert_id"]
    with pytest.raises(LiaisonAPIError) as caught:
        await at.party.client.request("POST", f"/v1/alerts/{alert_id}/dispositions", json=body)
    assert caught.value.status == 422


async def test_partner_without_a_valid_encryption_key_is_withheld(
    member: MemberFactory, admin: LiaisonClient
) -> None:
    fr = await member("fr-police", groups=("eu",))
    de = await member("de-bka", groups=("eu",))
    nl = await member("nl-politie", groups=("eu",))
    await admin.revoke_key("nl-politie", nl.party.encryption.public.kid, "compromised")
    alert_id = (await fr.post())["alert_id"]
    decisions = {d["partner"]: d for d in (await fr.alerts.show(alert_id))["decisions"]}
    assert decisions["de-bka"]["decision"] == "received"
    assert decisions["nl-politie"]["decision"] == "withheld"
    assert decisions["nl-politie"]["policies"] == ["broker:no-encryption-key"]
    assert [i.alert_id for i in (await de.poll())[0]] == [alert_id]
    assert (await nl.alerts.feed())["items"] == []
