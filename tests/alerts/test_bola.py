"""Broken object-level authorisation: no partner reads another partner's feed or alert, by
any route, and an outsider cannot even learn that an alert exists.

Cast: fr-police originates an amber alert to the group eu; de-bka and it-polizia (eu) receive
it; us-fbi (five-eyes) is a stranger to it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from jwcrypto import jwe as jc_jwe
from jwcrypto import jwk as jc_jwk
from jwcrypto.common import JWException

from service.api.problems import problem_type
from service.client import LiaisonAPIError, sign_request
from service.protocol.clock import ManualClock
from service.protocol.crypto import SigningPrivateKey
from service.protocol.envelope import InvalidEnvelope, open_envelope
from tests.alerts.conftest import Member, MemberFactory, default_clear
from tests.conftest import settle


@dataclass
class Cast:
    fr: Member
    de: Member
    it: Member
    us: Member
    alert_id: str


@pytest.fixture
async def cast(member: MemberFactory) -> Cast:
    fr = await member("fr-police", groups=("eu",), country="FR")
    de = await member("de-bka", groups=("eu",), country="DE")
    it = await member("it-polizia", groups=("eu",), country="IT")
    us = await member("us-fbi", groups=("five-eyes",), country="US")
    posted = await fr.post()
    return Cast(fr, de, it, us, posted["alert_id"])


@pytest.fixture
async def raw(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An unsigned client: requests are signed (or tampered with) by hand."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        yield client


def signed(key: SigningPrivateKey, clock: ManualClock, path: str) -> httpx.Request:
    request = httpx.Request("GET", "http://testserver" + path)
    sign_request(request, key, created=clock.now())
    return request


def retargeted(request: httpx.Request, path: str) -> httpx.Request:
    """The same signature headers on another path or query."""
    headers = {name: request.headers[name] for name in ("signature-input", "signature")}
    return httpx.Request("GET", "http://testserver" + path, headers=headers)


async def expect_error(call: Any, status: int, slug: str) -> dict[str, Any]:
    with pytest.raises(LiaisonAPIError) as caught:
        await call
    assert caught.value.status == status, caught.value.problem
    assert caught.value.type == problem_type(slug)
    return caught.value.problem


def same_with(problem: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """``problem`` with one alert id put in place of another, to compare two 404s."""
    return {k: v.replace(old, new) if isinstance(v, str) else v for k, v in problem.items()}


def assert_problem(response: httpx.Response, status: int, slug: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == problem_type(slug)
    assert "items" not in response.json()


# -- the feed ----------------------------------------------------------------------------


async def test_feed_is_the_callers_whatever_the_query_says(cast: Cast) -> None:
    de_page = await cast.de.alerts.feed()
    [de_item] = de_page["items"]
    # There is no parameter naming a partner; made-up ones change nothing. A global cursor
    # taken from de's feed does not open de's feed to anyone else either.
    for params in (
        {"partner": "de-bka"},
        {"principal": "de-bka", "aud": "de-bka", "agency": "de-bka"},
        {"after": str(int(de_item["cursor"]) - 1)},
    ):
        page = (await cast.us.party.client.request("GET", "/v1/feed", params=params)).json()
        assert page["items"] == [], params
    page = (
        await cast.it.party.client.request("GET", "/v1/feed", params={"partner": "de-bka"})
    ).json()
    [it_item] = page["items"]
    assert it_item["cursor"] != de_item["cursor"]
    assert it_item["envelope"] != de_item["envelope"]
    opened = await cast.it.alerts.open_item(it_item)
    assert opened.alert_id == cast.alert_id  # for it-polizia: aud and kid were checked


async def test_envelope_for_one_partner_does_not_open_with_anothers_key(cast: Cast) -> None:
    [item] = (await cast.de.alerts.feed())["items"]
    with pytest.raises(InvalidEnvelope):
        open_envelope(cast.it.party.encryption, item["envelope"])
    # Beyond the kid check: the key itself fails to decrypt (jwcrypto, kid stripped).
    foreign = {k: v for k, v in cast.it.party.encryption.to_jwk().items() if k != "kid"}
    token = jc_jwe.JWE()
    token.allowed_algs = ["ECDH-ES", "A256GCM"]
    with pytest.raises(JWException):
        token.deserialize(item["envelope"], key=jc_jwk.JWK(**foreign))
    # The SDK of it-polizia refuses de's item too (it is neither its kid nor its aud).
    with pytest.raises(InvalidEnvelope):
        await cast.it.alerts.open_item(item)


async def test_replayed_feed_request_is_refused(
    cast: Cast, raw: httpx.AsyncClient, clock: ManualClock
) -> None:
    request = signed(cast.de.party.signing, clock, "/v1/feed")
    first = await raw.send(request)
    assert first.status_code == 200
    assert [i["alert_id"] for i in first.json()["items"]] == [cast.alert_id]
    # Whoever captured it (another partner on the path) cannot send it again.
    assert_problem(await raw.send(request), 401, "replayed-request")
    again = httpx.Request("GET", "http://testserver/v1/feed", headers=dict(request.headers))
    assert_problem(await raw.send(again), 401, "replayed-request")


@pytest.mark.parametrize(
    "path",
    [
        "/v1/feed?partner=de-bka",
        "/v1/feed?after=0&partner=de-bka",
        "/v1/feed?after=1",
        "/v1/feed?limit=500",
    ],
)
async def test_feed_request_cannot_be_retargeted(
    cast: Cast, raw: httpx.AsyncClient, clock: ManualClock, path: str
) -> None:
    request = signed(cast.us.party.signing, clock, "/v1/feed?after=0")
    assert_problem(await raw.send(retargeted(request, path)), 401, "invalid-signature")
    # The untouched request still works, and it is us-fbi's own (empty) feed.
    response = await raw.send(request)
    assert response.status_code == 200 and response.json()["items"] == []


async def test_signature_cannot_be_reassigned_to_another_partners_key(
    cast: Cast, raw: httpx.AsyncClient, clock: ManualClock
) -> None:
    request = signed(cast.us.party.signing, clock, "/v1/feed")
    headers = {
        "signature-input": request.headers["signature-input"].replace(
            cast.us.party.signing.kid, cast.de.party.signing.kid
        ),
        "signature": request.headers["signature"],
    }
    assert cast.de.party.signing.kid in headers["signature-input"]
    stolen = httpx.Request("GET", "http://testserver/v1/feed", headers=headers)
    assert_problem(await raw.send(stolen), 401, "invalid-signature")


# -- the alert and actions on it ---------------------------------------------------------


async def test_non_recipient_gets_404_indistinguishable_from_a_missing_alert(cast: Cast) -> None:
    missing = str(uuid.uuid4())
    existing = await expect_error(cast.us.alerts.show(cast.alert_id), 404, "not-found")
    absent = await expect_error(cast.us.alerts.show(missing), 404, "not-found")
    assert existing == same_with(absent, missing, cast.alert_id)


async def test_recipient_sees_only_its_own_decision_and_dispositions(cast: Cast) -> None:
    await cast.de.alerts.dispose(cast.alert_id, "acting", "surveillance started")
    view = await cast.it.alerts.show(cast.alert_id)
    assert [d["partner"] for d in view["decisions"]] == ["it-polizia"]
    assert view["dispositions"] == []
    assert "surveillance started" not in str(view)
    full = await cast.fr.alerts.show(cast.alert_id)
    assert {d["partner"] for d in full["decisions"]} == {"de-bka", "it-polizia", "us-fbi"}
    assert [d["partner"] for d in full["dispositions"]] == ["de-bka"]


async def test_disposition_by_non_recipient_is_404_and_stores_nothing(cast: Cast) -> None:
    missing = str(uuid.uuid4())
    existing = await expect_error(
        cast.us.alerts.dispose(cast.alert_id, "acting", "x"), 404, "not-found"
    )
    absent = await expect_error(cast.us.alerts.dispose(missing, "acting", "x"), 404, "not-found")
    assert existing == same_with(absent, missing, cast.alert_id)
    # The originator is no recipient of its own alert either.
    await expect_error(cast.fr.alerts.dispose(cast.alert_id, "acting", "x"), 404, "not-found")
    view = await cast.fr.alerts.show(cast.alert_id)
    assert view["dispositions"] == []


async def test_withdraw_by_recipient_is_403_by_stranger_404(cast: Cast) -> None:
    """A stranger has a (withheld) decision row like every partner; it must still get the
    404 of a missing alert, or a withdraw attempt reveals which alert ids exist."""
    await expect_error(cast.de.alerts.withdraw(cast.alert_id, "mine now"), 403, "forbidden")
    missing = str(uuid.uuid4())
    existing = await expect_error(cast.us.alerts.withdraw(cast.alert_id, "x"), 404, "not-found")
    absent = await expect_error(cast.us.alerts.withdraw(missing, "x"), 404, "not-found")
    assert existing == same_with(absent, missing, cast.alert_id)
    view = await cast.fr.alerts.show(cast.alert_id)
    assert view["status"] == "published"
    [item] = (await cast.it.alerts.feed())["items"]
    assert item["type"] == "alert"  # no withdrawal was queued


async def test_stranger_cannot_simulate_someone_elses_alert(cast: Cast) -> None:
    body = default_clear() | {"iss": "fr-police", "claims": []}
    call = cast.us.party.client.request("POST", "/v1/policy/simulate", json=body)
    await expect_error(call, 403, "forbidden")


# -- the audit log -----------------------------------------------------------------------


def names(entry: dict[str, Any], principal: str) -> bool:
    return principal in (entry.get("actor"), entry.get("partner"), entry.get("principal"))


async def test_audit_search_by_an_agency_returns_only_entries_naming_it(
    cast: Cast, app: FastAPI
) -> None:
    await cast.de.poll()
    await cast.it.poll()
    await cast.it.alerts.dispose(cast.alert_id, "received", "noted")
    await settle(app)
    client = cast.de.party.client
    for filters in (
        {},
        {"alert_id": cast.alert_id},
        {"partner": "it-polizia"},
        {"event": "alert.disclosed"},
        {"event": "alert.disposition"},
        {"event": "principal.registered"},
    ):
        found = (await client.audit_search(**filters, limit=1000))["entries"]
        strangers = [e for e in found if not names(e, "de-bka")]
        assert strangers == [], filters
    mine = (await client.audit_search(alert_id=cast.alert_id, limit=1000))["entries"]
    events = {e["event"] for e in mine}
    assert {"alert.decision", "alert.disclosed"} <= events  # the filter is not just empty
    assert all(e.get("partner") != "it-polizia" for e in mine)
    stranger = (await cast.us.party.client.audit_search(alert_id=cast.alert_id))["entries"]
    assert {e["partner"] for e in stranger if "partner" in e} <= {"us-fbi"}


async def test_audit_proofs_of_another_partners_entries_are_refused(
    cast: Cast, app: FastAPI
) -> None:
    await cast.de.poll()
    await settle(app)
    [disclosed] = (
        await cast.de.party.client.audit_search(alert_id=cast.alert_id, event="alert.disclosed")
    )["entries"]
    index = disclosed["index"]
    await cast.de.party.client.receipt(index)  # de-bka may prove its own entry
    await expect_error(cast.us.party.client.receipt(index), 403, "forbidden")
    size = (await cast.de.party.client.check_log()).size
    await expect_error(cast.us.party.client.inclusion_proof(index, size), 403, "forbidden")
    await expect_error(cast.us.party.client.audit_entries(0, size), 403, "forbidden")


async def test_withheld_partner_cannot_learn_of_the_alert_from_the_log(
    member: MemberFactory, app: FastAPI
) -> None:
    """A partner an alert was withheld from is named by the decision entry, but may not see it:
    it would reveal the alert's existence, its claim names and the withholding policy."""
    fr = await member("fr-police", groups=("eu",))
    await member("de-bka", groups=("eu",))
    us = await member("us-fbi", groups=("g7",))
    alert_id = (await fr.post())["alert_id"]
    await settle(app)
    mine = (await us.party.client.request("GET", "/v1/audit/search", params={"limit": 1000})).json()
    assert all(e.get("alert_id") != alert_id for e in mine["entries"])
    by_id = (
        await us.party.client.request("GET", "/v1/audit/search", params={"alert_id": alert_id})
    ).json()
    assert by_id["entries"] == []
    auditor = await member("eu-audit", roles=("auditor",))
    entries = (
        await auditor.party.client.request(
            "GET", "/v1/audit/search", params={"alert_id": alert_id, "partner": "us-fbi"}
        )
    ).json()["entries"]
    [withheld] = entries
    assert withheld["decision"] == "withheld"
    with pytest.raises(LiaisonAPIError) as caught:
        await us.party.client.request("GET", f"/v1/audit/receipt/{withheld['index']}")
    assert caught.value.status == 403
