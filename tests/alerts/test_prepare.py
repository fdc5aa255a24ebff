"""Policy decisions prepared before the submission's transaction (service.alerts.prepare).

Preparing may only move work earlier: every outcome must be the one the transaction would
have reached by itself, including when the registry changes in between.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

import service.alerts.routes as alert_routes
from service.alerts.prepare import PreparedGateway, prepare_decisions
from service.client import LiaisonClient
from service.client.alerts import alert_token
from service.client.signing import sign_request
from service.policy.engine import PolicyEngine
from service.policy.facts import Decision
from service.protocol.crypto import SigningPrivateKey
from service.protocol.signatures import UnverifiedRequest
from tests.alerts.conftest import MemberFactory, default_clear, default_content
from tests.policy.builders import BASE_ALERT, partner


async def prepared_outcomes(app: FastAPI) -> dict[str, float]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as plain:
        text = (await plain.get("/metrics")).text
    pattern = r'liaison_prepared_decisions_total\{outcome="(\w+)"\} ([0-9.]+)'
    return {outcome: float(value) for outcome, value in re.findall(pattern, text)}


async def test_a_publication_uses_its_prepared_decisions(
    member: MemberFactory, app: FastAPI
) -> None:
    fr = await member("fr-police", groups=("eu",))
    de = await member("de-bka", groups=("eu",))
    await member("us-fbi", groups=("five-eyes",))
    alert_id = (await fr.post())["alert_id"]
    assert await prepared_outcomes(app) == {"used": 1.0}
    decisions = {d["partner"]: d["decision"] for d in (await fr.alerts.show(alert_id))["decisions"]}
    assert decisions == {"de-bka": "received", "us-fbi": "withheld"}
    assert [i.alert_id for i in (await de.poll())[0]] == [alert_id]


async def test_a_registry_change_after_preparing_is_decided_again(
    member: MemberFactory,
    app: FastAPI,
    admin: LiaisonClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fr = await member("fr-police", groups=("eu",))
    de = await member("de-bka", groups=("eu",))
    real = prepare_decisions

    async def then_the_registry_changes(*args: Any) -> PreparedGateway:
        prepared = await real(*args)
        assert prepared.prepared  # prepared for the registry as it was: de-bka alone
        # Between preparing and the transaction, de-bka loses its only encryption key and a
        # new eu member joins: both must be decided under the registry the transaction reads.
        await admin.revoke_key("de-bka", de.party.encryption.public.kid, "compromised")
        await member("nl-politie", groups=("eu",))
        return prepared

    monkeypatch.setattr(alert_routes, "prepare_decisions", then_the_registry_changes)
    alert_id = (await fr.post())["alert_id"]
    decisions = {d["partner"]: d["decision"] for d in (await fr.alerts.show(alert_id))["decisions"]}
    assert decisions == {"de-bka": "withheld", "nl-politie": "received"}
    assert await prepared_outcomes(app) == {"recomputed": 1.0}
    assert (await de.poll())[0] == []


async def test_nothing_is_prepared_for_an_unauthenticated_or_forged_request(
    member: MemberFactory, app: FastAPI
) -> None:
    fr = await member("fr-police", groups=("eu",))
    await member("de-bka", groups=("eu",))
    runtime = app.state.runtime
    kb_key = runtime.require_broker_keys().key_binding.public.to_jwk()
    token = alert_token(fr.party.signing, "fr-police", kb_key, default_clear(), default_content())

    async def prepare(signing: SigningPrivateKey, body: bytes) -> PreparedGateway:
        request = httpx.Request("POST", "http://testserver/v1/alerts", content=token.encode())
        request.headers["content-type"] = "application/sd-jwt"
        sign_request(request, signing, created=runtime.clock.now())
        unverified = UnverifiedRequest(
            "POST", str(request.url), list(request.headers.items()), body
        )
        return await prepare_decisions(
            runtime.require_policy(),
            runtime.reader(),
            unverified,
            body,
            runtime.clock.now(),
            timedelta(seconds=300),
        )

    assert (await prepare(fr.party.signing, token.encode())).prepared
    stranger = SigningPrivateKey.generate()
    assert not (await prepare(stranger, token.encode())).prepared
    # a well-formed alert of fr-police, but not the body the request signature covers
    other = alert_token(fr.party.signing, "fr-police", kb_key, default_clear(), default_content())
    assert (await prepare(fr.party.signing, token.encode())).prepared
    assert not (await prepare(fr.party.signing, other.encode())).prepared


def test_prepared_decisions_answer_exactly_their_inputs(app: FastAPI) -> None:
    policy_engine = app.state.runtime.require_policy()
    assert isinstance(policy_engine, PolicyEngine)
    partners = [partner("agency-a", groups=("schengen",)), partner("agency-b")]
    marker = [Decision("agency-a", True, (), ("prepared",)), Decision("agency-b", False, (), ())]
    gateway = PreparedGateway(policy_engine, {(BASE_ALERT, tuple(partners)): marker})
    assert gateway.decide(BASE_ALERT, partners) == marker
    assert gateway.outcome == "used"
    other = [*partners, partner("agency-c")]
    assert gateway.decide(BASE_ALERT, other) == policy_engine.decide(BASE_ALERT, other)
    assert gateway.decide(BASE_ALERT, partners[::-1]) == policy_engine.decide(
        BASE_ALERT, partners[::-1]
    )
    assert gateway.version == policy_engine.version
    fresh = PreparedGateway(policy_engine, {(BASE_ALERT, tuple(partners)): marker})
    fresh.decide(BASE_ALERT, other)
    assert fresh.outcome == "recomputed"
    assert PreparedGateway(policy_engine).outcome == "none"
