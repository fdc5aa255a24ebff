"""A refused alert lists every problem at once, and a closed vocabulary's allowed values.

Unit tests on ``validate_claims`` and the problem table, and the whole path: an alert posted
with several mistakes is answered with one 422 whose ``errors`` locate each of them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from service.api.problems import problem_type, response_for
from service.client import sign_request
from service.client.alerts import alert_token
from service.protocol.claims import CATEGORIES, KINDS, PURPOSES, TLP_LABELS
from service.protocol.clock import ManualClock
from service.protocol.errors import InvalidInput, InvalidPolicy
from service.protocol.validation import allowed, validate_claims
from tests.alerts.conftest import MemberFactory, default_clear
from tests.conftest import table_snapshot

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SKEW = timedelta(seconds=60)


def valid_claims() -> dict[str, Any]:
    return default_clear() | {
        "iss": "fr-police",
        "jti": "0b6f3a52-1c1e-4b8e-9f43-6c9b1c1f0a11",
        "iat": int(NOW.timestamp()),
        "exp": int((NOW + timedelta(days=1)).timestamp()),
        "cnf": {"jwk": {"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}},
    }


def refusal(claims: dict[str, Any], content: int | list[str] = 1) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        validate_claims(claims, content, NOW, SKEW)
    return caught.value


def test_valid_claims_still_validate() -> None:
    claims = validate_claims(valid_claims(), ["narrative", "subject"], NOW, SKEW)
    assert claims.kind == "diffusion"
    assert validate_claims(valid_claims(), 2, NOW, SKEW) == claims


def test_every_problem_is_listed_with_its_location() -> None:
    claims = valid_claims() | {
        "kind": "red_notice",
        "category": "Fraud",
        "tlp": "RED",
        "purpose": "arrest_him",
        "handling": ["H1", "H9"],
        "character": ["political", "political"],
        "audience": {"agencies": [], "groups": [], "all": False},
        "legal_basis": " ",
        "colour": "red",
    }
    del claims["jti"]
    error = refusal(claims, ["narrative", "Biometrics"])
    locations = [item["location"] for item in error.errors]
    assert locations == [
        ["claims", "colour"],
        ["content", "Biometrics"],
        ["claims", "jti"],
        ["claims", "kind"],
        ["claims", "category"],
        ["claims", "tlp"],
        ["claims", "handling", "1"],
        ["claims", "audience"],
        ["claims", "purpose"],
        ["claims", "character", "1"],
        ["claims", "legal_basis"],
    ]
    messages = {tuple(item["location"]): item["message"] for item in error.errors}
    assert (
        messages[("claims", "kind")] == f"unknown kind 'red_notice': allowed are {allowed(KINDS)}"
    )
    assert messages[("claims", "category")].endswith(f"allowed are {allowed(CATEGORIES)}")
    assert messages[("claims", "tlp")].endswith(f"allowed are {allowed(TLP_LABELS)}")
    assert messages[("claims", "purpose")].endswith(f"allowed are {allowed(PURPOSES)}")
    assert "'H9'" in messages[("claims", "handling", "1")]
    assert "H0, H1, H2, H3" in messages[("claims", "handling", "1")]
    assert "distinct" in messages[("claims", "character", "1")]
    assert "audience, category" in messages[("claims", "colour")]
    assert error.detail == "; ".join(item["message"] for item in error.errors)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"jti": "0B6F3A52-1C1E-4B8E-9F43-6C9B1C1F0A11"}, "jti must be a lowercase UUID"),
        ({"iat": "now"}, "claim 'iat' must be an integer NumericDate"),
        ({"exp": int((NOW - timedelta(days=1)).timestamp())}, "the alert has expired"),
        ({"iat": int((NOW + timedelta(days=1)).timestamp())}, "iat is in the future"),
        ({"exp": int((NOW + timedelta(days=4000)).timestamp())}, "more than ten years"),
        ({"supersedes": "0b6f3a52-1c1e-4b8e-9f43-6c9b1c1f0a11"}, "cannot supersede itself"),
        ({"supersedes": "A-1"}, "supersedes must be an alert id"),
        ({"cnf": {"jwk": {}, "kid": "x"}}, "cnf must be"),
        ({"iss": 7}, "iss must be the originator's id"),
        ({"audience": []}, "audience must be an object"),
        ({"audience": {"groups": ["eu"], "all": "yes"}}, "audience.all must be a boolean"),
        ({"audience": {"groups": ["eu", "eu"]}}, "audience.groups must not repeat ids"),
        ({"audience": {"agencies": "de-bka"}}, "audience.agencies must be a list of ids"),
        ({"audience": {"groups": ["eu"], "everyone": True}}, "unknown audience member"),
        ({"legal_basis": "x" * 501}, "at most 500 chars"),
        ({"subject_status": ["refugee"]}, "recognised-refugee"),
        ({"handling": "H1"}, "handling must be a list of codes"),
    ],
)
def test_one_problem_keeps_its_message(change: dict[str, Any], message: str) -> None:
    error = refusal(valid_claims() | change)
    assert len(error.errors) == 1, error.errors
    assert message in error.detail
    assert error.detail == error.errors[0]["message"]


def test_a_missing_vocabulary_claim_lists_the_allowed_values() -> None:
    claims = valid_claims()
    del claims["kind"], claims["purpose"]
    error = refusal(claims)
    assert [item["message"] for item in error.errors] == [
        f"kind is missing: allowed are {allowed(KINDS)}",
        f"purpose is missing: allowed are {allowed(PURPOSES)}",
    ]


def test_structured_values_are_not_echoed() -> None:
    error = refusal(valid_claims() | {"kind": ["secret", "list"], "tlp": "x" * 200})
    assert "secret" not in error.detail
    assert "x" * 41 not in error.detail
    assert "(a list)" in error.detail


def test_too_many_content_claims() -> None:
    assert "at most 64 content claims" in refusal(valid_claims(), 65).detail
    names = [f"field_{index}" for index in range(65)]
    assert refusal(valid_claims(), names).errors[0]["location"] == ["content"]


def test_the_problem_carries_the_errors() -> None:
    error = refusal(valid_claims() | {"kind": "red_notice", "tlp": "RED"})
    body = json.loads(bytes(response_for(error).body))
    assert body["type"] == problem_type("invalid-input")
    assert body["status"] == 422
    assert body["detail"] == error.detail
    assert body["errors"] == [
        {"location": ["claims", "kind"], "message": error.errors[0]["message"]},
        {"location": ["claims", "tlp"], "message": error.errors[1]["message"]},
    ]


def test_errors_are_optional_and_the_constructor_is_compatible() -> None:
    for error in (InvalidInput("plain"), InvalidPolicy("bad policy")):
        assert error.errors == []
        assert "errors" not in json.loads(bytes(response_for(error).body))
    assert InvalidInput("x", [{"location": ["a"], "message": "m"}]).detail == "x"


async def test_a_posted_alert_is_refused_with_every_problem(
    app: FastAPI, engine: AsyncEngine, member: MemberFactory, clock: ManualClock
) -> None:
    fr = await member("fr-police", groups=("eu",))
    broker = await fr.alerts.broker()
    clear = default_clear() | {"kind": "red_notice", "tlp": "RED", "purpose": "arrest_him"}
    token = alert_token(
        fr.party.signing, fr.id, broker["kb_key"], clear, {"narrative": "n"}, now=clock.now()
    )
    before = await table_snapshot(engine, app)
    request = httpx.Request(
        "POST",
        "http://testserver/v1/alerts",
        content=token.encode("ascii"),
        headers={"content-type": "application/sd-jwt"},
    )
    sign_request(request, fr.party.signing, created=clock.now())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as raw:
        response = await raw.send(request)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == problem_type("invalid-input")
    assert [item["location"] for item in problem["errors"]] == [
        ["claims", "kind"],
        ["claims", "tlp"],
        ["claims", "purpose"],
    ]
    assert problem["errors"][0]["message"] == (
        f"unknown kind 'red_notice': allowed are {allowed(KINDS)}"
    )
    assert allowed(TLP_LABELS) in problem["errors"][1]["message"]
    assert allowed(PURPOSES) in problem["errors"][2]["message"]
    assert await table_snapshot(engine, app) == before
